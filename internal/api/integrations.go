package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/store"
)

// IntegrationTokenInput makes an integration token: for another system (a partner, another
// Junction) that reaches only what the grants name, and can never log in.
type IntegrationTokenInput struct {
	User          string       `json:"user" minLength:"1" maxLength:"100" pattern:"^[A-Za-z0-9._@-]+$" doc:"the integration user the token belongs to; created when new"`
	Name          string       `json:"name" minLength:"1" maxLength:"100"`
	ExpiresInDays int          `json:"expires_in_days,omitempty" minimum:"0" maximum:"3650" doc:"0 or absent: never expires"`
	Grants        []auth.Grant `json:"grants" minItems:"1" maxItems:"500"`
}

// IntegrationToken is an integration token as listed, with its grants.
type IntegrationToken struct {
	Token
	User   string       `json:"user"`
	Grants []auth.Grant `json:"grants"`
}

type createIntegrationTokenInput struct{ Body IntegrationTokenInput }

type newIntegrationTokenOutput struct {
	Status int
	Body   struct {
		NewToken
		Grants []auth.Grant `json:"grants"`
	}
}

type integrationTokenListOutput struct {
	Body struct {
		Tokens []IntegrationToken `json:"tokens"`
	}
}

func (h *handlers) registerIntegrationTokens(a huma.API) {
	tags := []string{"tokens"}
	huma.Register(a, huma.Operation{OperationID: "list-integration-tokens", Method: http.MethodGet,
		Path: Prefix + "/integration-tokens", Tags: tags, Summary: "List the workspace's integration tokens with their grants (owner or admin)"},
		h.listIntegrationTokens)
	huma.Register(a, huma.Operation{OperationID: "create-integration-token", Method: http.MethodPost,
		Path: Prefix + "/integration-tokens", Tags: tags, DefaultStatus: http.StatusCreated,
		Summary:     "Make an integration token with grants (owner or admin); its secret is shown only in this answer",
		Description: "Each grant names a connection's entity (or * for all, optionally only some record keys) with read or write, or a flow with read or run. The token reaches nothing else: other requests answer 403 naming the missing grant. Revoke it with DELETE /tokens/{id}."},
		h.createIntegrationToken)
}

func (h *handlers) createIntegrationToken(ctx context.Context, in *createIntegrationTokenInput) (*newIntegrationTokenOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	ws := identity(ctx).WorkspaceID
	name := strings.TrimSpace(in.Body.Name)
	if name == "" {
		return nil, huma.Error422UnprocessableEntity("name is empty", &huma.ErrorDetail{Location: "body.name", Message: "must not be empty"})
	}
	for i, g := range in.Body.Grants {
		where := fmt.Sprintf("body.grants[%d].", i)
		if field, msg := g.Validate(); field != "" {
			return nil, huma.Error422UnprocessableEntity(where+field+": "+msg, &huma.ErrorDetail{Location: where + field, Message: msg})
		}
		if g.Connection != 0 {
			if _, err := h.Store.GetConnection(ctx, ws, g.Connection); errors.Is(err, store.ErrNotFound) {
				msg := fmt.Sprintf("no connection %d in this workspace", g.Connection)
				return nil, huma.Error422UnprocessableEntity(where+"connection: "+msg, &huma.ErrorDetail{Location: where + "connection", Message: msg})
			} else if err != nil {
				return nil, h.problem(err)
			}
		}
	}
	grants, err := json.Marshal(in.Body.Grants)
	if err != nil {
		return nil, h.problem(err)
	}
	plain, hash, err := auth.NewToken()
	if err != nil {
		return nil, h.problem(err)
	}
	t := store.Token{WorkspaceID: ws, Name: name, Grants: string(grants)}
	if in.Body.ExpiresInDays > 0 {
		exp := time.Now().UTC().Add(time.Duration(in.Body.ExpiresInDays) * 24 * time.Hour).Truncate(time.Microsecond)
		t.ExpiresAt = &exp
	}
	err = h.Store.IssueIntegrationToken(ctx, in.Body.User, &t, hash)
	if errors.Is(err, store.ErrNotIntegration) {
		return nil, huma.Error422UnprocessableEntity("user: "+err.Error(), &huma.ErrorDetail{Location: "body.user", Message: err.Error()})
	}
	if err != nil {
		return nil, h.problem(err)
	}
	out := &newIntegrationTokenOutput{Status: http.StatusCreated}
	out.Body.NewToken = NewToken{Token: tokenOf(t), Secret: plain, WorkspaceID: ws}
	out.Body.Grants = in.Body.Grants
	return out, nil
}

func (h *handlers) listIntegrationTokens(ctx context.Context, _ *struct{}) (*integrationTokenListOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	ws := identity(ctx).WorkspaceID
	list, err := h.Store.ListTokens(ctx, store.TokenFilter{WorkspaceID: ws, Kind: store.TokenIntegration})
	if err != nil {
		return nil, h.problem(err)
	}
	members, err := h.Store.ListMembers(ctx, ws)
	if err != nil {
		return nil, h.problem(err)
	}
	names := map[int64]string{}
	for _, m := range members {
		names[m.ID] = m.Name
	}
	out := &integrationTokenListOutput{}
	out.Body.Tokens = make([]IntegrationToken, 0, len(list))
	for _, t := range list {
		grants, err := auth.ParseGrants(t.Grants)
		if err != nil {
			return nil, h.problem(err)
		}
		it := IntegrationToken{Token: tokenOf(t), Grants: grants}
		if t.UserID != nil {
			it.User = names[*t.UserID]
		}
		out.Body.Tokens = append(out.Body.Tokens, it)
	}
	return out, nil
}
