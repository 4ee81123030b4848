package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/api"
)

// TestCLIFlows drives a flow between two SQLite databases through the CLI: create from a
// file, dry run, run, links, a failed record, fix, retry, delete.
func TestCLIFlows(t *testing.T) {
	base, token := startTestServer(t)
	dir := t.TempDir()
	srcPath, dstPath := filepath.Join(dir, "shop.db"), filepath.Join(dir, "erp.db")
	exec := func(path string, qs ...string) {
		t.Helper()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range qs {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec(srcPath, `CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, colour TEXT NOT NULL)`,
		`INSERT INTO products VALUES (1, 'Mug', 'red'), (2, 'Plate', 'blue'), (3, 'Bowl', 'green')`)
	exec(dstPath, `CREATE TABLE articles (sku TEXT PRIMARY KEY, title TEXT NOT NULL, colour_code TEXT NOT NULL)`)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	junction := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append(args, "--server", base, "--token", token)
		code := run(ctx, args, strings.NewReader(""), &out, &errOut)
		t.Logf("junction %s → %d\n%s%s", strings.Join(args[:len(args)-4], " "), code, out.String(), errOut.String())
		return code, out.String(), errOut.String()
	}
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errOut := junction(args...)
		if code != 0 {
			t.Fatalf("junction %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	connID := func(out string) int64 {
		t.Helper()
		var res api.ConnectionWithJob
		if err := json.NewDecoder(strings.NewReader(out)).Decode(&res); err != nil { // then the sync job follows
			t.Fatalf("%v: %s", err, out)
		}
		return res.Connection.ID
	}
	shop := connID(mustRun("connections", "create", "--driver", "sqlite", "--name", "shop", "--set", "path="+srcPath, "--wait", "--json"))
	erp := connID(mustRun("connections", "create", "--driver", "sqlite", "--name", "erp", "--set", "path="+dstPath, "--wait", "--json"))

	writeFlow := func(colours map[string]string) string {
		def := map[string]any{
			"name":    "products to erp",
			"source":  map[string]any{"connection_id": shop, "entity": "products"},
			"target":  map[string]any{"connection_id": erp, "entity": "articles"},
			"trigger": "manual", "write_mode": "upsert",
			"fields": map[string]any{
				"sku":         map[string]any{"template": "P-{{id}}"},
				"title":       map[string]any{"source": "name"},
				"colour_code": map[string]any{"source": "colour", "values": map[string]any{"map": colours}},
			},
		}
		b, _ := json.Marshal(def)
		path := filepath.Join(dir, "flow.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// A mistake in the file is named.
	bad := writeFlow(map[string]string{"red": "R"})
	b, _ := os.ReadFile(bad)
	_ = os.WriteFile(bad, bytes.Replace(b, []byte(`"name"}`), []byte(`"title"}`), 1), 0o600)
	if code, _, errOut := junction("flows", "create", "--file", bad); code != 1 || !strings.Contains(errOut, "fields.title.source") {
		t.Fatalf("bad flow: exit %d, %s; want 1 naming fields.title.source", code, errOut)
	}

	out := mustRun("flows", "create", "--file", writeFlow(map[string]string{"red": "R", "blue": "B"}))
	var id int64
	if _, err := fmt.Sscanf(out, "created flow %d", &id); err != nil {
		t.Fatalf("create: %q", out)
	}
	if out := mustRun("flows", "list"); !strings.Contains(out, "products to erp") || !strings.Contains(out, "upsert") {
		t.Fatalf("list:\n%s", out)
	}
	ids := fmt.Sprint(id)
	out = mustRun("flows", "dry-run", ids)
	if !strings.Contains(out, "P-1") || !strings.Contains(out, `no mapping for the value "green" of colour`) {
		t.Fatalf("dry run:\n%s", out)
	}
	out = mustRun("flows", "run", ids, "--wait")
	if !strings.Contains(out, "considered 3, written 2, skipped 0, failed 1") {
		t.Fatalf("run --wait:\n%s", out)
	}
	var jobID int64
	if _, err := fmt.Sscanf(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:], "job %d", &jobID); err != nil {
		t.Fatalf("no job id in %q: %v", out, err)
	}
	if out := mustRun("jobs", "show", fmt.Sprint(jobID)); !strings.Contains(out, "considered 3, written 2 (created 2, updated 0), skipped 0, failed 1") {
		t.Fatalf("jobs show of a flow run:\n%s", out)
	}
	if out := mustRun("flows", "links", ids); !strings.Contains(out, "P-1") || !strings.Contains(out, "P-2") {
		t.Fatalf("links:\n%s", out)
	}
	if out := mustRun("flows", "failed", ids); !strings.Contains(out, `"green"`) {
		t.Fatalf("failed:\n%s", out)
	}
	mustRun("flows", "edit", ids, "--file", writeFlow(map[string]string{"red": "R", "blue": "B", "green": "G"}))
	if out := mustRun("flows", "retry", ids, "--wait"); !strings.Contains(out, "written 1") {
		t.Fatalf("retry --wait:\n%s", out)
	}
	var n int
	db, _ := sql.Open("sqlite", dstPath)
	defer db.Close()
	if err := db.QueryRow(`SELECT COUNT(*) FROM articles WHERE (sku, title, colour_code) IN
		(VALUES ('P-1', 'Mug', 'R'), ('P-2', 'Plate', 'B'), ('P-3', 'Bowl', 'G'))`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("articles written: %d %v", n, err)
	}
	// The same records sent again by hand are updated in place, not doubled.
	if out := mustRun("flows", "run", ids, "--key", "1", "--key", "3", "--wait"); !strings.Contains(out, "written 2") {
		t.Fatalf("run --key:\n%s", out)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM articles`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d articles after sending two again, want 3", n)
	}
	mustRun("flows", "delete", ids)
	if out := mustRun("flows", "list"); strings.Contains(out, "products to erp") {
		t.Fatalf("deleted flow still listed:\n%s", out)
	}
}
