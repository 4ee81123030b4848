package server_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
)

// TestCatalogChanges alters a real SQLite source between syncs: every change is kept as a
// dated diff, and a removed cursor column or a changed key stops that entity's sync with a
// message a person can act on, until they ask for a full sync.
func TestCatalogChanges(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	path := filepath.Join(t.TempDir(), "shop.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMP);
		CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL);
		INSERT INTO items VALUES (1, 'a', '2026-01-01 00:00:00'), (2, 'b', '2026-01-01 00:00:00');
		INSERT INTO orders VALUES (1, 9.5);`)
	c := createSQLite(t, srv, "shop", path)
	id := c.Connection.ID
	if j := srv.WaitJob(t, *c.JobID, time.Minute); j.State != "succeeded" {
		t.Fatalf("first sync: %+v", j)
	}
	sync := func(mode string) servertest.Job {
		t.Helper()
		var ref struct {
			JobID int64 `json:"job_id"`
		}
		if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync?mode=%s", id, mode), nil, &ref); code != http.StatusAccepted {
			t.Fatalf("sync: %d", code)
		}
		return srv.WaitJob(t, ref.JobID, time.Minute)
	}
	changes := func() []string {
		t.Helper()
		var out struct {
			Changes []struct {
				Kind, Entity, Name, Detail string
				JobID                      *int64 `json:"job_id"`
			} `json:"changes"`
		}
		if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d/catalog/changes", id), nil, &out); code != http.StatusOK {
			t.Fatalf("changes: %d", code)
		}
		var s []string
		for _, c := range out.Changes {
			if c.JobID == nil {
				t.Fatalf("change without its job: %+v", c)
			}
			s = append(s, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", c.Kind, c.Entity, c.Name, c.Detail)))
		}
		return s
	}
	if got := changes(); len(got) != 0 {
		t.Fatalf("changes after the first sync: %v", got)
	}

	// Added and removed entities and attributes are kept; the sync goes on.
	exec(`ALTER TABLE items ADD COLUMN colour TEXT; DROP TABLE orders; CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);`)
	if j := sync("auto"); j.State != "succeeded" || j.Progress.Gone != 1 {
		t.Fatalf("sync after harmless changes: %+v; want the one order gone with its table", j)
	}
	var orders struct {
		Records []struct{ Key, State string } `json:"records"`
	}
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d/records?entity=orders", id), nil, &orders)
	if len(orders.Records) != 1 || orders.Records[0].State != "gone" {
		t.Fatalf("orders after the table went: %+v, want the record kept as gone", orders.Records)
	}
	want := "entity_removed orders|attribute_added items colour string|entity_added customers  2 attributes" // newest first
	if got := strings.Join(changes(), "|"); got != want {
		t.Fatalf("changes = %s\nwant %s", got, want)
	}

	// The cursor column goes: the items sync stops with a clear message; customers still syncs.
	exec(`ALTER TABLE items DROP COLUMN updated_at; INSERT INTO customers VALUES (1, 'Ada');`)
	j := sync("auto")
	if j.State != "failed" || j.Attempts != 1 || !strings.Contains(j.Error, `items: `) || !strings.Contains(j.Error, `the cursor column "updated_at" was removed`) {
		t.Fatalf("sync without the cursor column: %+v", j)
	}
	var conn struct {
		Health struct{ State, Message string } `json:"health"`
	}
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", id), nil, &conn)
	if conn.Health.State != "failing" || !strings.Contains(conn.Health.Message, "cursor column") {
		t.Fatalf("health = %+v, want failing with the reason", conn.Health)
	}
	var recs struct {
		Records []struct{ Key string } `json:"records"`
	}
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d/records?entity=customers", id), nil, &recs)
	if len(recs.Records) != 1 {
		t.Fatalf("customers were not synced beside the failing entity: %+v", recs)
	}
	if got := strings.Join(changes()[:2], "|"); got != `attribute_removed items updated_at datetime|cursor_changed items  "updated_at" → ""` {
		t.Fatalf("latest changes = %s", got)
	}
	// A second automatic sync must not guess either.
	if j := sync("auto"); j.State != "failed" {
		t.Fatalf("second sync without the cursor column: %+v", j)
	}
	// A full sync, asked for by a person, starts over on the new shape.
	if j := sync("full"); j.State != "succeeded" {
		t.Fatalf("full sync: %+v", j)
	}

	// The key changes: stop again until a full sync.
	exec(`CREATE TABLE items2 (code TEXT PRIMARY KEY, name TEXT, colour TEXT); INSERT INTO items2 VALUES ('x', 'a', NULL);
		DROP TABLE items; ALTER TABLE items2 RENAME TO items;`)
	j = sync("auto")
	if j.State != "failed" || !strings.Contains(j.Error, `the key changed from ["id"] to ["code"]`) {
		t.Fatalf("sync with a changed key: %+v", j)
	}
	if j := sync("full"); j.State != "succeeded" || j.Progress.Gone != 2 || j.Progress.Inserted != 1 {
		t.Fatalf("full sync on the new key: %+v; want the 2 old items gone and 1 new", j)
	}
}
