package jobs_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/store"
	"github.com/junction-hub/junction/internal/testdb"
)

// TestStrandedJobRuns covers a process killed in the moment between River handing it a
// job (River's row running) and the worker marking our row running (still pending): no
// heartbeat was ever sent, so the heartbeat check alone never finds the job, and River
// would only rescue it after its stuck-job timeout of days. Another node (PostgreSQL) or
// the restarted process (SQLite) must run it.
func TestStrandedJobRuns(t *testing.T) {
	for _, dialect := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			dsn := filepath.Join(t.TempDir(), "junction.db")
			if dialect == store.Postgres {
				dsn, _ = testdb.Postgres(t)
			}
			st, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			ws, err := st.EnsureWorkspace(ctx, "w")
			if err != nil {
				t.Fatal(err)
			}
			ran := make(chan int64, 1)
			handlers := map[string]jobs.Handler{store.KindCheck: func(ctx context.Context, j store.Job, log *jobs.Log) error {
				ran <- j.ID
				return nil
			}}
			opts := jobs.Options{SingleNode: dialect == store.SQLite, Heartbeat: 200 * time.Millisecond, LostAfter: time.Second,
				PollInterval: 50 * time.Millisecond}
			logger := slog.New(slog.DiscardHandler)

			// The node that dies: it enqueues the job and River hands it to its worker, which
			// never gets to mark it running.
			dead, err := jobs.New(ctx, st, handlers, opts, nil, logger)
			if err != nil {
				t.Fatal(err)
			}
			j := store.Job{WorkspaceID: ws.ID, Kind: store.KindCheck, MaxAttempts: 3}
			if err := st.CreateJob(ctx, &j); err != nil {
				t.Fatal(err)
			}
			if err := dead.Enqueue(ctx, j); err != nil {
				t.Fatal(err)
			}
			if j, err = st.JobByID(ctx, j.ID); err != nil || j.RiverID == nil {
				t.Fatalf("job after enqueue: %+v, %v", j, err)
			}
			var fetched any = time.Now().Add(-time.Minute).UTC()
			if dialect == store.SQLite {
				fetched = time.Now().Add(-time.Minute).UTC().Format("2006-01-02 15:04:05.000") // River's SQLite format
			}
			if _, err := st.WriteDB().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = $1
				WHERE id = $2`, fetched, *j.RiverID); err != nil {
				t.Fatal(err)
			}

			live, err := jobs.New(ctx, st, handlers, opts, nil, logger)
			if err != nil {
				t.Fatal(err)
			}
			if err := live.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = live.Stop(context.Background()) })
			select {
			case <-ran:
			case <-time.After(30 * time.Second):
				got, _ := st.JobByID(ctx, j.ID)
				t.Fatalf("the stranded job never ran: %+v", got)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				got, err := st.JobByID(ctx, j.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State == store.JobSucceeded {
					if got.Attempts != 2 || got.Node != live.Node() {
						t.Fatalf("job = %+v; want succeeded on attempt 2 on node %s", got, live.Node())
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("job after it ran: %+v", got)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
