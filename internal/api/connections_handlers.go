package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

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
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func serviceInput(in ConnectionInput) connections.Input {
	return connections.Input{Name: in.Name, Driver: in.Driver, Description: in.Description,
		Credentials: in.Credentials, Settings: in.Settings, Schedule: in.Schedule}
}

func (h *handlers) listConnections(ctx context.Context, _ *struct{}) (*connectionListOutput, error) {
	list, err := h.Store.ListConnections(ctx, identity(ctx).WorkspaceID)
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
	c, job, err := h.Connections.Create(ctx, identity(ctx).WorkspaceID, serviceInput(in.Body))
	if err != nil {
		return nil, h.problem(err)
	}
	return &connectionJobOutput{Status: http.StatusCreated, Body: ConnectionWithJob{Connection: h.connection(c), JobID: &job.ID}}, nil
}

func (h *handlers) getConnection(ctx context.Context, in *connectionIDInput) (*connectionOutput, error) {
	c, err := h.Store.GetConnection(ctx, identity(ctx).WorkspaceID, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &connectionOutput{Body: h.connection(c)}, nil
}

func (h *handlers) updateConnection(ctx context.Context, in *patchConnectionInput) (*connectionJobOutput, error) {
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
	res, job, err := h.Connections.Check(ctx, identity(ctx).WorkspaceID, in.ID, override)
	if err != nil {
		return nil, h.problem(err)
	}
	return &checkOutput{Body: CheckResult{OK: res.OK, Message: res.Message, FieldErrors: res.FieldErrors, JobID: job.ID}}, nil
}

func (h *handlers) syncConnection(ctx context.Context, in *syncInput) (*jobRefOutput, error) {
	job, existing, err := h.Connections.Sync(ctx, identity(ctx).WorkspaceID, in.ID, in.Mode)
	if err != nil {
		return nil, h.problem(err)
	}
	return &jobRefOutput{Status: http.StatusAccepted, Body: JobRef{JobID: job.ID, Existing: existing}}, nil
}

func (h *handlers) enableConnection(ctx context.Context, in *connectionIDInput) (*connectionJobOutput, error) {
	c, job, err := h.Connections.Enable(ctx, identity(ctx).WorkspaceID, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &connectionJobOutput{Status: http.StatusAccepted, Body: ConnectionWithJob{Connection: h.connection(c), JobID: &job.ID}}, nil
}

func (h *handlers) disableConnection(ctx context.Context, in *connectionIDInput) (*connectionJobOutput, error) {
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
	out := &bulkOutput{}
	out.Body.Results = make([]BulkResult, 0, len(in.Body.IDs))
	for _, id := range in.Body.IDs {
		var job *int64
		var err error
		switch in.Body.Action {
		case "sync":
			var j store.Job
			j, _, err = h.Connections.Sync(ctx, ws, id, "auto")
			job = &j.ID
		case "enable":
			var j *store.Job
			_, j, err = h.Connections.Enable(ctx, ws, id)
			if j != nil {
				job = &j.ID
			}
		case "disable":
			_, err = h.Connections.Disable(ctx, ws, id)
		case "delete":
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
	if _, err := h.Store.GetConnection(ctx, ws, in.ID); err != nil {
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
	return out, nil
}

func (h *handlers) listRecords(ctx context.Context, in *recordsInput) (*recordsOutput, error) {
	ws := identity(ctx).WorkspaceID
	if _, err := h.Store.GetConnection(ctx, ws, in.ID); err != nil {
		return nil, h.problem(err)
	}
	f := store.RecordFilter{WorkspaceID: ws, ConnectionID: in.ID, Entity: in.Entity, State: in.State, Limit: in.Limit}
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
