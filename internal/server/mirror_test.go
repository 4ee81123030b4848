package server_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/testdb"
)

// Helpers shared by the durability tests (crash_test.go, scaleout_test.go,
// transient_test.go): a PostgreSQL source table that changes, and a row-by-row comparison
// of the mirror, read over the API, with that table.

// itemsSource is a fresh PostgreSQL database with a table items(id, name, qty, price,
// updated_at), indexed on (updated_at, id) as a real table read incrementally would be.
type itemsSource struct {
	name   string  // database name
	db     *sql.DB // admin connection (trusted), for seeding, changing and reading
	user   string  // the password role the connection logs in as
	pass   string
	nextID int64 // the next id an insert uses
}

func seedItems(t *testing.T, rows int) *itemsSource {
	t.Helper()
	dsn, name := testdb.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// updated_at starts in the past, so every change (clock_timestamp()) moves a row forward.
	if _, err := db.Exec(fmt.Sprintf(`
		CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, qty INT NOT NULL, price NUMERIC(10,2) NOT NULL,
			updated_at TIMESTAMPTZ NOT NULL);
		INSERT INTO items SELECT g, 'item ' || g, g %% 1000, (g %% 10000) / 100.0 + 0.5,
			'2000-01-01'::timestamptz + g * interval '1 millisecond' FROM generate_series(1, %d) g;
		CREATE INDEX items_updated ON items (updated_at, id);
		ANALYZE items;`, rows)); err != nil {
		t.Fatal(err)
	}
	user, pass := testdb.PostgresPasswordRole(t, name)
	return &itemsSource{name: name, db: db, user: user, pass: pass, nextID: int64(rows) + 1}
}

// credentials for a postgres connection to the source.
func (s *itemsSource) credentials() map[string]any {
	return map[string]any{"host": "127.0.0.1", "port": 5432, "database": s.name, "user": s.user, "password": s.pass}
}

// mutate changes the source as a busy system would: it updates some rows (values and
// updated_at), deletes a few and inserts a few. Each statement commits on its own, one
// after the other, so updated_at grows in commit order.
func (s *itemsSource) mutate(t *testing.T, rng *rand.Rand) string {
	t.Helper()
	ids := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprint(1 + rng.Int64N(s.nextID-1))
		}
		return strings.Join(parts, ",")
	}
	updates, deletes, inserts := 1+rng.IntN(300), rng.IntN(30), rng.IntN(100)
	exec := func(q string, args ...any) int64 {
		t.Helper()
		res, err := s.db.Exec(q, args...)
		if err != nil {
			t.Fatalf("change the source: %v", err)
		}
		n, _ := res.RowsAffected()
		return n
	}
	u := exec(`UPDATE items SET qty = qty + 1, name = name || '*', price = price + 1, updated_at = clock_timestamp()
		WHERE id IN (` + ids(updates) + `)`)
	var d int64
	if deletes > 0 {
		d = exec(`DELETE FROM items WHERE id IN (` + ids(deletes) + `)`)
	}
	if inserts > 0 {
		exec(`INSERT INTO items SELECT g, 'new item ' || g, g % 7, 9.99, clock_timestamp() FROM generate_series($1::bigint, $2::bigint) g`,
			s.nextID, s.nextID+int64(inserts)-1)
		s.nextID += int64(inserts)
	}
	return fmt.Sprintf("%d updated, %d deleted, %d inserted", u, d, inserts)
}

// item is a source row as the mirror should hold it.
type item struct {
	name, price string
	qty         int64
	updatedAt   time.Time
}

func (s *itemsSource) rows(t *testing.T) map[string]item {
	t.Helper()
	rows, err := s.db.Query(`SELECT id, name, qty, price::text, updated_at FROM items`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]item{}
	for rows.Next() {
		var id int64
		var it item
		if err := rows.Scan(&id, &it.name, &it.qty, &it.price, &it.updatedAt); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint(id)] = it
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// terminateBackends ends every session on the source database but the caller's, as a
// database restart or a failover would.
func (s *itemsSource) terminateBackends(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()) x`, s.name).Scan(&n); err != nil {
		t.Fatalf("terminate backends: %v", err)
	}
	return n
}

// mirrored is a record as the API lists it.
type mirrored struct {
	Entity string          `json:"entity"`
	Key    string          `json:"key"`
	Fields json.RawMessage `json:"fields"`
	Hash   string          `json:"hash"`
	State  string          `json:"state"`
}

// readMirror pages through every record of a connection over the API; a record listed
// twice fails the test.
func readMirror(t *testing.T, c *servertest.Instance, connID int64) map[string]mirrored {
	t.Helper()
	out := map[string]mirrored{}
	after := ""
	for {
		var page struct {
			Records []mirrored `json:"records"`
			Next    string     `json:"next"`
		}
		if code := c.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d/records?limit=1000&after=%s", connID, url.QueryEscape(after)), nil, &page); code != http.StatusOK {
			t.Fatalf("records: %d", code)
		}
		for _, r := range page.Records {
			id := r.Entity + "/" + r.Key
			if _, dup := out[id]; dup {
				t.Fatalf("record %s listed twice", id)
			}
			out[id] = r
		}
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
}

// compareMirror checks the mirror against the source row by row: every source row is
// mirrored live with equal fields, every other mirrored record is gone, and nothing is
// listed twice. It returns the mirror.
func compareMirror(t *testing.T, c *servertest.Instance, connID int64, src *itemsSource) map[string]mirrored {
	t.Helper()
	source := src.rows(t)
	mirror := readMirror(t, c, connID)
	live := 0
	for id, r := range mirror {
		if r.Entity != "items" {
			t.Fatalf("record %s of an unknown entity", id)
		}
		want, ok := source[r.Key]
		if !ok {
			if r.State != "gone" {
				t.Fatalf("record %s was deleted at the source but is %s in the mirror", id, r.State)
			}
			continue
		}
		live++
		if r.State != "live" {
			t.Fatalf("record %s exists at the source but is %s in the mirror", id, r.State)
		}
		var f struct {
			ID        json.Number `json:"id"`
			Name      string      `json:"name"`
			Qty       json.Number `json:"qty"`
			Price     string      `json:"price"`
			UpdatedAt time.Time   `json:"updated_at"`
		}
		dec := json.NewDecoder(bytes.NewReader(r.Fields))
		dec.UseNumber()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("record %s: fields %s: %v", id, r.Fields, err)
		}
		if f.ID.String() != r.Key || f.Name != want.name || f.Qty.String() != fmt.Sprint(want.qty) || f.Price != want.price ||
			!f.UpdatedAt.Equal(want.updatedAt) {
			t.Fatalf("record %s mirrored as %s; the source has %+v", id, r.Fields, want)
		}
	}
	if live != len(source) {
		for key := range source {
			if _, ok := mirror["items/"+key]; !ok {
				t.Fatalf("source row %s is not mirrored (%d of %d rows mirrored)", key, live, len(source))
			}
		}
	}
	return mirror
}

// jobInfo is a job as the list and the detail show it, with the node.
type jobInfo struct {
	servertest.Job
	Node string `json:"node"`
}

func getJob(t *testing.T, c *servertest.Instance, id int64) jobInfo {
	t.Helper()
	var j jobInfo
	if code := c.Do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", id), nil, &j); code != http.StatusOK {
		t.Fatalf("GET job %d: %d", id, code)
	}
	return j
}

// listJobs returns the jobs of a connection (0: all), newest first.
func listJobs(t *testing.T, c *servertest.Instance, connID int64) []jobInfo {
	t.Helper()
	var list struct {
		Jobs []jobInfo `json:"jobs"`
	}
	path := "/api/v1/jobs?limit=500"
	if connID != 0 {
		path += fmt.Sprintf("&connection=%d", connID)
	}
	if code := c.Do(t, "GET", path, nil, &list); code != http.StatusOK {
		t.Fatalf("list jobs: %d", code)
	}
	return list.Jobs
}

// waitIdle polls until no job is pending or running, and fails after the deadline.
func waitIdle(t *testing.T, c *servertest.Instance, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		busy := ""
		for _, j := range listJobs(t, c, 0) {
			if j.State == "pending" || j.State == "running" {
				busy += fmt.Sprintf(" job %d %s (read %d, attempts %d)", j.ID, j.State, j.Progress.Read, j.Attempts)
			}
		}
		if busy == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still busy after %s:%s", timeout, busy)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startSync asks for a sync of the connection and returns its job's id (an existing one
// when a sync is already pending or running).
func startSync(t *testing.T, c *servertest.Instance, connID int64, mode string) (int64, bool) {
	t.Helper()
	var ref struct {
		JobID    int64 `json:"job_id"`
		Existing bool  `json:"existing"`
	}
	if code := c.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync?mode=%s", connID, mode), nil, &ref); code != http.StatusAccepted {
		t.Fatalf("sync %s: %d", mode, code)
	}
	return ref.JobID, ref.Existing
}

// createPostgres creates a connection to the source and returns it with its initial sync.
func createPostgres(t *testing.T, c *servertest.Instance, name string, src *itemsSource, settings map[string]any) connWithJob {
	t.Helper()
	var raw json.RawMessage
	body := map[string]any{"name": name, "driver": "postgres", "credentials": src.credentials(), "settings": settings}
	code := c.Do(t, "POST", "/api/v1/connections", body, &raw)
	var created connWithJob
	if err := json.Unmarshal(raw, &created); code != http.StatusCreated || err != nil || created.JobID == nil {
		t.Fatalf("create %s: %d %s", name, code, raw)
	}
	return created
}
