package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/testdb"
)

// seedShop fills a fresh PostgreSQL database with 3 tables and 50,000 rows, and returns its name.
func seedShop(t *testing.T) string {
	t.Helper()
	dsn, name := testdb.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec(`
		CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped');
		CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT NOT NULL, email TEXT, updated_at TIMESTAMPTZ NOT NULL);
		CREATE TABLE products (sku TEXT PRIMARY KEY, title TEXT NOT NULL, price NUMERIC(10,2) NOT NULL, stock INT NOT NULL,
			active BOOLEAN NOT NULL, updated_at TIMESTAMPTZ NOT NULL);
		CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL REFERENCES customers(id), status order_status NOT NULL,
			total NUMERIC(12,2) NOT NULL, placed_on DATE NOT NULL, updated_at TIMESTAMPTZ NOT NULL);
		INSERT INTO customers (name, email, updated_at)
			SELECT 'Customer ' || g, 'c' || g || '@example.com', '2026-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 10000) g;
		INSERT INTO products
			SELECT 'SKU-' || lpad(g::text, 6, '0'), 'Product ' || g, (g % 1000) + 0.99, g % 50, g % 7 <> 0,
				'2026-02-01'::timestamptz + (g / 100) * interval '1 minute' FROM generate_series(1, 15000) g;
		INSERT INTO orders
			SELECT g, 1 + g % 10000, (ARRAY['new','paid','shipped'])[1 + g % 3]::order_status, g * 1.25, '2026-03-01'::date + g % 200,
				'2026-03-01'::timestamptz FROM generate_series(1, 25000) g;`)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

type conn struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Driver      string         `json:"driver"`
	Status      string         `json:"status"`
	Credentials map[string]any `json:"credentials"`
	Health      struct {
		State string `json:"state"`
	} `json:"health"`
}

type connWithJob struct {
	Connection conn   `json:"connection"`
	JobID      *int64 `json:"job_id"`
}

type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func (p problem) names(field string) bool {
	for _, e := range p.Errors {
		if e.Location == field {
			return true
		}
	}
	return false
}

// TestConnectionLifecycle is the core issue's end-to-end test: everything over HTTP, on
// both stores.
func TestConnectionLifecycle(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			srv := servertest.Start(t, servertest.Options{Postgres: store == "postgres"})
			shop := seedShop(t)
			user, password := testdb.PostgresPasswordRole(t, shop)
			lifecycle(t, srv, store, shop, user, password)
		})
	}
}

func lifecycle(t *testing.T, srv *servertest.Instance, storeName, shop, user, password string) {
	// No token, no entry.
	if code := srv.DoWithToken(t, "", "GET", "/api/v1/connections", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d, want 401", code)
	}
	if code := srv.DoWithToken(t, "jct_wrong", "GET", "/api/v1/connections", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("with a wrong token: %d, want 401", code)
	}

	var drivers struct {
		Drivers []struct {
			Name        string `json:"name"`
			Credentials []struct {
				Name   string `json:"name"`
				Type   string `json:"type"`
				Secret bool   `json:"secret"`
			} `json:"credentials"`
		} `json:"drivers"`
	}
	srv.Do(t, "GET", "/api/v1/drivers", nil, &drivers)
	var names []string
	for _, d := range drivers.Drivers {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "mysql") || !strings.Contains(got, "postgres") || !strings.Contains(got, "sqlite") {
		t.Fatalf("drivers = %s, want mysql, postgres and sqlite", got)
	}

	creds := map[string]any{"host": "127.0.0.1", "port": 5432, "database": shop, "user": user, "password": "wrong-" + password}
	input := map[string]any{"name": "Shop", "driver": "postgres", "credentials": creds, "description": "the web shop"}

	// A wrong password: 422 naming the field, nothing stored.
	var p problem
	if code := srv.Do(t, "POST", "/api/v1/connections", input, &p); code != http.StatusUnprocessableEntity || !p.names("credentials.password") {
		t.Fatalf("wrong password: %d %+v, want 422 naming credentials.password", code, p)
	}
	var list struct {
		Connections []conn `json:"connections"`
	}
	srv.Do(t, "GET", "/api/v1/connections", nil, &list)
	var jobs struct {
		Jobs []servertest.Job `json:"jobs"`
	}
	srv.Do(t, "GET", "/api/v1/jobs", nil, &jobs)
	if len(list.Connections) != 0 || len(jobs.Jobs) != 0 {
		t.Fatalf("a failed create stored %d connections and %d jobs", len(list.Connections), len(jobs.Jobs))
	}

	// Right credentials: 201, active, and the initial sync's job.
	creds["password"] = password
	var created connWithJob
	began := time.Now()
	if code := srv.Do(t, "POST", "/api/v1/connections", input, &created); code != http.StatusCreated || created.JobID == nil {
		t.Fatalf("create: %d %+v", code, created)
	}
	if created.Connection.Status != "active" || created.Connection.Credentials["password"] != "********" {
		t.Fatalf("created connection = %+v; want active with the password masked", created.Connection)
	}
	job := srv.WaitJob(t, *created.JobID, 5*time.Minute)
	took := time.Since(began)
	if job.State != "succeeded" {
		t.Fatalf("initial sync %s: %s %+v", job.State, job.Error, job.Log)
	}
	t.Logf("FIGURE initial sync of 50,000 rows into the %s store: %s (%.0f records/s)", storeName, took.Round(time.Millisecond),
		50000/took.Seconds())
	if job.Progress.Read != 50000 || job.Progress.Inserted != 50000 {
		t.Fatalf("initial sync progress = %+v, want 50,000 read and inserted", job.Progress)
	}
	id := created.Connection.ID
	checkMirror(t, srv, id, shop)
	checkCatalog(t, srv, id)

	// Edit the name; a driver change is refused.
	var edited connWithJob
	if code := srv.Do(t, "PATCH", fmt.Sprintf("/api/v1/connections/%d", id), map[string]any{"name": "Web shop"}, &edited); code != http.StatusOK || edited.Connection.Name != "Web shop" {
		t.Fatalf("rename: %d %+v", code, edited)
	}
	if code := srv.Do(t, "PATCH", fmt.Sprintf("/api/v1/connections/%d", id), map[string]any{"driver": "mysql"}, &p); code != http.StatusUnprocessableEntity || !p.names("driver") {
		t.Fatalf("driver change: %d %+v, want 422 naming driver", code, p)
	}
	var got conn
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", id), nil, &got)
	if got.Driver != "postgres" || got.Name != "Web shop" {
		t.Fatalf("after edits: %+v", got)
	}

	// Disable; a sync is refused while inactive. Enable again; delete is refused while active.
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/disable", id), nil, nil); code != http.StatusAccepted {
		t.Fatalf("disable: %d", code)
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync", id), nil, &p); code != http.StatusConflict {
		t.Fatalf("sync while inactive: %d, want 409", code)
	}
	var enabled connWithJob
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/enable", id), nil, &enabled); code != http.StatusAccepted || enabled.JobID == nil {
		t.Fatalf("enable: %d %+v", code, enabled)
	}
	if j := srv.WaitJob(t, *enabled.JobID, 5*time.Minute); j.State != "succeeded" || j.Progress.Written != 0 || j.Progress.Gone != 0 {
		t.Fatalf("incremental sync after enable: %+v; want nothing written", j)
	}
	var full struct {
		JobID int64 `json:"job_id"`
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync?mode=full", id), nil, &full); code != http.StatusAccepted {
		t.Fatalf("full sync: %d", code)
	}
	if j := srv.WaitJob(t, full.JobID, 5*time.Minute); j.State != "succeeded" || j.Progress.Read != 50000 || j.Progress.Unchanged != 50000 {
		t.Fatalf("full re-sync: %+v; want 50,000 read, all unchanged", j)
	}
	if code := srv.Do(t, "DELETE", fmt.Sprintf("/api/v1/connections/%d", id), nil, &p); code != http.StatusConflict {
		t.Fatalf("delete while active: %d, want 409", code)
	}
	srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/disable", id), nil, nil)
	var purge struct {
		JobID int64 `json:"job_id"`
	}
	if code := srv.Do(t, "DELETE", fmt.Sprintf("/api/v1/connections/%d", id), nil, &purge); code != http.StatusAccepted {
		t.Fatalf("delete: %d", code)
	}
	if j := srv.WaitJob(t, purge.JobID, 2*time.Minute); j.State != "succeeded" {
		t.Fatalf("purge: %+v", j)
	}
	for _, path := range []string{"", "/catalog", "/records"} {
		if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d%s", id, path), nil, nil); code != http.StatusNotFound {
			t.Fatalf("GET connection%s after purge: %d, want 404", path, code)
		}
	}
	srv.Do(t, "GET", "/api/v1/connections", nil, &list)
	if len(list.Connections) != 0 {
		t.Fatalf("%d connections listed after purge", len(list.Connections))
	}
	if n := countRecords(t, srv, storeName); n != 0 {
		t.Fatalf("%d records left in the store after purge", n)
	}

	// The password never shows in a log line or a job log.
	srv.Do(t, "GET", "/api/v1/jobs?limit=500", nil, &jobs)
	var all strings.Builder
	all.WriteString(srv.Logs())
	for _, j := range jobs.Jobs {
		var full servertest.Job
		srv.Do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", j.ID), nil, &full)
		fmt.Fprintf(&all, "%s %+v\n", full.Error, full.Log)
	}
	if strings.Contains(all.String(), password) {
		t.Fatal("the password appears in the server log or a job log")
	}
	if !strings.Contains(all.String(), "sync finished") {
		t.Fatal("the job logs were not read (no 'sync finished' line)")
	}
}

// checkMirror pages through every mirrored record over the API and compares it with the
// source rows.
func checkMirror(t *testing.T, srv *servertest.Instance, id int64, shop string) {
	t.Helper()
	type record struct {
		Entity string         `json:"entity"`
		Key    string         `json:"key"`
		Fields map[string]any `json:"fields"`
		Hash   string         `json:"hash"`
		State  string         `json:"state"`
	}
	got := map[string]map[string]map[string]any{}
	after := ""
	for pages := 0; ; pages++ {
		var page struct {
			Records []record `json:"records"`
			Next    string   `json:"next"`
		}
		if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d/records?limit=1000&after=%s", id, after), nil, &page); code != http.StatusOK {
			t.Fatalf("records page %d: %d", pages, code)
		}
		for _, r := range page.Records {
			if got[r.Entity] == nil {
				got[r.Entity] = map[string]map[string]any{}
			}
			if _, dup := got[r.Entity][r.Key]; dup {
				t.Fatalf("record %s/%s listed twice", r.Entity, r.Key)
			}
			if r.State != "live" || r.Hash == "" {
				t.Fatalf("record %s/%s: state %q hash %q", r.Entity, r.Key, r.State, r.Hash)
			}
			got[r.Entity][r.Key] = r.Fields
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	for entity, n := range map[string]int{"customers": 10000, "products": 15000, "orders": 25000} {
		if len(got[entity]) != n {
			t.Fatalf("%s: %d records mirrored, want %d", entity, len(got[entity]), n)
		}
	}
	db, err := sql.Open("pgx", strings.Replace(testdb.PostgresAdminURL(), "/postgres?", "/"+shop+"?", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT sku, title, price::text, stock, active FROM products`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var sku, title, price string
		var stock int64
		var active bool
		if err := rows.Scan(&sku, &title, &price, &stock, &active); err != nil {
			t.Fatal(err)
		}
		f := got["products"][sku]
		if f == nil || f["title"] != title || f["price"] != price || f["stock"] != float64(stock) || f["active"] != active {
			t.Fatalf("product %s mirrored as %v; source: %s %s %d %v", sku, f, title, price, stock, active)
		}
	}
	if f := got["orders"]["7"]; f["status"] != "paid" || f["customer_id"] != float64(8) || f["placed_on"] != "2026-03-08" {
		t.Fatalf("order 7 mirrored as %v", f)
	}
	if f := got["customers"]["42"]; f["email"] != "c42@example.com" {
		t.Fatalf("customer 42 mirrored as %v", f)
	}
}

func checkCatalog(t *testing.T, srv *servertest.Instance, id int64) {
	t.Helper()
	var cat struct {
		Entities []struct {
			Name       string   `json:"name"`
			Key        []string `json:"key"`
			Cursor     string   `json:"cursor"`
			Attributes []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				Required  bool   `json:"required"`
				Reference string `json:"reference"`
				ValueList string `json:"value_list"`
			} `json:"attributes"`
		} `json:"entities"`
		ValueLists []struct {
			Name   string `json:"name"`
			Values []struct {
				ID string `json:"id"`
			} `json:"values"`
		} `json:"value_lists"`
	}
	if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d/catalog", id), nil, &cat); code != http.StatusOK {
		t.Fatalf("catalog: %d", code)
	}
	var summary []string
	for _, e := range cat.Entities {
		s := fmt.Sprintf("%s key=%v cursor=%s:", e.Name, e.Key, e.Cursor)
		for _, a := range e.Attributes {
			s += " " + a.Name + "/" + a.Type
			if a.Reference != "" {
				s += "->" + a.Reference
			}
			if a.ValueList != "" {
				s += "[" + a.ValueList + "]"
			}
		}
		summary = append(summary, s)
	}
	want := []string{
		"customers key=[id] cursor=updated_at: id/integer name/string email/string updated_at/datetime",
		"orders key=[id] cursor=updated_at: id/integer customer_id/integer->customers status/string[order_status] total/decimal placed_on/date updated_at/datetime",
		"products key=[sku] cursor=updated_at: sku/string title/string price/decimal stock/integer active/boolean updated_at/datetime",
	}
	if strings.Join(summary, "\n") != strings.Join(want, "\n") {
		t.Fatalf("catalog:\n%s\nwant:\n%s", strings.Join(summary, "\n"), strings.Join(want, "\n"))
	}
	if len(cat.ValueLists) != 1 || cat.ValueLists[0].Name != "order_status" || len(cat.ValueLists[0].Values) != 3 {
		t.Fatalf("value lists = %+v, want order_status with 3 values", cat.ValueLists)
	}
}

// countRecords looks into the store itself, to be sure a purge left nothing behind.
func countRecords(t *testing.T, srv *servertest.Instance, _ string) int64 {
	t.Helper()
	n, err := srv.Server.Store.CountRecords(context.Background(), 0, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}
