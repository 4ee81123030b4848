package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/connections"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

func (h *handlers) connection(c store.Connection) Connection {
	masked := h.Connections.Masked(c)
	return Connection{
		ID: c.ID, Name: c.Name, Driver: c.Driver, Description: c.Description, Status: c.Status,
		Health:      Health{State: c.Health, Message: c.HealthMessage, CheckedAt: c.CheckedAt},
		Credentials: masked.Credentials, Settings: masked.Settings,
		LastSyncAt: c.LastSyncAt, LastSyncJobID: c.LastSyncJobID, Schedule: c.Schedule, NextSyncAt: c.NextSyncAt,
		Scope:     Scope{Mode: c.Scope.Mode, Users: c.Scope.UserIDs, Groups: c.Scope.GroupIDs},
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func serviceInput(in ConnectionInput) connections.Input {
	out := connections.Input{Name: in.Name, Driver: in.Driver, Description: in.Description,
		Credentials: in.Credentials, Settings: in.Settings, Schedule: in.Schedule}
	if in.Scope != nil {
		out.Scope = &store.Scope{Mode: in.Scope.Mode, UserIDs: in.Scope.Users, GroupIDs: in.Scope.Groups}
	}
	return out
}

func (h *handlers) listConnections(ctx context.Context, _ *struct{}) (*connectionListOutput, error) {
	list, err := h.visibleConnections(ctx)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &connectionListOutput{}
	out.Body.Connections = make([]Connection, 0, len(list))
	for _, c := range list {
		out.Body.Connections = append(out.Body.Connections, h.connection(c))
	}
	return out, nil
}

func (h *handlers) createConnection(ctx context.Context, in *createConnectionInput) (*connectionJobOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	c, job, err := h.Connections.Create(ctx, identity(ctx).WorkspaceID, serviceInput(in.Body))
	if err != nil {
		return nil, h.problem(err)
	}
	return &connectionJobOutput{Status: http.StatusCreated, Body: ConnectionWithJob{Connection: h.connection(c), JobID: &job.ID}}, nil
}

func (h *handlers) getConnection(ctx context.Context, in *connectionIDInput) (*connectionOutput, error) {
	c, err := h.connectionFor(ctx, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &connectionOutput{Body: h.connection(c)}, nil
}

func (h *handlers) updateConnection(ctx context.Context, in *patchConnectionInput) (*connectionJobOutput, error) {
	if err := h.adminOn(ctx, in.ID); err != nil {
		return nil, err
	}
	c, job, err := h.Connections.Update(ctx, identity(ctx).WorkspaceID, in.ID, serviceInput(in.Body))
	if err != nil {
		return nil, h.problem(err)
	}
	out := &connectionJobOutput{Status: http.StatusOK, Body: ConnectionWithJob{Connection: h.connection(c)}}
	if job != nil {
		out.Body.JobID = &job.ID
	}
	return out, nil
}

func (h *handlers) deleteConnection(ctx context.Context, in *connectionIDInput) (*jobRefOutput, error) {
	if err := h.adminOn(ctx, in.ID); err != nil {
		return nil, err
	}
	job, err := h.Connections.Delete(ctx, identity(ctx).WorkspaceID, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &jobRefOutput{Status: http.StatusAccepted, Body: JobRef{JobID: job.ID}}, nil
}

func (h *handlers) checkConnection(ctx context.Context, in *checkInput) (*checkOutput, error) {
	var override driver.Config
	if in.Body != nil {
		override = driver.Config{Credentials: in.Body.Credentials, Settings: in.Body.Settings}
	}
	if _, err := h.connectionFor(ctx, in.ID); err != nil {
		return nil, h.problem(err)
	}
	res, job, err := h.Connections.Check(ctx, identity(ctx).WorkspaceID, in.ID, override)
	if err != nil {
		return nil, h.problem(err)
	}
	return &checkOutput{Body: CheckResult{OK: res.OK, Message: res.Message, FieldErrors: res.FieldErrors, JobID: job.ID}}, nil
}

func (h *handlers) syncConnection(ctx context.Context, in *syncInput) (*jobRefOutput, error) {
	if _, err := h.connectionFor(ctx, in.ID); err != nil {
		return nil, h.problem(err)
	}
	job, existing, err := h.Connections.Sync(ctx, identity(ctx).WorkspaceID, in.ID, in.Mode)
	if err != nil {
		return nil, h.problem(err)
	}
	return &jobRefOutput{Status: http.StatusAccepted, Body: JobRef{JobID: job.ID, Existing: existing}}, nil
}

func (h *handlers) enableConnection(ctx context.Context, in *connectionIDInput) (*connectionJobOutput, error) {
	if err := h.adminOn(ctx, in.ID); err != nil {
		return nil, err
	}
	c, job, err := h.Connections.Enable(ctx, identity(ctx).WorkspaceID, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &connectionJobOutput{Status: http.StatusAccepted, Body: ConnectionWithJob{Connection: h.connection(c), JobID: &job.ID}}, nil
}

func (h *handlers) disableConnection(ctx context.Context, in *connectionIDInput) (*connectionJobOutput, error) {
	if err := h.adminOn(ctx, in.ID); err != nil {
		return nil, err
	}
	c, err := h.Connections.Disable(ctx, identity(ctx).WorkspaceID, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &connectionJobOutput{Status: http.StatusAccepted, Body: ConnectionWithJob{Connection: h.connection(c)}}, nil
}

// bulkConnections applies one action per id and reports each outcome as the single
// action's status would have been; one failure never stops the others.
func (h *handlers) bulkConnections(ctx context.Context, in *bulkInput) (*bulkOutput, error) {
	ws := identity(ctx).WorkspaceID
	if in.Body.Action != "sync" {
		if err := requireRole(ctx, auth.RoleAdmin); err != nil {
			return nil, err
		}
	}
	out := &bulkOutput{}
	out.Body.Results = make([]BulkResult, 0, len(in.Body.IDs))
	for _, id := range in.Body.IDs {
		var job *int64
		_, err := h.connectionFor(ctx, id)
		switch {
		case err != nil:
		case in.Body.Action == "sync":
			var j store.Job
			j, _, err = h.Connections.Sync(ctx, ws, id, "auto")
			job = &j.ID
		case in.Body.Action == "enable":
			var j *store.Job
			_, j, err = h.Connections.Enable(ctx, ws, id)
			if j != nil {
				job = &j.ID
			}
		case in.Body.Action == "disable":
			_, err = h.Connections.Disable(ctx, ws, id)
		case in.Body.Action == "delete":
			var j store.Job
			j, err = h.Connections.Delete(ctx, ws, id)
			job = &j.ID
		}
		r := BulkResult{ID: id, OK: err == nil, Status: http.StatusAccepted}
		if err != nil {
			r.JobID = nil
			var se huma.StatusError
			if errors.As(h.problem(err), &se) {
				r.Status = se.GetStatus()
			}
			r.Error = err.Error()
			if r.Status >= 500 {
				r.Error = "internal error"
			}
		} else {
			r.JobID = job
		}
		out.Body.Results = append(out.Body.Results, r)
	}
	return out, nil
}

func (h *handlers) getCatalog(ctx context.Context, in *connectionIDInput) (*catalogOutput, error) {
	ws := identity(ctx).WorkspaceID
	if _, err := h.connectionFor(ctx, in.ID); err != nil {
		return nil, h.problem(err)
	}
	doc, at, err := h.Store.GetCatalog(ctx, ws, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, huma.Error404NotFound("no catalog yet: the first sync has not discovered it")
	}
	if err != nil {
		return nil, h.problem(err)
	}
	out := &catalogOutput{Body: Catalog{DiscoveredAt: at}}
	if err := json.Unmarshal(doc, &out.Body.Catalog); err != nil {
		return nil, h.problem(err)
	}
	if who := identity(ctx); who.Integration() {
		// An integration token sees the entities it is granted; value lists stay, as its
		// mappings need them.
		names, all := who.Grants.Entities(in.ID, auth.AccessRead)
		if !all {
			out.Body.Entities = slices.DeleteFunc(out.Body.Entities, func(e driver.Entity) bool { return !slices.Contains(names, e.Name) })
		}
	}
	return out, nil
}

func (h *handlers) listRecords(ctx context.Context, in *recordsInput) (*recordsOutput, error) {
	ws := identity(ctx).WorkspaceID
	if _, err := h.connectionFor(ctx, in.ID); err != nil {
		return nil, h.problem(err)
	}
	f := store.RecordFilter{WorkspaceID: ws, ConnectionID: in.ID, Entity: in.Entity, State: in.State, Limit: in.Limit}
	if identity(ctx).Integration() {
		if in.Entity == "" {
			return nil, huma.Error422UnprocessableEntity("entity is required with an integration token",
				&huma.ErrorDetail{Location: "query.entity", Message: "name the granted entity to read"})
		}
		keys, err := requireEntity(ctx, in.ID, in.Entity, auth.AccessRead)
		if err != nil {
			return nil, err
		}
		f.Keys = keys
	}
	if in.After != "" {
		var pos [2]string
		raw, err := base64.RawURLEncoding.DecodeString(in.After)
		if err != nil || json.Unmarshal(raw, &pos) != nil {
			return nil, huma.Error422UnprocessableEntity("after is not a value this API gave", &huma.ErrorDetail{Location: "query.after", Message: "unknown position"})
		}
		f.AfterEntity, f.AfterKey = pos[0], pos[1]
	}
	recs, err := h.Store.ListRecords(ctx, f)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &recordsOutput{Body: RecordPage{Records: make([]Record, 0, len(recs))}}
	for _, r := range recs {
		out.Body.Records = append(out.Body.Records, Record{
			Entity: r.Entity, Key: r.Key, Fields: json.RawMessage(r.Fields), Hash: r.Hash, State: r.State,
			RemoteUpdatedAt: r.RemoteUpdatedAt, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, GoneAt: r.GoneAt,
		})
	}
	if len(recs) == f.Limit {
		last := recs[len(recs)-1]
		raw, _ := json.Marshal([2]string{last.Entity, last.Key})
		out.Body.Next = base64.RawURLEncoding.EncodeToString(raw)
	}
	return out, nil
}
