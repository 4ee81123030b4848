package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/store"
)

// TestFlowReferenceTarget covers a target that makes its own keys (an autoincrement id):
// the flow writes the source key into a reference attribute and finds earlier writes by
// it. Two crashes are staged in the link table, one after a write landed and one before,
// and the next run must neither double the first record nor lose the second.
func TestFlowReferenceTarget(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	open := func(name, script string) (*sql.DB, string) {
		path := filepath.Join(dir, name)
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		mustExec(t, db, script)
		return db, path
	}
	src, srcPath := open("shop.db", `CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL);
		INSERT INTO products VALUES (1, 'Mug', 'listed'), (2, 'Plate', 'listed'), (3, 'Bowl', 'listed');`)
	dst, dstPath := open("erp.db", `CREATE TABLE articles (id INTEGER PRIMARY KEY AUTOINCREMENT, ext_ref TEXT NOT NULL,
		title TEXT NOT NULL, status TEXT NOT NULL)`)
	shop := createSQLite(t, srv, "shop", srcPath)
	erp := createSQLite(t, srv, "erp", dstPath)
	srv.WaitJob(t, *shop.JobID, time.Minute)
	srv.WaitJob(t, *erp.JobID, time.Minute)

	def := map[string]any{
		"name":    "products",
		"source":  map[string]any{"connection_id": shop.Connection.ID, "entity": "products"},
		"target":  map[string]any{"connection_id": erp.Connection.ID, "entity": "articles"},
		"trigger": "manual", "write_mode": "upsert",
		"fields": map[string]any{
			"ext_ref": map[string]any{"source": "id"},
			"title":   map[string]any{"source": "name"},
			"status":  map[string]any{"constant": "open"},
		},
		"write_back": []map[string]any{{"field": "status", "in": []string{"closed"}, "set": map[string]any{"state": "sold out"}}},
	}
	var p problem
	noRef := map[string]any{}
	for k, v := range def {
		noRef[k] = v
	}
	if code := srv.Do(t, "POST", "/api/v1/flows", noRef, &p); code != http.StatusUnprocessableEntity || !p.names("fields") {
		t.Fatalf("neither key nor reference: %d %+v; want 422 naming fields", code, p)
	}
	def["reference"] = "ext_ref"
	var f flowOut
	if code := srv.Do(t, "POST", "/api/v1/flows", def, &f); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	flowPath := fmt.Sprintf("/api/v1/flows/%d", f.ID)
	run := func() flowJob { t.Helper(); return runFlow(t, srv, srv.Token, f.ID) }
	if j := run(); j.State != "succeeded" || j.Progress.Inserted != 3 {
		t.Fatalf("first run: %+v", j)
	}
	articles := func() string {
		t.Helper()
		rows, err := dst.Query(`SELECT ext_ref, title, COUNT(*) FROM articles GROUP BY ext_ref, title ORDER BY ext_ref`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := ""
		for rows.Next() {
			var ref, title string
			var n int
			_ = rows.Scan(&ref, &title, &n)
			out += fmt.Sprintf("%s:%s×%d ", ref, title, n)
		}
		return out
	}
	if got := articles(); got != "1:Mug×1 2:Plate×1 3:Bowl×1 " {
		t.Fatalf("articles: %s", got)
	}

	// Stage two crashes: product 1's write landed but its link stayed pending; product
	// 2's write never landed. The target's mirror knows neither (no sync since).
	mustExec(t, dst, `DELETE FROM articles WHERE ext_ref = '2'`)
	mustExec(t, src, `UPDATE products SET name = 'Mug v2' WHERE id = 1`)
	syncConn(t, srv, shop.Connection.ID)
	ctx := context.Background()
	if err := srv.Server.Store.SaveLinks(ctx, []store.Link{
		{FlowID: f.ID, SourceKey: "1", State: store.LinkPending},
		{FlowID: f.ID, SourceKey: "2", State: store.LinkPending},
	}); err != nil {
		t.Fatal(err)
	}
	var dry struct {
		Items []flowItem `json:"items"`
	}
	srv.Do(t, "POST", flowPath+"/dry-run", nil, &dry)
	if len(dry.Items) != 2 || dry.Items[0].Action != "update" || dry.Items[1].Action != "create" {
		t.Fatalf("dry run after the staged crashes: %+v; want 1 found and updated, 2 created", dry.Items)
	}
	if j := run(); j.State != "succeeded" || j.Progress.Inserted != 1 || j.Progress.Updated != 1 {
		t.Fatalf("run after the staged crashes: %+v", j)
	}
	if got := articles(); got != "1:Mug v2×1 2:Plate×1 3:Bowl×1 " {
		t.Fatalf("articles after recovery: %s; want each product once", got)
	}

	// Write-back finds the target key of a created record in the target's mirror.
	mustExec(t, dst, `UPDATE articles SET status = 'closed' WHERE ext_ref = '3'`)
	syncConn(t, srv, erp.Connection.ID)
	if j := run(); j.State != "succeeded" || j.Progress.Updated != 1 {
		t.Fatalf("write-back run: %+v", j)
	}
	var state string
	if err := src.QueryRow(`SELECT state FROM products WHERE id = 3`).Scan(&state); err != nil || state != "sold out" {
		t.Fatalf("product 3 state = %q, %v; want sold out", state, err)
	}
	var links struct {
		Links []struct {
			SourceKey string `json:"source_key"`
			TargetKey string `json:"target_key"`
		} `json:"links"`
	}
	srv.Do(t, "GET", flowPath+"/links", nil, &links)
	for _, l := range links.Links {
		if l.TargetKey == "" {
			t.Fatalf("link without its target key after the target's sync: %+v", links.Links)
		}
	}
}
