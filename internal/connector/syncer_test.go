package connector

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/sqlite"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/store"
	"github.com/junction-hub/junction/internal/syncer"
)

// seedItems creates a SQLite source with n rows in the table items.
func seedItems(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "source.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec(fmt.Sprintf(`
		CREATE TABLE items (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL, qty INTEGER, updated_at DATETIME NOT NULL);
		WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d)
		INSERT INTO items SELECT x, printf('SKU-%%08d', x), 'Product number ' || x, x %% 1000,
			datetime('2026-01-01', '+' || (x / 10) || ' seconds') FROM c;`, n))
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// killer is the sqlite driver, except that once armed it kills every connection of the
// server after its read's killAt-th checkpoint has gone out, as a crashing connector would.
type killer struct {
	driver.Driver
	killAt int
	armed  atomic.Bool
	kill   func()
}

func (k *killer) Read(ctx context.Context, cfg driver.Config, req driver.ReadRequest, out driver.Emitter) error {
	if !k.armed.Load() {
		return k.Driver.Read(ctx, cfg, req, out)
	}
	return k.Driver.Read(ctx, cfg, req, &killingEmitter{Emitter: out, k: k})
}

type killingEmitter struct {
	driver.Emitter
	k    *killer
	seen int
}

func (e *killingEmitter) Checkpoint(ctx context.Context, cursor string) error {
	if err := e.Emitter.Checkpoint(ctx, cursor); err != nil {
		return err
	}
	if e.seen++; e.seen == e.k.killAt && e.k.armed.CompareAndSwap(true, false) {
		e.k.kill()
		return errors.New("killed")
	}
	return nil
}

// TestSyncThroughRemoteConnector mirrors 100,000 records through a connector served on
// 127.0.0.1:0, using the syncer exactly as jobs do, with the connector killed mid-read
// once: the first attempt fails as transient, the retry resumes from the last checkpoint,
// and every record arrives once.
func TestSyncThroughRemoteConnector(t *testing.T) {
	const pageSize = 1000
	n := int64(100_000)
	if raceEnabled || testing.Short() {
		n = 20_000
	}
	ctx := t.Context()
	src := seedItems(t, int(n))
	k := &killer{Driver: sqlite.New(), killAt: int(n / pageSize / 3)}
	k.armed.Store(true)
	srv := serve(t, Handler(k, HandlerOptions{}))
	k.kill = srv.CloseClientConnections
	client := dial(t, srv.URL, Options{})

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "junction.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ws, err := st.EnsureWorkspace(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := driver.Config{Credentials: driver.Values{"path": src}, Settings: driver.Values{}}
	conn := store.Connection{WorkspaceID: ws.ID, Name: "remote", Driver: "sqlite", Status: store.StatusActive,
		CredentialsSealed: "unused", Settings: map[string]any{}}
	job := store.Job{WorkspaceID: ws.ID, Kind: store.KindSync, MaxAttempts: 3}
	if err := st.CreateConnection(ctx, &conn, &job); err != nil {
		t.Fatal(err)
	}
	sy := &syncer.Syncer{Store: st, PageSize: pageSize}
	run := syncer.Run{Job: job, Connection: conn, Driver: client.Driver(), Config: cfg, Mode: syncer.ModeFull,
		Log: jobs.NewLog(st, job.ID, slog.New(slog.NewTextHandler(io.Discard, nil)))}

	err = sy.Sync(ctx, run)
	if !errors.Is(err, driver.ErrTransient) || driver.IsConfig(err) {
		t.Fatalf("first attempt = %v, want a transient error (the connector died)", err)
	}
	first, _ := st.JobByID(ctx, job.ID)
	if first.Counters.Read == 0 || first.Counters.Read >= n {
		t.Fatalf("first attempt committed %d records, want some but not all", first.Counters.Read)
	}

	if err := sy.Sync(ctx, run); err != nil { // the job's retry
		t.Fatalf("retry: %v", err)
	}
	live, err := st.CountRecords(ctx, conn.ID, "items", "live")
	if err != nil || live != n {
		t.Fatalf("%d live records (%v), want %d", live, err, n)
	}
	got, _ := st.JobByID(ctx, job.ID)
	// The retry resumed: it read at most the pages after the last checkpoint again.
	if got.Counters.Read < n || got.Counters.Read > n+2*pageSize {
		t.Errorf("read %d records over both attempts (first %d), want %d plus at most two pages", got.Counters.Read, first.Counters.Read, n)
	}
	if got.Counters.Inserted != n {
		t.Errorf("inserted %d, want %d: a record was lost or doubled", got.Counters.Inserted, n)
	}
}

// BenchmarkRemoteRead reads 100,000 records through a connector and reports the peak heap
// seen at checkpoints: it stays flat as N grows, because nothing holds more than a line.
func BenchmarkRemoteRead(b *testing.B) {
	src := seedItems(b, 100_000)
	srv := serve(b, Handler(sqlite.New(), HandlerOptions{}))
	c := dial(b, srv.URL, Options{})
	cfg := driver.Config{Credentials: driver.Values{"path": src}}
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		e := &heapEmitter{}
		if err := c.Read(b.Context(), cfg, driver.ReadRequest{Entity: "items", Mode: driver.ReadFull, PageSize: 1000}, e); err != nil {
			b.Fatal(err)
		}
		if e.records != 100_000 {
			b.Fatalf("%d records", e.records)
		}
		peak = max(peak, e.peak)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/record")
}

type heapEmitter struct {
	records int
	peak    uint64
}

func (e *heapEmitter) Record(context.Context, driver.Record) error { e.records++; return nil }
func (e *heapEmitter) Delete(context.Context, string) error        { return nil }
func (e *heapEmitter) Log(context.Context, string)                 {}
func (e *heapEmitter) Checkpoint(context.Context, string) error {
	if e.records%20_000 == 0 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		e.peak = max(e.peak, m.HeapInuse)
	}
	return nil
}
