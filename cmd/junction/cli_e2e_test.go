package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/junction-hub/junction/internal/api"
)

// TestCLIEndToEnd drives a real server through the CLI's entry function, as a user would:
// a SQLite connection from creation to deletion, and one creation that must fail.
func TestCLIEndToEnd(t *testing.T) {
	base, token := startTestServer(t)
	dbPath := filepath.Join(t.TempDir(), "items.db")
	makeItems(t, dbPath)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	junction := func(args ...string) (code int, stdout, stderr string) {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append(args, "--server", base, "--token", token)
		code = run(ctx, args, strings.NewReader(""), &out, &errOut)
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
	listConnections := func() []api.Connection {
		t.Helper()
		var list struct{ Connections []api.Connection }
		if err := json.Unmarshal([]byte(mustRun("connections", "list", "--json")), &list); err != nil {
			t.Fatalf("connections list --json: %v", err)
		}
		return list.Connections
	}

	if out := mustRun("drivers"); !strings.Contains(out, "sqlite") || !strings.Contains(out, "CAPABILITIES") {
		t.Errorf("drivers does not list sqlite:\n%s", out)
	}
	if out := mustRun("drivers", "show", "sqlite"); !strings.Contains(out, "path") {
		t.Errorf("drivers show sqlite lacks the path field:\n%s", out)
	}

	out := mustRun("connections", "create", "--driver", "sqlite", "--name", "items",
		"--set", "path="+dbPath, "--wait")
	if !strings.Contains(out, "sync succeeded: read 3, written 3") {
		t.Errorf("create --wait did not end with the sync's success:\n%s", out)
	}

	conns := listConnections()
	if len(conns) != 1 || conns[0].Name != "items" || conns[0].Driver != "sqlite" || conns[0].Status != "active" {
		t.Fatalf("connections = %+v, want the one active sqlite connection", conns)
	}
	id := conns[0].ID
	ids := strconv.FormatInt(id, 10)
	if out := mustRun("connections", "list"); !strings.Contains(out, "items") {
		t.Errorf("connections list lacks the connection:\n%s", out)
	}

	if out := mustRun("connections", "sync", ids, "--wait"); !strings.Contains(out, "sync succeeded") {
		t.Errorf("sync --wait:\n%s", out)
	}
	if code, _, errOut := junction("connections", "delete", ids); code != 1 || !strings.Contains(errOut, "409") {
		t.Errorf("delete of an active connection: exit %d, stderr %q; want 1 and a 409", code, errOut)
	}
	mustRun("connections", "disable", ids)
	if conns := listConnections(); len(conns) != 1 || conns[0].Status != "inactive" {
		t.Errorf("after disable: %+v", conns)
	}
	if out := mustRun("connections", "delete", ids, "--wait"); !strings.Contains(out, "purge succeeded") {
		t.Errorf("delete --wait:\n%s", out)
	}
	if conns := listConnections(); len(conns) != 0 {
		t.Errorf("after delete the list is %+v, want it empty", conns)
	}

	missing := filepath.Join(t.TempDir(), "missing.db")
	code, out, errOut := junction("connections", "create", "--driver", "sqlite", "--name", "broken",
		"--set", "path="+missing, "--wait")
	if code != 1 {
		t.Errorf("create with a missing file: exit %d, want 1", code)
	}
	if !strings.Contains(errOut, "credentials.path") {
		t.Errorf("create with a missing file: stderr %q does not name credentials.path", errOut)
	}
	if strings.Contains(out, "created") {
		t.Errorf("create with a missing file printed %q", out)
	}
	if conns := listConnections(); len(conns) != 0 {
		t.Errorf("a failed create left %+v", conns)
	}
}

// makeItems creates the SQLite file the connection reads: a table with a cursor column.
func makeItems(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMP)`,
		`INSERT INTO items (name, updated_at) VALUES
			('bolt', '2025-01-01 10:00:00'), ('nut', '2025-01-02 10:00:00'), ('washer', '2025-01-03 10:00:00')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
