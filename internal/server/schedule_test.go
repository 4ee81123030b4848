package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/server"
	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/store"
)

// scheduledConn is the part of a connection the schedule tests look at.
type scheduledConn struct {
	ID         int64      `json:"id"`
	Status     string     `json:"status"`
	Schedule   string     `json:"schedule"`
	NextSyncAt *time.Time `json:"next_sync_at"`
}

const scheduleTick = 50 * time.Millisecond

func getScheduled(t *testing.T, srv *servertest.Instance, id int64) scheduledConn {
	t.Helper()
	var c scheduledConn
	if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", id), nil, &c); code != http.StatusOK {
		t.Fatalf("GET connection %d: %d", id, code)
	}
	return c
}

// syncJobs lists the connection's sync jobs, newest first.
func syncJobs(t *testing.T, srv *servertest.Instance, id int64) []servertest.Job {
	t.Helper()
	var out struct {
		Jobs []servertest.Job `json:"jobs"`
	}
	if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/jobs?connection=%d&kind=sync", id), nil, &out); code != http.StatusOK {
		t.Fatalf("list jobs: %d", code)
	}
	return out.Jobs
}

// makeDue moves the connection's next scheduled sync into the past through the store, so
// the test needs no minute-long wait. It keeps the connection's status.
func makeDue(t *testing.T, st *store.Store, id int64, status string) {
	t.Helper()
	ctx := context.Background()
	ws, err := st.EnsureWorkspace(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Second)
	if err := st.SetConnectionStatus(ctx, ws.ID, id, status, &past, nil); err != nil {
		t.Fatal(err)
	}
}

// waitSyncs waits until the connection has n sync jobs and returns them, newest first. It
// then waits some more scheduler ticks to see that no further one appears.
func waitSyncs(t *testing.T, srv *servertest.Instance, id int64, n int) []servertest.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(syncJobs(t, srv, id)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("connection %d: still %d sync jobs, want %d", id, len(syncJobs(t, srv, id)), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(10 * scheduleTick)
	got := syncJobs(t, srv, id)
	if len(got) != n {
		t.Fatalf("connection %d: %d sync jobs, want exactly %d", id, len(got), n)
	}
	return got
}

// checkScheduledRun makes the connection due and checks that exactly one scheduled sync
// starts, succeeds, and moves the next run about an interval into the future.
func checkScheduledRun(t *testing.T, srv *servertest.Instance, id int64, syncsBefore int) {
	t.Helper()
	makeDue(t, srv.Server.Store, id, store.StatusActive)
	started := time.Now()
	j := waitSyncs(t, srv, id, syncsBefore+1)[0]
	if j = srv.WaitJob(t, j.ID, time.Minute); j.State != "succeeded" {
		t.Fatalf("scheduled sync %d: %+v", j.ID, j)
	}
	byTheSchedule := false
	for _, l := range j.Log {
		byTheSchedule = byTheSchedule || strings.Contains(l.Message, `started by the schedule "1m"`)
	}
	if !byTheSchedule {
		t.Fatalf("scheduled sync %d does not say it was started by the schedule: %+v", j.ID, j.Log)
	}
	c := getScheduled(t, srv, id)
	if c.NextSyncAt == nil || c.NextSyncAt.Before(started.Add(50*time.Second)) || c.NextSyncAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("after a scheduled run next_sync_at = %v, want about a minute from now", c.NextSyncAt)
	}
}

// TestScheduledSync: a connection with a schedule syncs on its own, once per due time,
// never while disabled; edits change the schedule; a bad schedule answers 422.
func TestScheduledSync(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{ScheduleTick: scheduleTick})
	source := seedSQLite(t, 20)

	var created struct {
		Connection scheduledConn `json:"connection"`
		JobID      int64         `json:"job_id"`
	}
	before := time.Now()
	if code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{
		"name": "scheduled", "driver": "sqlite", "credentials": map[string]any{"path": source}, "schedule": " 1m ",
	}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	c := created.Connection
	if c.Schedule != "1m" || c.NextSyncAt == nil || c.NextSyncAt.Before(before.Add(time.Minute)) {
		t.Fatalf("created with schedule %q, next %v; want 1m, a minute from now", c.Schedule, c.NextSyncAt)
	}
	if j := srv.WaitJob(t, created.JobID, time.Minute); j.State != "succeeded" {
		t.Fatalf("initial sync: %+v", j)
	}
	// Not due yet: nothing more runs.
	waitSyncs(t, srv, c.ID, 1)

	checkScheduledRun(t, srv, c.ID, 1)
	checkScheduledRun(t, srv, c.ID, 2)

	// Disabled: no next time, and even a past one in the store starts nothing.
	var disabled struct {
		Connection scheduledConn `json:"connection"`
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/disable", c.ID), nil, &disabled); code != http.StatusAccepted {
		t.Fatalf("disable: %d", code)
	}
	if disabled.Connection.NextSyncAt != nil {
		t.Fatalf("disabled connection has next_sync_at %v", disabled.Connection.NextSyncAt)
	}
	makeDue(t, srv.Server.Store, c.ID, store.StatusInactive)
	waitSyncs(t, srv, c.ID, 3)

	// Enabled again: one sync now, the schedule counts from now.
	var enabled struct {
		Connection scheduledConn `json:"connection"`
		JobID      int64         `json:"job_id"`
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/enable", c.ID), nil, &enabled); code != http.StatusAccepted {
		t.Fatalf("enable: %d", code)
	}
	if n := enabled.Connection.NextSyncAt; n == nil || n.Before(time.Now().Add(50*time.Second)) {
		t.Fatalf("enabled connection: next_sync_at %v, want about a minute from now", n)
	}
	srv.WaitJob(t, enabled.JobID, time.Minute)
	waitSyncs(t, srv, c.ID, 4)

	// Edits: a cron expression runs at its next matching minute; "" is manual only.
	var edited struct {
		Connection scheduledConn `json:"connection"`
	}
	if code := srv.Do(t, "PATCH", fmt.Sprintf("/api/v1/connections/%d", c.ID), map[string]any{"schedule": "0 6 * * *"}, &edited); code != http.StatusOK {
		t.Fatalf("edit schedule: %d", code)
	}
	n := edited.Connection.NextSyncAt
	if edited.Connection.Schedule != "0 6 * * *" || n == nil || n.UTC().Hour() != 6 || n.Minute() != 0 || !n.After(time.Now()) || n.After(time.Now().Add(24*time.Hour)) {
		t.Fatalf("cron schedule: %q, next %v; want the next 06:00 UTC", edited.Connection.Schedule, n)
	}
	for _, bad := range []string{"10s", "every day", "0 25 * * *", "* * * *"} {
		var p problem
		code := srv.Do(t, "PATCH", fmt.Sprintf("/api/v1/connections/%d", c.ID), map[string]any{"schedule": bad}, &p)
		if code != http.StatusUnprocessableEntity || !p.names("schedule") {
			t.Fatalf("edit to schedule %q: %d %+v; want 422 naming schedule", bad, code, p)
		}
	}
	if got := getScheduled(t, srv, c.ID); got.Schedule != "0 6 * * *" || got.NextSyncAt == nil || !got.NextSyncAt.Equal(*n) {
		t.Fatalf("a refused edit changed the schedule: %+v", got)
	}
	edited.Connection = scheduledConn{}
	if code := srv.Do(t, "PATCH", fmt.Sprintf("/api/v1/connections/%d", c.ID), map[string]any{"schedule": ""}, &edited); code != http.StatusOK {
		t.Fatalf("edit to manual: %d", code)
	}
	if edited.Connection.Schedule != "" || edited.Connection.NextSyncAt != nil {
		t.Fatalf("manual: %+v", edited.Connection)
	}
	waitSyncs(t, srv, c.ID, 4)
}

// TestCreateRejectsBadSchedule: a bad schedule answers 422 naming the field, and nothing is
// stored, whatever else the input got right.
func TestCreateRejectsBadSchedule(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	source := seedSQLite(t, 1)
	for _, bad := range []string{"30s", "soon", "61 * * * *", "0 0 30 2 *", "CRON_TZ=Europe/Berlin 0 6 * * *", "@hourly"} {
		var p problem
		code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{
			"name": "n", "driver": "sqlite", "credentials": map[string]any{"path": source}, "schedule": bad,
		}, &p)
		if code != http.StatusUnprocessableEntity || !p.names("schedule") {
			t.Fatalf("schedule %q: %d %+v; want 422 naming schedule", bad, code, p)
		}
		for _, e := range p.Errors {
			if e.Location == "schedule" && e.Message == "" {
				t.Fatalf("schedule %q: no message", bad)
			}
		}
	}
	var list struct {
		Connections []scheduledConn `json:"connections"`
	}
	srv.Do(t, "GET", "/api/v1/connections", nil, &list)
	if len(list.Connections) != 0 {
		t.Fatalf("bad schedules stored %d connections", len(list.Connections))
	}
}

// TestScheduledSyncTwoNodes: two servers on one PostgreSQL, both running the scheduler,
// start each due run exactly once.
func TestScheduledSyncTwoNodes(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Postgres: true, ScheduleTick: scheduleTick})
	ctx := context.Background()
	// The second node shares the database and the data folder (so the secret key too).
	second, err := server.New(ctx, server.Config{
		DataDir: srv.DataDir, Database: srv.Server.Store.DSN(), Out: io.Discard,
		Logger:       slog.New(slog.DiscardHandler),
		ScheduleTick: scheduleTick,
		Jobs:         jobs.Options{Heartbeat: time.Second, LostAfter: 5 * time.Second, PollInterval: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		second.Close(ctx)
	})

	source := seedSQLite(t, 20)
	var created struct {
		Connection scheduledConn `json:"connection"`
		JobID      int64         `json:"job_id"`
	}
	if code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{
		"name": "scheduled", "driver": "sqlite", "credentials": map[string]any{"path": source}, "schedule": "1m",
	}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	srv.WaitJob(t, created.JobID, time.Minute)
	for run := 1; run <= 3; run++ {
		checkScheduledRun(t, srv, created.Connection.ID, run)
	}
}
