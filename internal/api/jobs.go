package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/store"
)

type listJobsInput struct {
	Connection int64  `query:"connection" doc:"only this connection's jobs"`
	State      string `query:"state" enum:"pending,running,succeeded,failed,cancelled,"`
	Kind       string `query:"kind" enum:"check,sync,purge,flow,"`
	Limit      int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
	Before     int64  `query:"before" doc:"the next value of the previous page"`
}

type jobListOutput struct {
	Body struct {
		Jobs []Job  `json:"jobs"`
		Next string `json:"next,omitempty"`
	}
}

type jobIDInput struct {
	ID int64 `path:"id"`
}

type jobOutput struct {
	Status int
	Body   Job
}

func (h *handlers) registerJobs(a huma.API) {
	tags := []string{"jobs"}
	huma.Register(a, huma.Operation{OperationID: "list-jobs", Method: http.MethodGet, Path: Prefix + "/jobs",
		Tags: tags, Summary: "List jobs, newest first"}, h.listJobs)
	huma.Register(a, huma.Operation{OperationID: "get-job", Method: http.MethodGet, Path: Prefix + "/jobs/{id}",
		Tags: tags, Summary: "Show a job with its progress and log"}, h.getJob)
	huma.Register(a, huma.Operation{OperationID: "cancel-job", Method: http.MethodPost, Path: Prefix + "/jobs/{id}/cancel",
		Tags: tags, DefaultStatus: http.StatusAccepted, Summary: "Cancel a pending or running job"}, h.cancelJob)
}

func jobOf(j store.Job) Job {
	c := j.Counters
	var considered int64
	if j.Kind == store.KindFlow {
		considered = c.Read
	}
	return Job{
		ID: j.ID, ConnectionID: j.ConnectionID, FlowID: j.FlowID, Kind: j.Kind, State: j.State, Attempts: j.Attempts,
		MaxAttempts: j.MaxAttempts, Node: j.Node, Error: j.Error, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
		Progress: Progress{Read: c.Read, Written: c.Written(), Inserted: c.Inserted, Updated: c.Updated,
			Unchanged: c.Unchanged, Gone: c.Gone, Considered: considered, Skipped: c.Skipped, Failed: c.Failed},
	}
}

func (h *handlers) listJobs(ctx context.Context, in *listJobsInput) (*jobListOutput, error) {
	viewer := identity(ctx).Viewer()
	list, err := h.Store.ListJobs(ctx, store.JobFilter{WorkspaceID: viewer.WorkspaceID, ConnectionID: in.Connection,
		State: in.State, Kind: in.Kind, BeforeID: in.Before, Limit: in.Limit, Viewer: &viewer})
	if err != nil {
		return nil, h.problem(err)
	}
	out := &jobListOutput{}
	out.Body.Jobs = make([]Job, 0, len(list))
	for _, j := range list {
		out.Body.Jobs = append(out.Body.Jobs, jobOf(j))
	}
	if len(list) == in.Limit {
		out.Body.Next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	return out, nil
}

func (h *handlers) getJob(ctx context.Context, in *jobIDInput) (*jobOutput, error) {
	j, err := h.jobFor(ctx, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	out := jobOf(j)
	lines, err := h.Store.JobLog(ctx, j.ID, 0, 1000)
	if err != nil {
		return nil, h.problem(err)
	}
	for _, l := range lines {
		out.Log = append(out.Log, LogLine{At: l.At, Level: l.Level, Message: l.Message})
	}
	return &jobOutput{Status: http.StatusOK, Body: out}, nil
}

func (h *handlers) cancelJob(ctx context.Context, in *jobIDInput) (*jobOutput, error) {
	if _, err := h.jobFor(ctx, in.ID); err != nil {
		return nil, h.problem(err)
	}
	j, err := h.Runner.Cancel(ctx, identity(ctx).WorkspaceID, in.ID)
	if err != nil {
		return nil, h.problem(err)
	}
	return &jobOutput{Status: http.StatusAccepted, Body: jobOf(j)}, nil
}
