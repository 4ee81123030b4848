package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/store"
)

// User is a member of the workspace as the API shows it; never the password.
type User struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	DisplayName string     `json:"display_name"`
	Kind        string     `json:"kind" enum:"person,integration"`
	Role        string     `json:"role" enum:"owner,admin,member"`
	ServerAdmin bool       `json:"server_admin,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DisabledAt  *time.Time `json:"disabled_at,omitempty"`
}

// UserInput adds a user to the workspace, creating the user when the name is new.
type UserInput struct {
	Name        string `json:"name" minLength:"1" maxLength:"100" pattern:"^[A-Za-z0-9._@-]+$" doc:"the login name: letters, digits, . _ @ -"`
	DisplayName string `json:"display_name,omitempty" maxLength:"200"`
	Password    string `json:"password,omitempty" doc:"required for a new user, at least 12 characters; must be empty when the user exists (only they can change it)"`
	Role        string `json:"role" enum:"owner,admin,member"`
}

// UserPatch changes a member; absent fields stay.
type UserPatch struct {
	Role        *string `json:"role,omitempty" enum:"owner,admin,member"`
	DisplayName *string `json:"display_name,omitempty" maxLength:"200"`
	Password    *string `json:"password,omitempty" doc:"only the user themselves or a server admin may change it"`
}

type userListOutput struct {
	Body struct {
		Users []User `json:"users"`
	}
}

type createUserInput struct{ Body UserInput }

type userIDInput struct {
	ID int64 `path:"id"`
}

type patchUserInput struct {
	ID   int64 `path:"id"`
	Body UserPatch
}

type userOutput struct {
	Status int
	Body   User
}

func (h *handlers) registerUsers(a huma.API) {
	tags := []string{"users"}
	huma.Register(a, huma.Operation{OperationID: "list-users", Method: http.MethodGet,
		Path: Prefix + "/users", Tags: tags, Summary: "List the workspace's users with their roles"}, h.listUsers)
	huma.Register(a, huma.Operation{OperationID: "create-user", Method: http.MethodPost,
		Path: Prefix + "/users", Tags: tags, DefaultStatus: http.StatusCreated,
		Summary:     "Add a user to the workspace (owner or admin)",
		Description: "Creates the user when the name is new (a password of at least 12 characters is then required), and makes them a member with the role. Only an owner may grant owner."},
		h.createUser)
	huma.Register(a, huma.Operation{OperationID: "update-user", Method: http.MethodPatch,
		Path: Prefix + "/users/{id}", Tags: tags, Summary: "Change a member's role, display name or password",
		Description: "Roles: owner or admin; only an owner may grant owner or change an owner's role; the last owner cannot be demoted (409). Display name: the user or an owner or admin. Password: the user or a server admin."},
		h.updateUser)
	huma.Register(a, huma.Operation{OperationID: "delete-user", Method: http.MethodDelete,
		Path: Prefix + "/users/{id}", Tags: tags, DefaultStatus: http.StatusNoContent,
		Summary: "Remove a user from the workspace (owner or admin; 409 for the last owner)"}, h.deleteUser)
}

func userOf(m store.Member) User {
	return User{ID: m.ID, Name: m.Name, DisplayName: m.DisplayName, Kind: m.Kind, Role: m.Role,
		ServerAdmin: m.ServerAdmin, CreatedAt: m.CreatedAt, DisabledAt: m.DisabledAt}
}

func passwordProblem(msg string) error {
	return huma.Error422UnprocessableEntity("password: "+msg, &huma.ErrorDetail{Location: "body.password", Message: msg})
}

func checkPassword(pw string) error {
	if len([]rune(pw)) < auth.MinPasswordLength {
		return passwordProblem(fmt.Sprintf("must be at least %d characters", auth.MinPasswordLength))
	}
	return nil
}

func (h *handlers) listUsers(ctx context.Context, _ *struct{}) (*userListOutput, error) {
	list, err := h.Store.ListMembers(ctx, identity(ctx).WorkspaceID)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &userListOutput{}
	out.Body.Users = make([]User, 0, len(list))
	for _, m := range list {
		out.Body.Users = append(out.Body.Users, userOf(m))
	}
	return out, nil
}

func (h *handlers) createUser(ctx context.Context, in *createUserInput) (*userOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	id := identity(ctx)
	if in.Body.Role == auth.RoleOwner && !id.Can(auth.RoleOwner) {
		return nil, huma.Error403Forbidden("only an owner may grant the owner role")
	}
	u, err := h.Store.UserByName(ctx, in.Body.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := checkPassword(in.Body.Password); err != nil {
			return nil, err
		}
		hash, err := auth.HashPassword(in.Body.Password)
		if err != nil {
			return nil, h.problem(err)
		}
		u = store.User{Name: in.Body.Name, DisplayName: strings.TrimSpace(in.Body.DisplayName), PasswordHash: hash, Kind: store.UserPerson}
		if err := h.Store.CreateUser(ctx, &u); err != nil {
			return nil, h.problem(err)
		}
	case err != nil:
		return nil, h.problem(err)
	case in.Body.Password != "":
		return nil, huma.Error409Conflict(fmt.Sprintf("user %q exists; add them without a password (only they can change it)", in.Body.Name))
	}
	if err := h.Store.AddMember(ctx, id.WorkspaceID, u.ID, in.Body.Role); err != nil {
		return nil, h.problem(err)
	}
	return &userOutput{Status: http.StatusCreated, Body: userOf(store.Member{User: u, Role: in.Body.Role})}, nil
}

func (h *handlers) updateUser(ctx context.Context, in *patchUserInput) (*userOutput, error) {
	id := identity(ctx)
	target, err := h.Store.UserInWorkspace(ctx, id.WorkspaceID, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	self := id.UserID != 0 && id.UserID == target.ID
	b := in.Body
	if b.Role != nil && *b.Role != target.Role {
		if err := requireRole(ctx, auth.RoleAdmin); err != nil {
			return nil, err
		}
		if (*b.Role == auth.RoleOwner || target.Role == auth.RoleOwner) && !id.Can(auth.RoleOwner) {
			return nil, huma.Error403Forbidden("only an owner may grant the owner role or change an owner's role")
		}
	}
	if b.DisplayName != nil && !self {
		if err := requireRole(ctx, auth.RoleAdmin); err != nil {
			return nil, err
		}
	}
	var hash *string
	if b.Password != nil {
		if !self && !id.ServerAdmin {
			return nil, huma.Error403Forbidden("only the user themselves or a server admin may change a password")
		}
		if err := checkPassword(*b.Password); err != nil {
			return nil, err
		}
		ph, err := auth.HashPassword(*b.Password)
		if err != nil {
			return nil, h.problem(err)
		}
		hash = &ph
	}
	if b.Role != nil && *b.Role != target.Role {
		if err := h.Store.SetRole(ctx, id.WorkspaceID, target.ID, *b.Role); err != nil {
			return nil, h.problem(err)
		}
	}
	if b.DisplayName != nil || hash != nil {
		var dn *string
		if b.DisplayName != nil {
			v := strings.TrimSpace(*b.DisplayName)
			dn = &v
		}
		if err := h.Store.UpdateUser(ctx, target.ID, store.UserChange{DisplayName: dn, PasswordHash: hash}); err != nil {
			return nil, h.problem(err)
		}
	}
	m, err := h.Store.UserInWorkspace(ctx, id.WorkspaceID, target.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &userOutput{Status: http.StatusOK, Body: userOf(m)}, nil
}

func (h *handlers) deleteUser(ctx context.Context, in *userIDInput) (*struct{}, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	id := identity(ctx)
	target, err := h.Store.UserInWorkspace(ctx, id.WorkspaceID, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	if target.Role == auth.RoleOwner && !id.Can(auth.RoleOwner) {
		return nil, huma.Error403Forbidden("only an owner may remove an owner")
	}
	if err := h.Store.RemoveMember(ctx, id.WorkspaceID, target.ID); err != nil {
		return nil, h.problem(err)
	}
	return nil, nil
}
