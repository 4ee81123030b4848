package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/junction-hub/junction/internal/api"
)

// Workspaces lists the workspaces the caller belongs to.
func (c *Client) Workspaces(ctx context.Context) ([]api.Workspace, error) {
	var out struct {
		Workspaces []api.Workspace `json:"workspaces"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/workspaces", nil, nil, &out)
	return out.Workspaces, err
}

// CreateWorkspace makes a workspace (server admins only); the caller becomes its owner.
func (c *Client) CreateWorkspace(ctx context.Context, name string) (api.Workspace, error) {
	var out api.Workspace
	err := c.do(ctx, http.MethodPost, "/api/v1/workspaces", nil, api.WorkspaceInput{Name: name}, &out)
	return out, err
}

// Users lists the workspace's users with their roles.
func (c *Client) Users(ctx context.Context) ([]api.User, error) {
	var out struct {
		Users []api.User `json:"users"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/users", nil, nil, &out)
	return out.Users, err
}

// AddUser adds a user to the workspace, creating them when the name is new.
func (c *Client) AddUser(ctx context.Context, in api.UserInput) (api.User, error) {
	var out api.User
	err := c.do(ctx, http.MethodPost, "/api/v1/users", nil, in, &out)
	return out, err
}

// UpdateUser changes a member's role, display name or password.
func (c *Client) UpdateUser(ctx context.Context, id int64, in api.UserPatch) (api.User, error) {
	var out api.User
	err := c.do(ctx, http.MethodPatch, idPath("/api/v1/users/%d", id), nil, in, &out)
	return out, err
}

// RemoveUser takes a user out of the workspace.
func (c *Client) RemoveUser(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/api/v1/users/%d", id), nil, nil, nil)
}

// Groups lists the workspace's groups.
func (c *Client) Groups(ctx context.Context) ([]api.Group, error) {
	var out struct {
		Groups []api.Group `json:"groups"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/groups", nil, nil, &out)
	return out.Groups, err
}

// CreateGroup makes a group.
func (c *Client) CreateGroup(ctx context.Context, name string) (api.Group, error) {
	var out api.Group
	err := c.do(ctx, http.MethodPost, "/api/v1/groups", nil, api.GroupInput{Name: name}, &out)
	return out, err
}

// DeleteGroup removes a group.
func (c *Client) DeleteGroup(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/api/v1/groups/%d", id), nil, nil, nil)
}

// AddGroupMember puts a user of the workspace into a group.
func (c *Client) AddGroupMember(ctx context.Context, group, user int64) error {
	return c.do(ctx, http.MethodPut, idPath("/api/v1/groups/%d", group)+idPath("/members/%d", user), nil, nil, nil)
}

// RemoveGroupMember takes a user out of a group.
func (c *Client) RemoveGroupMember(ctx context.Context, group, user int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/api/v1/groups/%d", group)+idPath("/members/%d", user), nil, nil, nil)
}

// Tokens lists the caller's personal tokens, without their secrets.
func (c *Client) Tokens(ctx context.Context) ([]api.Token, error) {
	var out struct {
		Tokens []api.Token `json:"tokens"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/tokens", nil, nil, &out)
	return out.Tokens, err
}

// CreateToken makes a personal token; its secret is in the answer only.
func (c *Client) CreateToken(ctx context.Context, in api.TokenInput) (api.NewToken, error) {
	var out api.NewToken
	err := c.do(ctx, http.MethodPost, "/api/v1/tokens", nil, in, &out)
	return out, err
}

// RevokeToken revokes a token.
func (c *Client) RevokeToken(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/api/v1/tokens/%d", id), nil, nil, nil)
}

// Login trades a name and password for a personal token that lasts 12 hours.
func (c *Client) Login(ctx context.Context, name, password string) (api.NewToken, error) {
	var out api.NewToken
	err := c.do(ctx, http.MethodPost, "/api/v1/login", nil, api.LoginInput{Name: name, Password: password}, &out)
	return out, err
}

// IntegrationTokens lists the workspace's integration tokens with their grants.
func (c *Client) IntegrationTokens(ctx context.Context) ([]api.IntegrationToken, error) {
	var out struct {
		Tokens []api.IntegrationToken `json:"tokens"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/integration-tokens", nil, nil, &out)
	return out.Tokens, err
}

// CreateIntegrationToken makes an integration token; its secret is in the answer only.
func (c *Client) CreateIntegrationToken(ctx context.Context, in api.IntegrationTokenInput) (api.NewToken, error) {
	var out api.NewToken
	err := c.do(ctx, http.MethodPost, "/api/v1/integration-tokens", nil, in, &out)
	return out, err
}

// AuditQuery narrows Audit; zero fields do not filter.
type AuditQuery struct {
	Kind   string
	Object int64
	User   int64
	Limit  int
}

// Audit lists the workspace's audit log, newest first.
func (c *Client) Audit(ctx context.Context, q AuditQuery) ([]api.AuditEntry, error) {
	v := url.Values{}
	setIf(v, "kind", q.Kind)
	if q.Object != 0 {
		v.Set("object", strconv.FormatInt(q.Object, 10))
	}
	if q.User != 0 {
		v.Set("user", strconv.FormatInt(q.User, 10))
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out struct {
		Entries []api.AuditEntry `json:"entries"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/audit", v, nil, &out)
	return out.Entries, err
}
