package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConnectorServeAndTest serves the sqlite driver with `junction connector serve` and
// runs `junction connector test` against it: it passes with bad credentials that are bad,
// and fails with the right row when the "bad" credentials work.
func TestConnectorServeAndTest(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "shop.db")
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at DATETIME NOT NULL);
		INSERT INTO things VALUES (1, 'a', '2024-01-01 00:00:00'), (2, 'b', '2024-01-02 00:00:00'), (3, 'c', '2024-01-02 00:00:00'), (4, 'd', '2024-01-03 00:00:00')`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.json", fmt.Sprintf(`{"path": %q}`, dbPath))
	bad := file("bad.json", fmt.Sprintf(`{"path": %q}`, filepath.Join(dir, "missing.db")))
	write := file("write.json", `{"key": "9", "fields": {"name": "written", "updated_at": "2025-01-01T00:00:00Z"}}`)

	url := serveConnector(t, "sqlite")

	kit := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"connector", "test", url, "--token", "tk"}, args...), nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, out := kit("--credentials", good, "--bad-credentials", bad, "--write", write, "--entity", "things")
	if code != 0 || !strings.Contains(out, "checks passed") {
		t.Fatalf("kit exit %d:\n%s", code, out)
	}
	code, out = kit("--credentials", good, "--bad-credentials", good)
	if code != 1 || !regexp.MustCompile(`(?m)^FAIL +check fails with bad config +check accepted the bad config`).MatchString(out) {
		t.Fatalf("kit with working bad credentials: exit %d:\n%s", code, out)
	}
	if code, out = kit(); code != 2 {
		t.Errorf("kit without --credentials: exit %d:\n%s", code, out)
	}
}

func waitUp(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer tk")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s did not come up", url)
}

// serveConnector runs `junction connector serve` for a built-in driver on a free port,
// with token tk, until the test ends, and returns its URL once it answers.
func serveConnector(t *testing.T, driverName string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan int, 1)
	go func() {
		served <- run(ctx, []string{"connector", "serve", "--driver", driverName, "--addr", addr, "--token", "tk"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	t.Cleanup(func() {
		stop()
		if code := <-served; code != 0 {
			t.Errorf("connector serve exited %d", code)
		}
	})
	url := "http://" + addr
	waitUp(t, url+"/v1/spec")
	return url
}
