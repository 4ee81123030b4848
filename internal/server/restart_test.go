package server_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/junction-hub/junction/internal/server/servertest"
)

// seedSQLite makes a SQLite source with n items.
func seedSQLite(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "source.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, updated_at TIMESTAMP NOT NULL);
		WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ` + fmt.Sprint(n) + `)
		INSERT INTO items SELECT i, 'item ' || i, i * 0.5, '2026-01-01 00:00:00' FROM g;`); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKilledServerResumesJob kills `junction serve` with SIGKILL in the middle of a sync and
// restarts it: the job must be retried from its checkpoint, not lost, not left running,
// and the mirror must hold every row exactly once.
func TestKilledServerResumesJob(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const rows = 60000
	bin := buildJunction(t)
	source := seedSQLite(t, rows)
	dataDir := t.TempDir()
	token := "jct_restart_test_token_0123456789"
	addr := freeAddr(t)
	// Small pages make the sync long enough to be killed in the middle.
	p := startProcess(t, bin, dataDir, token, addr, "--page-size", "200")
	client := &servertest.Instance{URL: "http://" + addr, Token: token}

	var created connWithJob
	if code := client.Do(t, "POST", "/api/v1/connections", map[string]any{
		"name": "items", "driver": "sqlite", "credentials": map[string]any{"path": source},
	}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	jobID := *created.JobID
	// Kill once some pages are committed, but well before the end.
	deadline := time.Now().Add(time.Minute)
	for {
		var j servertest.Job
		client.Do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", jobID), nil, &j)
		if j.Progress.Read >= 2000 {
			if j.State != "running" || j.Progress.Read >= rows {
				t.Fatalf("sync was not caught mid-way: %+v", j)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sync made no progress: %+v", j)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.kill(t)

	startProcess(t, bin, dataDir, token, addr, "--page-size", "200")
	j := client.WaitJob(t, jobID, 2*time.Minute)
	if j.State != "succeeded" || j.Attempts < 2 {
		t.Fatalf("after restart: %+v; want succeeded on a second attempt", j)
	}
	// Counters commit with the pages: after the crash they still add up to each row once.
	if j.Progress.Inserted != rows || j.Progress.Read != rows {
		t.Fatalf("counters after restart: %+v; want %d read and inserted", j.Progress, rows)
	}
	var resumed bool
	for _, l := range j.Log {
		resumed = resumed || strings.Contains(l.Message, "resuming")
	}
	if !resumed {
		t.Fatalf("the job did not resume from a checkpoint: %+v", j.Log)
	}
	// Every row mirrored once: count by paging the API.
	seen := map[string]bool{}
	after := ""
	for {
		var page struct {
			Records []struct{ Key string } `json:"records"`
			Next    string                 `json:"next"`
		}
		client.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d/records?limit=1000&after=%s", created.Connection.ID, after), nil, &page)
		for _, r := range page.Records {
			if seen[r.Key] {
				t.Fatalf("record %s twice", r.Key)
			}
			seen[r.Key] = true
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(seen) != rows {
		t.Fatalf("%d records mirrored, want %d", len(seen), rows)
	}
}
