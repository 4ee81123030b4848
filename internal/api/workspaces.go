package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Workspace is a workspace the caller belongs to, with the caller's role in it.
type Workspace struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role" enum:"owner,admin,member"`
	CreatedAt time.Time `json:"created_at"`
}

// WorkspaceInput creates a workspace.
type WorkspaceInput struct {
	Name string `json:"name" minLength:"1" maxLength:"100"`
}

type workspaceListOutput struct {
	Body struct {
		Workspaces []Workspace `json:"workspaces"`
	}
}

type createWorkspaceInput struct{ Body WorkspaceInput }

type workspaceOutput struct {
	Status int
	Body   Workspace
}

func (h *handlers) registerWorkspaces(a huma.API) {
	tags := []string{"workspaces"}
	huma.Register(a, huma.Operation{OperationID: "list-workspaces", Method: http.MethodGet,
		Path: Prefix + "/workspaces", Tags: tags, Summary: "List the workspaces you belong to, with your role in each",
		Description: "Send a workspace's id in the X-Junction-Workspace header to act in it; without the header a request acts in the token's workspace."},
		h.listWorkspaces)
	huma.Register(a, huma.Operation{OperationID: "create-workspace", Method: http.MethodPost,
		Path: Prefix + "/workspaces", Tags: tags, DefaultStatus: http.StatusCreated,
		Summary: "Create a workspace (server admins only); you become its owner"}, h.createWorkspace)
}

func (h *handlers) listWorkspaces(ctx context.Context, _ *struct{}) (*workspaceListOutput, error) {
	out := &workspaceListOutput{}
	out.Body.Workspaces = []Workspace{}
	id := identity(ctx)
	if id.UserID == 0 { // a token without a user sees its own workspace only
		w, err := h.Store.GetWorkspace(ctx, id.WorkspaceID)
		if err != nil {
			return nil, h.problem(err)
		}
		out.Body.Workspaces = append(out.Body.Workspaces, Workspace{ID: w.ID, Name: w.Name, Role: id.Role, CreatedAt: w.CreatedAt})
		return out, nil
	}
	list, err := h.Store.WorkspacesOf(ctx, id.UserID)
	if err != nil {
		return nil, h.problem(err)
	}
	for _, w := range list {
		out.Body.Workspaces = append(out.Body.Workspaces, Workspace{ID: w.ID, Name: w.Name, Role: w.Role, CreatedAt: w.CreatedAt})
	}
	return out, nil
}

func (h *handlers) createWorkspace(ctx context.Context, in *createWorkspaceInput) (*workspaceOutput, error) {
	id, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if !id.ServerAdmin {
		return nil, huma.Error403Forbidden("only a server admin may create workspaces")
	}
	name := strings.TrimSpace(in.Body.Name)
	if name == "" {
		return nil, huma.Error422UnprocessableEntity("name is empty", &huma.ErrorDetail{Location: "body.name", Message: "must not be empty"})
	}
	w, err := h.Store.CreateWorkspace(ctx, name, id.UserID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &workspaceOutput{Status: http.StatusCreated, Body: Workspace{ID: w.ID, Name: w.Name, Role: "owner", CreatedAt: w.CreatedAt}}, nil
}
