package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/testdb"
)

// eachStore runs a test against a fresh SQLite store and a fresh PostgreSQL store: the
// one suite both dialects must pass.
func eachStore(t *testing.T, test func(t *testing.T, s *Store)) {
	t.Helper()
	for _, dialect := range []Dialect{SQLite, Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			s := OpenTest(t, dialect)
			test(t, s)
		})
	}
}

// OpenTest opens a fresh store of the dialect for one test.
func OpenTest(t testing.TB, dialect Dialect) *Store {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "junction.db")
	if dialect == Postgres {
		dsn, _ = testdb.Postgres(t)
	}
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newConnection(t *testing.T, s *Store, ws int64, name string) (Connection, Job) {
	t.Helper()
	c := Connection{WorkspaceID: ws, Name: name, Driver: "sqlite", Status: StatusActive,
		CredentialsSealed: "k:sealed", Settings: map[string]any{"tables": "a"}}
	j := Job{WorkspaceID: ws, Kind: KindSync, MaxAttempts: 3}
	if err := s.CreateConnection(context.Background(), &c, &j); err != nil {
		t.Fatal(err)
	}
	return c, j
}

func TestConnections(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws1, _ := s.EnsureWorkspace(ctx, "one")
		ws2, _ := s.EnsureWorkspace(ctx, "two")
		again, _ := s.EnsureWorkspace(ctx, "one")
		if again.ID != ws1.ID {
			t.Fatalf("EnsureWorkspace made a second %q", "one")
		}
		c, j := newConnection(t, s, ws1.ID, "shop")
		if j.ConnectionID == nil || *j.ConnectionID != c.ID || j.State != JobPending {
			t.Fatalf("job not tied to the new connection: %+v", j)
		}
		dup := Connection{WorkspaceID: ws1.ID, Name: "shop", Driver: "sqlite", Status: StatusActive, CredentialsSealed: "x", Settings: map[string]any{}}
		if err := s.CreateConnection(ctx, &dup, &Job{WorkspaceID: ws1.ID, Kind: KindSync, MaxAttempts: 1}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate name: err = %v, want ErrConflict", err)
		}
		if jobs, _ := s.ListJobs(ctx, JobFilter{WorkspaceID: ws1.ID}); len(jobs) != 1 {
			t.Fatalf("failed create left %d jobs, want 1", len(jobs))
		}
		if _, err := s.GetConnection(ctx, ws2.ID, c.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other workspace sees connection: %v", err)
		}
		if list, _ := s.ListConnections(ctx, ws2.ID); len(list) != 0 {
			t.Fatalf("other workspace lists %d connections", len(list))
		}
		got, err := s.GetConnection(ctx, ws1.ID, c.ID)
		if err != nil || got.Name != "shop" || got.Settings["tables"] != "a" || got.Health != HealthOK {
			t.Fatalf("GetConnection = %+v, %v", got, err)
		}
		got.Name = "renamed"
		if err := s.UpdateConnection(ctx, &got, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetConnectionStatus(ctx, ws1.ID, c.ID, StatusInactive, nil, nil); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetConnection(ctx, ws1.ID, c.ID)
		if got.Name != "renamed" || got.Status != StatusInactive {
			t.Fatalf("after update: %+v", got)
		}
	})
}

func page(ws, conn, job int64, cursor string, recs ...[2]string) Page {
	p := Page{WorkspaceID: ws, ConnectionID: conn, JobID: job, Entity: "items", Cursor: cursor}
	for _, r := range recs {
		p.Records = append(p.Records, PageRecord{Key: r[0], Fields: []byte(`{"v":"` + r[1] + `"}`), Hash: r[1]})
	}
	return p
}

func TestSyncPagesAndGone(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		c, j1 := newConnection(t, s, ws.ID, "c")

		run, err := s.BeginEntitySync(ctx, c.ID, "items", j1.ID, "full", time.Time{})
		if err != nil || run.Resumed || run.Cursor != "" {
			t.Fatalf("begin = %+v, %v", run, err)
		}
		got, err := s.ApplyPage(ctx, page(ws.ID, c.ID, j1.ID, "c1", [2]string{"1", "a"}, [2]string{"2", "b"}, [2]string{"3", "c"}))
		if err != nil || got != (Counters{Read: 3, Inserted: 3}) {
			t.Fatalf("first page = %+v, %v", got, err)
		}
		// The same job beginning again (a retry after a crash) resumes at the checkpoint.
		run, _ = s.BeginEntitySync(ctx, c.ID, "items", j1.ID, "full", time.Time{})
		if !run.Resumed || run.Cursor != "c1" {
			t.Fatalf("resume = %+v, want cursor c1", run)
		}
		if _, err := s.FinishEntitySync(ctx, c.ID, "items", j1.ID, `["id"]`, ""); err != nil {
			t.Fatal(err)
		}

		// Second full sync: 1 unchanged, 2 changed, 3 missing → gone, 4 new.
		j2 := Job{WorkspaceID: ws.ID, ConnectionID: &c.ID, Kind: KindSync, MaxAttempts: 1}
		if err := s.CreateJob(ctx, &j2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BeginEntitySync(ctx, c.ID, "items", j2.ID, "full", time.Time{}); err != nil {
			t.Fatal(err)
		}
		got, err = s.ApplyPage(ctx, page(ws.ID, c.ID, j2.ID, "c2", [2]string{"1", "a"}, [2]string{"2", "B"}, [2]string{"4", "d"}))
		if err != nil || got != (Counters{Read: 3, Inserted: 1, Updated: 1, Unchanged: 1}) {
			t.Fatalf("second page = %+v, %v", got, err)
		}
		gone, err := s.FinishEntitySync(ctx, c.ID, "items", j2.ID, `["id"]`, "")
		if err != nil || gone != 1 {
			t.Fatalf("gone = %d, %v; want 1", gone, err)
		}
		job, _ := s.GetJob(ctx, ws.ID, j2.ID)
		if job.Counters != (Counters{Read: 3, Inserted: 1, Updated: 1, Unchanged: 1, Gone: 1}) {
			t.Fatalf("job counters = %+v", job.Counters)
		}
		recs, err := s.ListRecords(ctx, RecordFilter{WorkspaceID: ws.ID, ConnectionID: c.ID, Limit: 2})
		if err != nil || len(recs) != 2 || recs[0].Key != "1" || recs[1].Key != "2" || recs[1].Fields != `{"v":"B"}` {
			t.Fatalf("records page 1 = %+v, %v", recs, err)
		}
		recs, _ = s.ListRecords(ctx, RecordFilter{WorkspaceID: ws.ID, ConnectionID: c.ID, AfterEntity: "items", AfterKey: "2"})
		if len(recs) != 2 || recs[0].Key != "3" || recs[0].State != RecordGone || recs[0].GoneAt == nil || recs[1].Key != "4" {
			t.Fatalf("records page 2 = %+v", recs)
		}
		if n, _ := s.CountRecords(ctx, c.ID, "items", RecordLive); n != 3 {
			t.Fatalf("live records = %d, want 3", n)
		}
		// An incremental run starts from the finished cursor.
		j3 := Job{WorkspaceID: ws.ID, ConnectionID: &c.ID, Kind: KindSync, MaxAttempts: 1}
		_ = s.CreateJob(ctx, &j3)
		run, _ = s.BeginEntitySync(ctx, c.ID, "items", j3.ID, "incremental", time.Time{})
		if run.Mode != "incremental" || run.Cursor != "c2" {
			t.Fatalf("incremental run = %+v, want from cursor c2", run)
		}
		// When the last full sync is older than asked, an incremental sync becomes a full one.
		j4 := Job{WorkspaceID: ws.ID, ConnectionID: &c.ID, Kind: KindSync, MaxAttempts: 1}
		_ = s.CreateJob(ctx, &j4)
		run, _ = s.BeginEntitySync(ctx, c.ID, "items", j4.ID, "incremental", time.Now().Add(time.Hour))
		if run.Mode != "full" || run.Cursor != "" {
			t.Fatalf("incremental after an old full sync = %+v, want full", run)
		}
		// An entity never synced has no cursor: its first incremental sync is a full one.
		run, _ = s.BeginEntitySync(ctx, c.ID, "other", j4.ID, "incremental", time.Time{})
		if run.Mode != "full" {
			t.Fatalf("first incremental sync of an entity = %+v, want full", run)
		}

		if err := s.PurgeConnection(ctx, c.ID, nil); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountRecords(ctx, c.ID, "", ""); n != 0 {
			t.Fatalf("%d records left after purge", n)
		}
		if _, err := s.GetConnection(ctx, ws.ID, c.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("connection still there after purge: %v", err)
		}
		if _, _, err := s.GetCatalog(ctx, ws.ID, c.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("catalog after purge: %v", err)
		}
	})
}

func TestJobs(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		c, j := newConnection(t, s, ws.ID, "c")

		again, created, err := s.CreateJobUnlessActive(ctx, &Job{WorkspaceID: ws.ID, ConnectionID: &c.ID, Kind: KindSync, MaxAttempts: 1})
		if err != nil || created || again.ID != j.ID {
			t.Fatalf("second sync while one is pending: created=%v id=%d, want the pending %d", created, again.ID, j.ID)
		}
		ok, err := s.StartJob(ctx, j.ID, 1, "node-a")
		if err != nil || !ok {
			t.Fatalf("StartJob = %v, %v", ok, err)
		}
		if lost, _ := s.LostJobs(ctx, time.Now().Add(-time.Minute)); len(lost) != 0 {
			t.Fatalf("a fresh heartbeat counts as lost")
		}
		lost, _ := s.LostJobs(ctx, time.Now().Add(time.Second))
		if len(lost) != 1 {
			t.Fatalf("lost jobs = %d, want 1", len(lost))
		}
		if ok, err := s.RequeueLostJob(ctx, lost[0], time.Now().Add(time.Second)); err != nil || !ok {
			t.Fatalf("requeue = %v, %v", ok, err)
		}
		if got, _ := s.GetJob(ctx, ws.ID, j.ID); got.State != JobPending || got.MaxAttempts != j.MaxAttempts+1 {
			t.Fatalf("requeued job = %s with %d attempts allowed; want pending with the lost attempt given back (%d)",
				got.State, got.MaxAttempts, j.MaxAttempts+1)
		}
		_, _ = s.StartJob(ctx, j.ID, 2, "node-b")
		if err := s.AppendJobLog(ctx, j.ID, "info", "hello"); err != nil {
			t.Fatal(err)
		}
		if cancel, _ := s.Heartbeat(ctx, j.ID); cancel {
			t.Fatal("cancel requested without asking")
		}
		if _, err := s.RequestCancel(ctx, ws.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		if cancel, _ := s.Heartbeat(ctx, j.ID); !cancel {
			t.Fatal("heartbeat did not report the cancel")
		}
		if err := s.FinishJob(ctx, j.ID, JobCancelled, ""); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.StartJob(ctx, j.ID, 3, "node-a"); ok {
			t.Fatal("a finished job started again")
		}
		got, _ := s.GetJob(ctx, ws.ID, j.ID)
		if got.State != JobCancelled || got.Attempts != 2 || got.FinishedAt == nil {
			t.Fatalf("job = %+v", got)
		}
		lines, _ := s.JobLog(ctx, j.ID, 0, 10)
		if len(lines) != 1 || lines[0].Message != "hello" {
			t.Fatalf("log = %+v", lines)
		}
		ws2, _ := s.EnsureWorkspace(ctx, "other")
		if _, err := s.GetJob(ctx, ws2.ID, j.ID); !errors.Is(err, ErrNotFound) {
			t.Fatal("job visible from another workspace")
		}
	})
}

func TestApplyPageRepeatedKey(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		c, j := newConnection(t, s, ws.ID, "c")
		if _, err := s.BeginEntitySync(ctx, c.ID, "items", j.ID, "full", time.Time{}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ApplyPage(ctx, page(ws.ID, c.ID, j.ID, "x", [2]string{"1", "a"}, [2]string{"1", "b"}, [2]string{"1", "b"}))
		if err != nil {
			t.Fatal(err)
		}
		if got.Inserted != 1 || got.Updated != 1 || got.Unchanged != 1 {
			t.Fatalf("counters = %+v, want 1 inserted, 1 updated, 1 unchanged", got)
		}
		recs, _ := s.ListRecords(ctx, RecordFilter{WorkspaceID: ws.ID, ConnectionID: c.ID})
		if len(recs) != 1 || recs[0].Fields != `{"v":"b"}` {
			t.Fatalf("records = %+v, want one with the last value", recs)
		}
	})
}
