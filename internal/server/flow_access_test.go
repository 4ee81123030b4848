package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
)

// TestFlowAccessAndPolicies checks who may do what with a flow, and the update rules a
// flow in upsert mode follows: the target wins a field it changed (priority target), and
// a record removed upstream deactivates its target (removal deactivate).
func TestFlowAccessAndPolicies(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	open := func(name string, script string) (*sql.DB, string) {
		path := filepath.Join(dir, name)
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		mustExec(t, db, script)
		return db, path
	}
	src, srcPath := open("shop.db", `CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
		INSERT INTO products VALUES (1, 'Mug'), (2, 'Plate'), (3, 'Bowl');`)
	dst, dstPath := open("erp.db", `CREATE TABLE articles (sku TEXT PRIMARY KEY, title TEXT NOT NULL, active INTEGER NOT NULL)`)
	shop := createSQLite(t, srv, "shop", srcPath)
	erp := createSQLite(t, srv, "erp", dstPath)
	srv.WaitJob(t, *shop.JobID, time.Minute)
	srv.WaitJob(t, *erp.JobID, time.Minute)

	def := map[string]any{
		"name":    "products",
		"source":  map[string]any{"connection_id": shop.Connection.ID, "entity": "products"},
		"target":  map[string]any{"connection_id": erp.Connection.ID, "entity": "articles"},
		"trigger": "manual", "write_mode": "upsert", "priority": "target",
		"removal": map[string]any{"policy": "deactivate", "set": map[string]any{"active": 0}},
		"fields": map[string]any{
			"sku":    map[string]any{"template": "P-{{id}}"},
			"title":  map[string]any{"source": "name"},
			"active": map[string]any{"constant": 1},
		},
	}
	var f flowOut
	if code := srv.Do(t, "POST", "/api/v1/flows", def, &f); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	flowPath := fmt.Sprintf("/api/v1/flows/%d", f.ID)

	// A member sees and runs flows, and may not change them.
	const pw = "correct horse battery staple"
	if code := srv.Do(t, "POST", "/api/v1/users", map[string]any{"name": "maria", "password": pw, "role": "member"}, nil); code != http.StatusCreated {
		t.Fatalf("add member: %d", code)
	}
	var login newToken
	if code := srv.DoWithToken(t, "", "POST", "/api/v1/login", map[string]any{"name": "maria", "password": pw}, &login); code != http.StatusOK {
		t.Fatalf("login: %d", code)
	}
	member := login.Token
	var list struct{ Flows []flowOut }
	if code := srv.DoWithToken(t, member, "GET", "/api/v1/flows", nil, &list); code != http.StatusOK || len(list.Flows) != 1 {
		t.Fatalf("member lists flows: %d %+v", code, list)
	}
	for _, r := range []struct{ method, path string }{{"POST", "/api/v1/flows"}, {"PUT", flowPath}, {"DELETE", flowPath}} {
		if code := srv.DoWithToken(t, member, r.method, r.path, def, nil); code != http.StatusForbidden {
			t.Fatalf("member %s %s: %d, want 403", r.method, r.path, code)
		}
	}
	if code := srv.DoWithToken(t, member, "POST", flowPath+"/dry-run", nil, nil); code != http.StatusOK {
		t.Fatalf("member dry run: %d", code)
	}
	// Another workspace does not see the flow at all.
	var acme workspace
	if code := srv.Do(t, "POST", "/api/v1/workspaces", map[string]any{"name": "acme"}, &acme); code != http.StatusCreated {
		t.Fatalf("create workspace: %d", code)
	}
	for _, r := range []struct{ method, path string }{{"GET", flowPath}, {"POST", flowPath + "/run"}, {"GET", flowPath + "/links"},
		{"DELETE", flowPath}} {
		if code := srv.DoIn(t, srv.Token, acme.ID, r.method, r.path, nil, nil); code != http.StatusNotFound {
			t.Fatalf("%s %s from another workspace: %d, want 404", r.method, r.path, code)
		}
	}

	// An integration token reaches the flows its grants name: read sees, run also runs.
	grant := func(name, access string, flowID int64) string {
		var nt newToken
		if code := srv.Do(t, "POST", "/api/v1/integration-tokens", map[string]any{"user": "partner", "name": name,
			"grants": []map[string]any{{"flow": flowID, "access": access}}}, &nt); code != http.StatusCreated {
			t.Fatalf("integration token %s: %d", name, code)
		}
		return nt.Token
	}
	reader, other := grant("reader", "read", f.ID), grant("other", "run", f.ID+1000)
	if code := srv.DoWithToken(t, reader, "GET", "/api/v1/flows", nil, &list); code != http.StatusOK || len(list.Flows) != 1 {
		t.Fatalf("granted flows: %d %+v", code, list)
	}
	var p problem
	if code := srv.DoWithToken(t, reader, "POST", flowPath+"/run", nil, &p); code != http.StatusForbidden || !strings.Contains(p.Detail, "run") {
		t.Fatalf("run with a read grant: %d %+v, want 403 naming the run grant", code, p)
	}
	if code := srv.DoWithToken(t, other, "GET", flowPath, nil, nil); code != http.StatusNotFound {
		t.Fatalf("a flow not granted: %d, want 404", code)
	}
	if code := srv.DoWithToken(t, other, "GET", "/api/v1/flows", nil, &list); code != http.StatusOK || len(list.Flows) != 0 {
		t.Fatalf("flows listed without a grant: %d %+v", code, list)
	}

	run := func(token string) flowJob { t.Helper(); return runFlow(t, srv, token, f.ID) }
	if j := run(member); j.State != "succeeded" || j.Progress.Inserted != 3 {
		t.Fatalf("member's run: %+v", j)
	}
	articles := func() string {
		t.Helper()
		rows, err := dst.Query(`SELECT sku, title, active FROM articles ORDER BY sku`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := ""
		for rows.Next() {
			var sku, title string
			var active int
			_ = rows.Scan(&sku, &title, &active)
			out += fmt.Sprintf("%s:%s:%d ", sku, title, active)
		}
		return out
	}
	if got := articles(); got != "P-1:Mug:1 P-2:Plate:1 P-3:Bowl:1 " {
		t.Fatalf("articles: %s", got)
	}

	// Both sides change: the ERP renames P-1, the shop renames 1 and 2 and drops 3.
	mustExec(t, dst, `UPDATE articles SET title = 'Mug (ERP)' WHERE sku = 'P-1'`)
	mustExec(t, src, `UPDATE products SET name = name || ' v2' WHERE id IN (1, 2); DELETE FROM products WHERE id = 3`)
	syncConn(t, srv, erp.Connection.ID)
	syncConn(t, srv, shop.Connection.ID)
	if j := run(srv.Token); j.State != "succeeded" || j.Progress.Updated != 3 {
		var failed any
		srv.Do(t, "GET", flowPath+"/failed", nil, &failed)
		t.Fatalf("second run: %+v; want 3 updated (2 changed, 1 deactivated); failed: %v", j, failed)
	}
	if got := articles(); got != "P-1:Mug (ERP):1 P-2:Plate v2:1 P-3:Bowl:0 " {
		t.Fatalf("after both sides changed: %s; want the ERP's title kept, the shop's new one written, P-3 deactivated", got)
	}
	var links struct {
		Links []struct {
			SourceKey string `json:"source_key"`
			State     string `json:"state"`
		} `json:"links"`
	}
	srv.Do(t, "GET", flowPath+"/links?state=removed", nil, &links)
	if len(links.Links) != 1 || links.Links[0].SourceKey != "3" {
		t.Fatalf("removed links: %+v", links)
	}
	// A connection a flow uses cannot be deleted; once the flow is gone it can.
	shopPath := fmt.Sprintf("/api/v1/connections/%d", shop.Connection.ID)
	if code := srv.Do(t, "POST", shopPath+"/disable", nil, nil); code != http.StatusAccepted {
		t.Fatalf("disable shop: %d", code)
	}
	var conflict problem
	if code := srv.Do(t, "DELETE", shopPath, nil, &conflict); code != http.StatusConflict || !strings.Contains(conflict.Detail, `"products"`) {
		t.Fatalf("delete a connection a flow uses: %d %+v, want 409 naming the flow", code, conflict)
	}
	if code := srv.Do(t, "DELETE", flowPath, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code := srv.Do(t, "GET", flowPath, nil, nil); code != http.StatusNotFound {
		t.Fatalf("deleted flow: %d", code)
	}
	if code := srv.Do(t, "DELETE", shopPath, nil, nil); code != http.StatusAccepted {
		t.Fatalf("delete the shop once no flow uses it: %d", code)
	}
}

// TestFlowSchedule checks that a scheduled flow runs when due, once, and is given its next
// time.
func TestFlowSchedule(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{ScheduleTick: 50 * time.Millisecond})
	dir := t.TempDir()
	srcPath, dstPath := filepath.Join(dir, "shop.db"), filepath.Join(dir, "erp.db")
	for path, script := range map[string]string{
		srcPath: `CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO products VALUES (1, 'Mug'), (2, 'Plate');`,
		dstPath: `CREATE TABLE articles (sku TEXT PRIMARY KEY, title TEXT NOT NULL)`,
	} {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, script)
		db.Close()
	}
	shop := createSQLite(t, srv, "shop", srcPath)
	erp := createSQLite(t, srv, "erp", dstPath)
	srv.WaitJob(t, *shop.JobID, time.Minute)
	srv.WaitJob(t, *erp.JobID, time.Minute)
	def := map[string]any{
		"name":    "hourly products",
		"source":  map[string]any{"connection_id": shop.Connection.ID, "entity": "products"},
		"target":  map[string]any{"connection_id": erp.Connection.ID, "entity": "articles"},
		"trigger": "schedule", "schedule": "1h",
		"fields": map[string]any{"sku": map[string]any{"template": "P-{{id}}"}, "title": map[string]any{"source": "name"}},
	}
	var f struct {
		ID        int64      `json:"id"`
		NextRunAt *time.Time `json:"next_run_at"`
	}
	if code := srv.Do(t, "POST", "/api/v1/flows", def, &f); code != http.StatusCreated || f.NextRunAt == nil ||
		f.NextRunAt.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("create: %d, next run %v; want about an hour from now", code, f.NextRunAt)
	}
	// Make the run due now, as if the hour had passed.
	ctx := context.Background()
	stored, err := srv.Server.Store.GetFlow(ctx, 1, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Second)
	stored.NextRunAt = &past
	if err := srv.Server.Store.UpdateFlow(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	jobs := waitForFlowJobs(t, srv, 1)
	if j := waitFlowJob(t, srv, jobs[0].ID); j.State != "succeeded" || j.Progress.Inserted != 2 {
		t.Fatalf("scheduled run: %+v", j)
	}
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/flows/%d", f.ID), nil, &f)
	if f.NextRunAt == nil || f.NextRunAt.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("next run after the scheduled one: %v", f.NextRunAt)
	}
	time.Sleep(300 * time.Millisecond) // several scheduler ticks
	if jobs := waitFlowsIdle(t, srv); len(jobs) != 1 {
		t.Fatalf("%d flow runs, want the one scheduled run", len(jobs))
	}
}

// waitForFlowJobs waits until there are at least n flow jobs and returns them, newest first.
func waitForFlowJobs(t *testing.T, srv *servertest.Instance, n int) []flowJob {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var list struct {
			Jobs []flowJob `json:"jobs"`
		}
		srv.Do(t, "GET", "/api/v1/jobs?kind=flow", nil, &list)
		if len(list.Jobs) >= n {
			return list.Jobs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d flow jobs, want %d", len(list.Jobs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
