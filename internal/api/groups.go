package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/store"
)

// Group is a named set of the workspace's users.
type Group struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Members   []int64   `json:"members" doc:"user ids"`
	CreatedAt time.Time `json:"created_at"`
}

// GroupInput creates or renames a group.
type GroupInput struct {
	Name string `json:"name" minLength:"1" maxLength:"100"`
}

type groupListOutput struct {
	Body struct {
		Groups []Group `json:"groups"`
	}
}

type createGroupInput struct{ Body GroupInput }

type groupIDInput struct {
	ID int64 `path:"id"`
}

type patchGroupInput struct {
	ID   int64 `path:"id"`
	Body GroupInput
}

type groupMemberInput struct {
	ID     int64 `path:"id"`
	UserID int64 `path:"user_id"`
}

type groupOutput struct {
	Status int
	Body   Group
}

func (h *handlers) registerGroups(a huma.API) {
	tags := []string{"groups"}
	huma.Register(a, huma.Operation{OperationID: "list-groups", Method: http.MethodGet,
		Path: Prefix + "/groups", Tags: tags, Summary: "List the workspace's groups with their members"}, h.listGroups)
	huma.Register(a, huma.Operation{OperationID: "create-group", Method: http.MethodPost,
		Path: Prefix + "/groups", Tags: tags, DefaultStatus: http.StatusCreated, Summary: "Create a group (owner or admin)"}, h.createGroup)
	huma.Register(a, huma.Operation{OperationID: "get-group", Method: http.MethodGet,
		Path: Prefix + "/groups/{id}", Tags: tags, Summary: "Show a group"}, h.getGroup)
	huma.Register(a, huma.Operation{OperationID: "update-group", Method: http.MethodPatch,
		Path: Prefix + "/groups/{id}", Tags: tags, Summary: "Rename a group (owner or admin)"}, h.updateGroup)
	huma.Register(a, huma.Operation{OperationID: "delete-group", Method: http.MethodDelete,
		Path: Prefix + "/groups/{id}", Tags: tags, DefaultStatus: http.StatusNoContent, Summary: "Delete a group (owner or admin)"}, h.deleteGroup)
	huma.Register(a, huma.Operation{OperationID: "add-group-member", Method: http.MethodPut,
		Path: Prefix + "/groups/{id}/members/{user_id}", Tags: tags, DefaultStatus: http.StatusNoContent,
		Summary: "Put a user of the workspace into a group (owner or admin)"}, h.addGroupMember)
	huma.Register(a, huma.Operation{OperationID: "remove-group-member", Method: http.MethodDelete,
		Path: Prefix + "/groups/{id}/members/{user_id}", Tags: tags, DefaultStatus: http.StatusNoContent,
		Summary: "Take a user out of a group (owner or admin)"}, h.removeGroupMember)
}

func groupOf(g store.Group) Group {
	members := g.Members
	if members == nil {
		members = []int64{}
	}
	return Group{ID: g.ID, Name: g.Name, Members: members, CreatedAt: g.CreatedAt}
}

func groupName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", huma.Error422UnprocessableEntity("name is empty", &huma.ErrorDetail{Location: "body.name", Message: "must not be empty"})
	}
	return name, nil
}

func (h *handlers) listGroups(ctx context.Context, _ *struct{}) (*groupListOutput, error) {
	list, err := h.Store.ListGroups(ctx, identity(ctx).WorkspaceID)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &groupListOutput{}
	out.Body.Groups = make([]Group, 0, len(list))
	for _, g := range list {
		out.Body.Groups = append(out.Body.Groups, groupOf(g))
	}
	return out, nil
}

func (h *handlers) createGroup(ctx context.Context, in *createGroupInput) (*groupOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	name, err := groupName(in.Body.Name)
	if err != nil {
		return nil, err
	}
	g, err := h.Store.CreateGroup(ctx, identity(ctx).WorkspaceID, name)
	if err != nil {
		return nil, h.problem(err)
	}
	return &groupOutput{Status: http.StatusCreated, Body: groupOf(g)}, nil
}

func (h *handlers) getGroup(ctx context.Context, in *groupIDInput) (*groupOutput, error) {
	g, err := h.Store.GetGroup(ctx, identity(ctx).WorkspaceID, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &groupOutput{Status: http.StatusOK, Body: groupOf(g)}, nil
}

func (h *handlers) updateGroup(ctx context.Context, in *patchGroupInput) (*groupOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	name, err := groupName(in.Body.Name)
	if err != nil {
		return nil, err
	}
	ws := identity(ctx).WorkspaceID
	if err := h.Store.RenameGroup(ctx, ws, in.ID, name); err != nil {
		return nil, h.problem(err)
	}
	return h.getGroup(ctx, &groupIDInput{ID: in.ID})
}

func (h *handlers) deleteGroup(ctx context.Context, in *groupIDInput) (*struct{}, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	if err := h.Store.DeleteGroup(ctx, identity(ctx).WorkspaceID, in.ID); err != nil {
		return nil, h.problem(err)
	}
	return nil, nil
}

func (h *handlers) addGroupMember(ctx context.Context, in *groupMemberInput) (*struct{}, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	if err := h.Store.AddGroupMember(ctx, identity(ctx).WorkspaceID, in.ID, in.UserID); err != nil {
		return nil, h.problem(err)
	}
	return nil, nil
}

func (h *handlers) removeGroupMember(ctx context.Context, in *groupMemberInput) (*struct{}, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	if err := h.Store.RemoveGroupMember(ctx, identity(ctx).WorkspaceID, in.ID, in.UserID); err != nil {
		return nil, h.problem(err)
	}
	return nil, nil
}
