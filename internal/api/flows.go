package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/flow"
	"github.com/junction-hub/junction/internal/store"
)

// Flow is a flow as the API shows it: its definition, with the value pairs auto-mapped by
// name filled in (values.auto_mapped), and when it runs.
type Flow struct {
	ID int64 `json:"id"`
	flow.Definition
	NextRunAt    *time.Time `json:"next_run_at,omitempty" doc:"when the schedule next starts a run"`
	LastRunJobID *int64     `json:"last_run_job_id,omitempty"`
	LastRunAt    *time.Time `json:"last_run_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// FlowKeys chooses source records by key; empty means "all" (run: every changed record,
// retry: every failed record).
type FlowKeys struct {
	Keys []string `json:"keys,omitempty" maxItems:"10000"`
}

// DryRun is what a run would do, record by record, without writing.
type DryRun struct {
	Items []flow.Item `json:"items"`
}

// FlowFailures lists a flow's failed records with their reasons.
type FlowFailures struct {
	Failed []store.Failure `json:"failed"`
	Next   string          `json:"next,omitempty"`
}

// FlowLinks is a page of a flow's link table.
type FlowLinks struct {
	Links []store.Link `json:"links"`
	Next  string       `json:"next,omitempty"`
}

type flowIDInput struct {
	ID int64 `path:"id"`
}

type flowOutput struct {
	Status int
	Body   Flow
}

type flowListOutput struct {
	Body struct {
		Flows []Flow `json:"flows"`
	}
}

type flowBodyInput struct {
	Body flow.Definition
}

type flowUpdateInput struct {
	ID   int64 `path:"id"`
	Body flow.Definition
}

type flowRunInput struct {
	ID   int64     `path:"id"`
	Body *FlowKeys `required:"false"`
}

type flowJobOutput struct {
	Status int
	Body   JobRef
}

type flowDryRunInput struct {
	ID    int64     `path:"id"`
	Limit int       `query:"limit" minimum:"1" maximum:"1000" default:"20"`
	Body  *FlowKeys `required:"false"`
}

type flowDryRunOutput struct{ Body DryRun }

type flowPageInput struct {
	ID    int64  `path:"id"`
	After string `query:"after" doc:"the next value of the previous page"`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	State string `query:"state" enum:"pending,linked,skipped,removed,"`
}

type flowFailuresOutput struct{ Body FlowFailures }

type flowLinksOutput struct{ Body FlowLinks }

func (h *handlers) registerFlows(a huma.API) {
	tags := []string{"flows"}
	op := func(id, method, path, summary string, status int) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: Prefix + path, Tags: tags, Summary: summary, DefaultStatus: status}
	}
	huma.Register(a, op("list-flows", http.MethodGet, "/flows", "List flows", 0), h.listFlows)
	huma.Register(a, op("create-flow", http.MethodPost, "/flows", "Create a flow (validated against both catalogs)", http.StatusCreated), h.createFlow)
	huma.Register(a, op("get-flow", http.MethodGet, "/flows/{id}", "Show a flow with its mapping", 0), h.getFlow)
	huma.Register(a, op("update-flow", http.MethodPut, "/flows/{id}", "Replace a flow's definition", 0), h.updateFlow)
	huma.Register(a, op("delete-flow", http.MethodDelete, "/flows/{id}", "Delete a flow with its links and failed records", http.StatusNoContent), h.deleteFlow)
	huma.Register(a, op("run-flow", http.MethodPost, "/flows/{id}/run", "Run a flow now: the chosen records, or every changed one", http.StatusAccepted), h.runFlow)
	huma.Register(a, op("dry-run-flow", http.MethodPost, "/flows/{id}/dry-run", "Preview a run without writing", 0), h.dryRunFlow)
	huma.Register(a, op("list-flow-failures", http.MethodGet, "/flows/{id}/failed", "List a flow's failed records with their reasons", 0), h.flowFailures)
	huma.Register(a, op("retry-flow-failures", http.MethodPost, "/flows/{id}/failed/retry", "Retry failed records: the chosen ones, or all", http.StatusAccepted), h.retryFlow)
	huma.Register(a, op("list-flow-links", http.MethodGet, "/flows/{id}/links", "List a flow's links: source key to target key", 0), h.flowLinks)
}

func flowOf(f flow.Flow) Flow {
	return Flow{ID: f.ID, Definition: f.Definition, NextRunAt: f.NextRunAt, LastRunJobID: f.LastRunJobID,
		LastRunAt: f.LastRunAt, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
}

// flowFor loads a flow the caller may see: one of the workspace whose two connections the
// caller may see (connectionFor decides). Any other is 404, as if it did not exist. A
// connection that no longer exists at all (deleted since) hides nothing, so such a flow
// stays visible, to be fixed or deleted; its runs fail saying why. An integration token
// sees the flows its grants name instead, and runs those it has the run grant for.
func (h *handlers) flowFor(ctx context.Context, id int64, access string) (flow.Flow, error) {
	who := identity(ctx)
	f, err := h.Flows.Get(ctx, who.WorkspaceID, id)
	if err != nil {
		return f, err
	}
	if who.Integration() {
		if !who.Grants.Flow(id, auth.AccessRead) {
			return flow.Flow{}, store.ErrNotFound
		}
		return f, requireFlow(ctx, id, access)
	}
	for _, c := range []int64{f.SourceConnectionID, f.TargetConnectionID} {
		if _, err := h.Store.GetConnection(ctx, who.WorkspaceID, c); errors.Is(err, store.ErrNotFound) {
			continue
		}
		if _, err := h.connectionFor(ctx, c); err != nil {
			return flow.Flow{}, err
		}
	}
	return f, nil
}

// flowProblem is problem for errors of flowFor, which may already be a 403.
func (h *handlers) flowProblem(err error) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return err
	}
	return h.problem(err)
}

// checkFlowConnections answers, for a definition being stored, a connection the caller
// may not see as a wrong field, exactly like one that does not exist.
func (h *handlers) checkFlowConnections(ctx context.Context, def flow.Definition) error {
	var fe driver.FieldErrors
	for _, s := range []struct {
		at string
		id int64
	}{{"source.connection_id", def.Source.ConnectionID}, {"target.connection_id", def.Target.ConnectionID}} {
		if _, err := h.connectionFor(ctx, s.id); errors.Is(err, store.ErrNotFound) {
			fe = append(fe, driver.FieldError{Field: s.at, Message: fmt.Sprintf("no connection %d", s.id)})
		} else if err != nil {
			return err
		}
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

func (h *handlers) listFlows(ctx context.Context, _ *struct{}) (*flowListOutput, error) {
	list, err := h.Flows.List(ctx, identity(ctx).WorkspaceID)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &flowListOutput{}
	out.Body.Flows = make([]Flow, 0, len(list))
	for _, f := range list {
		if _, err := h.flowFor(ctx, f.ID, auth.AccessRead); errors.Is(err, store.ErrNotFound) {
			continue // a connection the caller may not see
		} else if err != nil {
			return nil, h.problem(err)
		}
		out.Body.Flows = append(out.Body.Flows, flowOf(f))
	}
	return out, nil
}

func (h *handlers) createFlow(ctx context.Context, in *flowBodyInput) (*flowOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	if err := h.checkFlowConnections(ctx, in.Body); err != nil {
		return nil, h.problem(err)
	}
	f, err := h.Flows.Create(ctx, identity(ctx).WorkspaceID, in.Body)
	if err != nil {
		return nil, h.problem(err)
	}
	return &flowOutput{Status: http.StatusCreated, Body: flowOf(f)}, nil
}

func (h *handlers) getFlow(ctx context.Context, in *flowIDInput) (*flowOutput, error) {
	f, err := h.flowFor(ctx, in.ID, auth.AccessRead)
	if err != nil {
		return nil, h.flowProblem(err)
	}
	return &flowOutput{Status: http.StatusOK, Body: flowOf(f)}, nil
}

func (h *handlers) updateFlow(ctx context.Context, in *flowUpdateInput) (*flowOutput, error) {
	// A flow the caller cannot see is 404 before it is 403: its existence is not told.
	if _, err := h.flowFor(ctx, in.ID, auth.AccessRead); err != nil {
		return nil, h.flowProblem(err)
	}
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	if err := h.checkFlowConnections(ctx, in.Body); err != nil {
		return nil, h.problem(err)
	}
	f, err := h.Flows.Update(ctx, identity(ctx).WorkspaceID, in.ID, in.Body)
	if err != nil {
		return nil, h.problem(err)
	}
	return &flowOutput{Status: http.StatusOK, Body: flowOf(f)}, nil
}

func (h *handlers) deleteFlow(ctx context.Context, in *flowIDInput) (*struct{}, error) {
	if _, err := h.flowFor(ctx, in.ID, auth.AccessRead); err != nil {
		return nil, h.flowProblem(err)
	}
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	if err := h.Flows.Delete(ctx, identity(ctx).WorkspaceID, in.ID); err != nil {
		return nil, h.problem(err)
	}
	return nil, nil
}

func keysOf(b *FlowKeys) []string {
	if b == nil {
		return nil
	}
	return b.Keys
}

func (h *handlers) runFlow(ctx context.Context, in *flowRunInput) (*flowJobOutput, error) {
	if _, err := h.flowFor(ctx, in.ID, auth.AccessRun); err != nil {
		return nil, h.flowProblem(err)
	}
	j, existing, err := h.Flows.Run(ctx, identity(ctx).WorkspaceID, in.ID, keysOf(in.Body))
	if err != nil {
		return nil, h.problem(err)
	}
	return &flowJobOutput{Status: http.StatusAccepted, Body: JobRef{JobID: j.ID, Existing: existing}}, nil
}

func (h *handlers) retryFlow(ctx context.Context, in *flowRunInput) (*flowJobOutput, error) {
	if _, err := h.flowFor(ctx, in.ID, auth.AccessRun); err != nil {
		return nil, h.flowProblem(err)
	}
	j, err := h.Flows.Retry(ctx, identity(ctx).WorkspaceID, in.ID, keysOf(in.Body))
	if err != nil {
		return nil, h.problem(err)
	}
	return &flowJobOutput{Status: http.StatusAccepted, Body: JobRef{JobID: j.ID}}, nil
}

func (h *handlers) dryRunFlow(ctx context.Context, in *flowDryRunInput) (*flowDryRunOutput, error) {
	if _, err := h.flowFor(ctx, in.ID, auth.AccessRead); err != nil {
		return nil, h.flowProblem(err)
	}
	items, err := h.Flows.DryRun(ctx, identity(ctx).WorkspaceID, in.ID, keysOf(in.Body), in.Limit)
	if driver.IsConfig(err) {
		return nil, huma.Error422UnprocessableEntity(err.Error())
	}
	if err != nil {
		return nil, h.problem(err)
	}
	out := &flowDryRunOutput{}
	out.Body.Items = items
	if out.Body.Items == nil {
		out.Body.Items = []flow.Item{}
	}
	return out, nil
}

func (h *handlers) flowFailures(ctx context.Context, in *flowPageInput) (*flowFailuresOutput, error) {
	if _, err := h.flowFor(ctx, in.ID, auth.AccessRead); err != nil {
		return nil, h.flowProblem(err)
	}
	list, err := h.Store.ListFailures(ctx, in.ID, in.After, in.Limit)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &flowFailuresOutput{}
	out.Body.Failed = list
	if out.Body.Failed == nil {
		out.Body.Failed = []store.Failure{}
	}
	if len(list) == in.Limit {
		out.Body.Next = list[len(list)-1].SourceKey
	}
	return out, nil
}

func (h *handlers) flowLinks(ctx context.Context, in *flowPageInput) (*flowLinksOutput, error) {
	if _, err := h.flowFor(ctx, in.ID, auth.AccessRead); err != nil {
		return nil, h.flowProblem(err)
	}
	list, err := h.Store.ListLinks(ctx, store.LinkFilter{FlowID: in.ID, State: in.State, AfterKey: in.After, Limit: in.Limit})
	if err != nil {
		return nil, h.problem(err)
	}
	out := &flowLinksOutput{}
	out.Body.Links = list
	if out.Body.Links == nil {
		out.Body.Links = []store.Link{}
	}
	if len(list) == in.Limit {
		out.Body.Next = list[len(list)-1].SourceKey
	}
	return out, nil
}
