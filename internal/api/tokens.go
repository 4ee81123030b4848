package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/store"
)

// Token is an API token as listed: never its secret or hash.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind" enum:"personal,integration"`
	UserID     int64      `json:"user_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// NewToken is a token just made: the only time its secret is shown.
type NewToken struct {
	Token
	Secret      string `json:"token" doc:"the bearer token; shown only this once"`
	WorkspaceID int64  `json:"workspace_id" doc:"the workspace requests act in without the X-Junction-Workspace header"`
}

// TokenInput makes a personal token.
type TokenInput struct {
	Name          string `json:"name" minLength:"1" maxLength:"100"`
	ExpiresInDays int    `json:"expires_in_days,omitempty" minimum:"0" maximum:"3650" doc:"0 or absent: never expires"`
}

// LoginInput is a person's name and password.
type LoginInput struct {
	Name     string `json:"name" minLength:"1" maxLength:"100"`
	Password string `json:"password" minLength:"1" maxLength:"1000"`
}

// LoginTTL is how long the token a login gives lasts.
const LoginTTL = 12 * time.Hour

type tokenListOutput struct {
	Body struct {
		Tokens []Token `json:"tokens"`
	}
}

type createTokenInput struct{ Body TokenInput }

type tokenIDInput struct {
	ID int64 `path:"id"`
}

type newTokenOutput struct {
	Status int
	Body   NewToken
}

type loginInput struct {
	Body   LoginInput
	remote string // the client's address, for rate limiting
}

// Resolve takes the client's address from the request.
func (in *loginInput) Resolve(ctx huma.Context) []error {
	in.remote = ctx.RemoteAddr()
	return nil
}

func (h *handlers) registerTokens(a huma.API) {
	tags := []string{"tokens"}
	huma.Register(a, huma.Operation{OperationID: "list-tokens", Method: http.MethodGet,
		Path: Prefix + "/tokens", Tags: tags, Summary: "List your personal tokens (never their secrets)"}, h.listTokens)
	huma.Register(a, huma.Operation{OperationID: "create-token", Method: http.MethodPost,
		Path: Prefix + "/tokens", Tags: tags, DefaultStatus: http.StatusCreated,
		Summary: "Make a personal token for the current workspace; its secret is shown only in this answer"}, h.createToken)
	huma.Register(a, huma.Operation{OperationID: "revoke-token", Method: http.MethodDelete,
		Path: Prefix + "/tokens/{id}", Tags: tags, DefaultStatus: http.StatusNoContent,
		Summary: "Revoke a token: your own, or as owner or admin any token of the workspace"}, h.revokeToken)
	huma.Register(a, huma.Operation{OperationID: "login", Method: http.MethodPost,
		Path: Prefix + "/login", Tags: tags, Security: []map[string][]string{},
		Summary:     "Trade a person's name and password for a personal token that lasts 12 hours",
		Description: "Rate-limited per name and per client address (429 when exceeded). Integration users cannot log in (403). The token acts in the user's first workspace; choose another with the X-Junction-Workspace header."},
		h.login)
}

func tokenOf(t store.Token) Token {
	out := Token{ID: t.ID, Name: t.Name, Kind: t.Kind, CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
	if t.UserID != nil {
		out.UserID = *t.UserID
	}
	return out
}

func (h *handlers) listTokens(ctx context.Context, _ *struct{}) (*tokenListOutput, error) {
	id, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.Store.ListTokens(ctx, store.TokenFilter{UserID: id.UserID, Kind: store.TokenPersonal})
	if err != nil {
		return nil, h.problem(err)
	}
	out := &tokenListOutput{}
	out.Body.Tokens = make([]Token, 0, len(list))
	for _, t := range list {
		out.Body.Tokens = append(out.Body.Tokens, tokenOf(t))
	}
	return out, nil
}

// issue makes a personal token of the user in the workspace.
func (h *handlers) issue(ctx context.Context, userID, workspaceID int64, name string, ttl time.Duration) (NewToken, error) {
	plain, hash, err := auth.NewToken()
	if err != nil {
		return NewToken{}, err
	}
	t := store.Token{WorkspaceID: workspaceID, UserID: &userID, Kind: store.TokenPersonal, Name: name}
	if ttl > 0 {
		exp := time.Now().UTC().Add(ttl).Truncate(time.Microsecond)
		t.ExpiresAt = &exp
	}
	if err := h.Store.IssueToken(ctx, &t, hash); err != nil {
		return NewToken{}, err
	}
	return NewToken{Token: tokenOf(t), Secret: plain, WorkspaceID: workspaceID}, nil
}

func (h *handlers) createToken(ctx context.Context, in *createTokenInput) (*newTokenOutput, error) {
	id, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Body.Name)
	if name == "" {
		return nil, huma.Error422UnprocessableEntity("name is empty", &huma.ErrorDetail{Location: "body.name", Message: "must not be empty"})
	}
	nt, err := h.issue(ctx, id.UserID, id.WorkspaceID, name, time.Duration(in.Body.ExpiresInDays)*24*time.Hour)
	if err != nil {
		return nil, h.problem(err)
	}
	return &newTokenOutput{Status: http.StatusCreated, Body: nt}, nil
}

func (h *handlers) revokeToken(ctx context.Context, in *tokenIDInput) (*struct{}, error) {
	id := identity(ctx)
	t, err := h.Store.GetToken(ctx, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	own := id.UserID != 0 && t.UserID != nil && *t.UserID == id.UserID
	if !own && !(t.WorkspaceID == id.WorkspaceID && id.Can(auth.RoleAdmin)) {
		return nil, h.problem(store.ErrNotFound) // another's token is none of your business
	}
	if err := h.Store.RevokeToken(ctx, t.ID); err != nil {
		return nil, h.problem(err)
	}
	return nil, nil
}

// dummyHash is verified against when the name is unknown, so that an unknown name takes as
// long to refuse as a wrong password and the timing does not tell which names exist. It is
// made on first use: the CLI imports this package and should not pay for it.
var dummyHash = sync.OnceValue(func() string {
	h, _ := auth.HashPassword("not a password anyone has")
	return h
})

func (h *handlers) login(ctx context.Context, in *loginInput) (*newTokenOutput, error) {
	if !h.logins.Allow(in.Body.Name, auth.ClientIP(in.remote)) {
		return nil, huma.NewError(http.StatusTooManyRequests, "too many login attempts; wait a minute and try again")
	}
	refuse := huma.Error401Unauthorized("wrong name or password")
	u, err := h.Store.UserByName(ctx, in.Body.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, h.problem(err)
	}
	hash := u.PasswordHash
	if err != nil || hash == "" {
		hash = dummyHash()
	}
	ok, verr := auth.VerifyPassword(hash, in.Body.Password)
	if err != nil || u.PasswordHash == "" || verr != nil || !ok || u.DisabledAt != nil {
		return nil, refuse
	}
	if u.Kind != store.UserPerson {
		return nil, huma.Error403Forbidden("integration users cannot log in; they use integration tokens")
	}
	wss, err := h.Store.WorkspacesOf(ctx, u.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	if len(wss) == 0 {
		return nil, huma.Error403Forbidden("you belong to no workspace yet")
	}
	// The login acts for the user from here on, so the audit log names them.
	ctx = store.WithActor(ctx, store.Actor{UserID: u.ID, UserName: u.Name})
	nt, err := h.issue(ctx, u.ID, wss[0].ID, "login", LoginTTL)
	if err != nil {
		return nil, h.problem(err)
	}
	return &newTokenOutput{Status: http.StatusOK, Body: nt}, nil
}
