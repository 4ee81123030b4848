// Package api is Junction's REST API v1: JSON over HTTP with bearer tokens, RFC 9457
// problem+json errors, and an OpenAPI 3.1 document at /api/v1/openapi.json generated from
// the same declarations that route the requests.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/connections"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/flow"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/store"
)

// Prefix is where API v1 lives.
const Prefix = "/api/v1"

// Deps are the services the API calls.
type Deps struct {
	Store       *store.Store
	Connections *connections.Service
	Flows       *flow.Service
	Runner      *jobs.Runner
	Logger      *slog.Logger
	Version     string
}

type handlers struct {
	Deps
	logins *auth.LoginLimiter
}

// New mounts API v1 on mux.
func New(mux *http.ServeMux, deps Deps) huma.API {
	cfg := huma.DefaultConfig("Junction", deps.Version)
	cfg.OpenAPIPath = Prefix + "/openapi"
	cfg.DocsPath = ""     // the docs page loads third-party scripts; the JSON document is enough
	cfg.SchemasPath = ""  // schemas are inline in the OpenAPI document
	cfg.CreateHooks = nil // no $schema links added to every response
	cfg.Transformers = []huma.Transformer{hideErrorValues}
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer"},
	}
	cfg.Security = []map[string][]string{{"bearer": {}}}
	a := humago.New(mux, cfg)
	h := &handlers{Deps: deps, logins: auth.NewLoginLimiter()}
	a.UseMiddleware(h.authenticate(a))
	h.registerDrivers(a)
	h.registerConnectors(a)
	h.registerConnections(a)
	h.registerCatalog(a)
	h.registerJobs(a)
	h.registerWorkspaces(a)
	h.registerUsers(a)
	h.registerGroups(a)
	h.registerTokens(a)
	h.registerFlows(a)
	h.registerIntegrationTokens(a)
	h.registerAudit(a)
	h.registerRecordWrites(a)
	return a
}

type identityKey struct{}

// authenticate lets a request through only with a valid bearer token, and puts who it
// acts as into the context: the user, and the workspace chosen by the X-Junction-Workspace
// header (the token's own without it). A workspace the user is no member of is 404, as if
// it did not exist. The OpenAPI document and login are public: they hold no data.
func (h *handlers) authenticate(a huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if op := ctx.Operation(); op == nil || op.OperationID == "login" ||
			ctx.URL().Path == Prefix+"/openapi.json" || ctx.URL().Path == Prefix+"/openapi.yaml" {
			next(ctx)
			return
		}
		id, err := auth.Authenticate(ctx.Context(), h.Store, ctx.Header("Authorization"), ctx.Header(auth.WorkspaceHeader))
		if errors.Is(err, auth.ErrNoWorkspace) {
			_ = huma.WriteErr(a, ctx, http.StatusNotFound, "no such workspace (or you are not a member of it)")
			return
		}
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthenticated) {
				h.Logger.Error("authenticate", "err", err)
			}
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="junction"`)
			_ = huma.WriteErr(a, ctx, http.StatusUnauthorized, auth.ErrUnauthenticated.Error())
			return
		}
		if id.Integration() && !integrationOperation(ctx.Operation().OperationID) {
			_ = huma.WriteErr(a, ctx, http.StatusForbidden,
				"integration tokens reach only the connections, entities, records and flows granted to them; this operation is not one of those")
			return
		}
		ctx = huma.WithContext(ctx, store.WithActor(ctx.Context(), id.Actor()))
		next(huma.WithValue(ctx, identityKey{}, id))
	}
}

func identity(ctx context.Context) auth.Identity {
	id, _ := ctx.Value(identityKey{}).(auth.Identity)
	return id
}

// requireUser answers 403 for a token that belongs to no user (made before users existed).
func requireUser(ctx context.Context) (auth.Identity, error) {
	id := identity(ctx)
	if id.UserID == 0 {
		return id, huma.Error403Forbidden("this token belongs to no user; restart the server to attach it to the admin user")
	}
	return id, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// hideErrorValues drops the offending value huma puts into validation errors: it might be a
// secret, and the message already says what is wrong with it.
func hideErrorValues(_ huma.Context, _ string, v any) (any, error) {
	if e, ok := v.(*huma.ErrorModel); ok {
		for _, d := range e.Errors {
			d.Value = nil
		}
	}
	return v, nil
}

// problem turns a service error into the problem+json the client gets.
func (h *handlers) problem(err error) error {
	var fe driver.FieldErrors
	var ce *connections.CheckError
	switch {
	case errors.As(err, &fe):
		details := make([]error, len(fe))
		for i, e := range fe {
			details[i] = &huma.ErrorDetail{Location: e.Field, Message: e.Message}
		}
		return huma.Error422UnprocessableEntity(fe.Error(), details...)
	case errors.As(err, &ce):
		return huma.Error422UnprocessableEntity(ce.Error())
	case errors.Is(err, store.ErrNotFound):
		return huma.Error404NotFound("not found")
	case errors.Is(err, connections.ErrInactive), errors.Is(err, connections.ErrActive),
		errors.Is(err, connections.ErrDeleting), errors.Is(err, store.ErrConflict),
		errors.Is(err, connections.ErrNotWritable):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, context.Canceled):
		return huma.NewError(499, "request cancelled")
	}
	h.Logger.Error("api", "err", err)
	return huma.Error500InternalServerError("internal error; the server log has details")
}
