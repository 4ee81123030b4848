package web

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/junction-hub/junction/internal/store"
)

// jobView is a job as the Processes view shows it, and as its JSON endpoint sends it for
// the live updates.
type jobView struct {
	ID          int64          `json:"id"`
	Kind        string         `json:"kind"`
	State       string         `json:"state"`
	Connection  string         `json:"connection"`
	ConnID      int64          `json:"connection_id,omitempty"`
	FlowID      int64          `json:"flow_id,omitempty"` // a flow run's flow
	Attempts    int            `json:"attempts"`
	MaxAttempts int            `json:"max_attempts"`
	Counters    store.Counters `json:"counters"`
	Written     int64          `json:"written"`
	Elapsed     string         `json:"elapsed"`
	Percent     int            `json:"percent"` // -1: unknown (the bar shows activity only)
	Error       string         `json:"error,omitempty"`
	Created     string         `json:"created"`
	Finished    bool           `json:"finished"`
	Cancellable bool           `json:"cancellable"`
}

type jobsJSON struct {
	Running int       `json:"running"`
	Jobs    []jobView `json:"jobs,omitempty"`
}

// runningCount is the number in the header's Processes button: jobs running now that the
// user may see.
func (c *Console) runningCount(req *request) int {
	v := req.id.Viewer()
	jobs, err := c.Store.ListJobs(req.ctx, store.JobFilter{WorkspaceID: req.id.WorkspaceID, State: store.JobRunning, Viewer: &v, Limit: 500})
	if err != nil {
		c.Logger.Warn("console running jobs", "err", err)
		return 0
	}
	return len(jobs)
}

// recentJobs lists the newest jobs the user may see, with what the view shows.
func (c *Console) recentJobs(req *request, limit int) ([]jobView, error) {
	v := req.id.Viewer()
	jobs, err := c.Store.ListJobs(req.ctx, store.JobFilter{WorkspaceID: req.id.WorkspaceID, Viewer: &v, Limit: limit})
	if err != nil {
		return nil, err
	}
	conns, err := c.Store.ListVisibleConnections(req.ctx, v)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, conn := range conns {
		names[conn.ID] = conn.Name
	}
	out := make([]jobView, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, c.jobView(req, j, names))
	}
	return out, nil
}

func (c *Console) jobView(req *request, j store.Job, names map[int64]string) jobView {
	jv := jobView{ID: j.ID, Kind: j.Kind, State: j.State, Attempts: j.Attempts, MaxAttempts: j.MaxAttempts,
		Counters: j.Counters, Written: j.Counters.Written(), Error: j.Error, Created: when(j.CreatedAt),
		Finished: j.Finished(), Cancellable: !j.Finished(), Percent: -1}
	if d := elapsed(j); d > 0 {
		jv.Elapsed = d.String()
	} else {
		jv.Elapsed = "—"
	}
	if j.FlowID != nil {
		jv.FlowID = *j.FlowID
	}
	if j.ConnectionID != nil {
		jv.ConnID = *j.ConnectionID
		jv.Connection = names[jv.ConnID]
		if jv.Connection == "" {
			jv.Connection = fmt.Sprintf("#%d", jv.ConnID)
		}
	}
	switch {
	case j.State == store.JobSucceeded:
		jv.Percent = 100
	case j.State == store.JobRunning && j.Kind == store.KindSync && j.ConnectionID != nil:
		// The records mirrored so far are the best guess of how many this sync reads.
		if total, err := c.Store.CountRecords(req.ctx, *j.ConnectionID, "", store.RecordLive); err == nil && total > 0 {
			jv.Percent = int(min(99, j.Counters.Read*100/total))
		}
	}
	return jv
}

func (c *Console) processList(w http.ResponseWriter, r *http.Request, req *request) {
	jobs, err := c.recentJobs(req, 50)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, req, http.StatusOK, "processes", view{Title: "Processes", Nav: "processes", Data: jobs})
}

// processListJSON feeds the live updates: the running count for the header, and with
// ?jobs=1 the recent jobs for the Processes view.
func (c *Console) processListJSON(w http.ResponseWriter, r *http.Request, req *request) {
	out := jobsJSON{Running: c.runningCount(req)}
	if r.URL.Query().Get("jobs") != "" {
		var err error
		if out.Jobs, err = c.recentJobs(req, 50); err != nil {
			c.fail(w, r, req, err)
			return
		}
	}
	writeJSON(w, out)
}

// visibleJob finds a job of the workspace the user may see (store.GetVisibleJob decides).
func (c *Console) visibleJob(r *http.Request, req *request) (store.Job, error) {
	id, ok := pathID(r)
	if !ok {
		return store.Job{}, store.ErrNotFound
	}
	return c.Store.GetVisibleJob(req.ctx, req.id.Viewer(), id)
}

type jobDetail struct {
	Job jobView         `json:"job"`
	Log []store.LogLine `json:"log"`
}

func (c *Console) jobDetail(req *request, j store.Job) (jobDetail, error) {
	names := map[int64]string{}
	if j.ConnectionID != nil {
		if conn, err := c.Store.GetConnection(req.ctx, req.id.WorkspaceID, *j.ConnectionID); err == nil {
			names[conn.ID] = conn.Name
		}
	}
	lines, err := c.Store.JobLog(req.ctx, j.ID, 0, 1000)
	if err != nil {
		return jobDetail{}, err
	}
	if lines == nil {
		lines = []store.LogLine{}
	}
	return jobDetail{Job: c.jobView(req, j, names), Log: lines}, nil
}

func (c *Console) processShow(w http.ResponseWriter, r *http.Request, req *request) {
	j, err := c.visibleJob(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	d, err := c.jobDetail(req, j)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, req, http.StatusOK, "process", view{Title: fmt.Sprintf("Job %d", j.ID), Nav: "processes", Data: d})
}

func (c *Console) processJSON(w http.ResponseWriter, r *http.Request, req *request) {
	j, err := c.visibleJob(r, req)
	if err != nil {
		if err == store.ErrNotFound {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		c.fail(w, r, req, err)
		return
	}
	d, err := c.jobDetail(req, j)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	writeJSON(w, d)
}

func (c *Console) processCancel(w http.ResponseWriter, r *http.Request, req *request) {
	j, err := c.visibleJob(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	back := r.PostFormValue("back")
	if back != "/processes" {
		back = fmt.Sprintf("/processes/%d", j.ID)
	}
	if _, err := c.Runner.Cancel(req.ctx, req.id.WorkspaceID, j.ID); err != nil {
		redirect(w, r, back, flash{"error", fmt.Sprintf("Job %d: %s", j.ID, c.message(err))})
		return
	}
	redirect(w, r, back, flash{"ok", fmt.Sprintf("Job %d: cancel requested.", j.ID)})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
