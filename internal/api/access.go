package api

import (
	"context"
	"fmt"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/store"
)

// Who may see what, decided here for every handler:
//   - a connection restricted to some users and groups is invisible (404, absent from
//     lists, its jobs, catalog and records too) to other members; admins and owners see all;
//   - an integration token sees only the connections its grants name, and only the
//     operations integrationOperations lists; a grant narrower than the request is a 403
//     that says which grant is missing.

// integrationOperations are the operations an integration token may call at all; its
// grants then decide on which connections, entities, records and flows.
func integrationOperation(operationID string) bool {
	switch operationID {
	case "list-connections", "get-connection", "get-catalog", "list-records", "write-records",
		"list-flows", "get-flow", "run-flow", "dry-run-flow", "list-flow-failures", "retry-flow-failures",
		"list-flow-links", "get-job":
		return true
	}
	return false
}

// connectionFor loads a connection the caller may see. Every handler that takes a
// connection id goes through it, so scope and grants are decided in one place; a
// connection the caller may not see is store.ErrNotFound, as if it did not exist.
func (h *handlers) connectionFor(ctx context.Context, id int64) (store.Connection, error) {
	who := identity(ctx)
	if who.Integration() {
		if !who.Grants.HasConnection(id) {
			return store.Connection{}, store.ErrNotFound
		}
		return h.Store.GetConnection(ctx, who.WorkspaceID, id)
	}
	return h.Store.GetVisibleConnection(ctx, who.Viewer(), id)
}

// visibleConnections lists the connections the caller may see.
func (h *handlers) visibleConnections(ctx context.Context) ([]store.Connection, error) {
	who := identity(ctx)
	if !who.Integration() {
		return h.Store.ListVisibleConnections(ctx, who.Viewer())
	}
	all, err := h.Store.ListConnections(ctx, who.WorkspaceID)
	if err != nil {
		return nil, err
	}
	granted := who.Grants.Connections()
	return slices.DeleteFunc(all, func(c store.Connection) bool { return !slices.Contains(granted, c.ID) }), nil
}

// jobFor loads a job the caller may see (see store.GetVisibleJob). An integration token
// sees the jobs of its granted connections and the runs of its granted flows.
func (h *handlers) jobFor(ctx context.Context, id int64) (store.Job, error) {
	who := identity(ctx)
	if !who.Integration() {
		return h.Store.GetVisibleJob(ctx, who.Viewer(), id)
	}
	j, err := h.Store.GetJob(ctx, who.WorkspaceID, id)
	if err != nil {
		return j, err
	}
	switch {
	case j.FlowID != nil && who.Grants.Flow(*j.FlowID, auth.AccessRead):
		return j, nil
	case j.FlowID == nil && j.ConnectionID != nil && who.Grants.HasConnection(*j.ConnectionID):
		return j, nil
	}
	return store.Job{}, store.ErrNotFound
}

// requireEntity answers 403 when an integration token lacks access to the entity of the
// connection; keys are the records it may reach (nil: all). Other tokens pass: their
// limits are their role and the connection's scope.
func requireEntity(ctx context.Context, conn int64, entity, access string) (keys []string, err error) {
	who := identity(ctx)
	if !who.Integration() {
		return nil, nil
	}
	ok, keys := who.Grants.Entity(conn, entity, access)
	if !ok {
		return nil, huma.Error403Forbidden(auth.MissingEntity(conn, entity, access))
	}
	return keys, nil
}

// requireFlow answers 403 when an integration token lacks access to the flow.
func requireFlow(ctx context.Context, flow int64, access string) error {
	who := identity(ctx)
	if who.Integration() && !who.Grants.Flow(flow, access) {
		return huma.Error403Forbidden(auth.MissingFlow(flow, access))
	}
	return nil
}

// requireRole answers 403 unless the caller's role in the workspace is need or more.
func requireRole(ctx context.Context, need string) error {
	id := identity(ctx)
	if id.Can(need) {
		return nil
	}
	return huma.Error403Forbidden(fmt.Sprintf("this needs the %s role or higher in the workspace; you are %s", need, orNone(id.Role)))
}

// adminOn answers 404 for a connection the caller cannot see and 403 when they can see
// it but are not an admin: changing a connection is for admins and owners.
func (h *handlers) adminOn(ctx context.Context, connID int64) error {
	if _, err := h.connectionFor(ctx, connID); err != nil {
		return h.problem(err)
	}
	return requireRole(ctx, auth.RoleAdmin)
}
