// Package servertest starts a real Junction server in-process on a random port, for tests
// that talk to it over HTTP only, with the built-in drivers installed.
package servertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/junction-hub/junction/internal/drivers/mysql"
	_ "github.com/junction-hub/junction/internal/drivers/postgres"
	_ "github.com/junction-hub/junction/internal/drivers/sqlite"
	_ "github.com/junction-hub/junction/internal/drivers/tryton"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/server"
	"github.com/junction-hub/junction/internal/testdb"
)

// Options choose the store; the zero value is SQLite in a temporary folder.
type Options struct {
	Postgres     bool // keep the store in a fresh PostgreSQL database
	PageSize     int
	ScheduleTick time.Duration // how often the server looks for due scheduled syncs; 0 = its default
}

// Instance is a running server.
type Instance struct {
	URL     string // http://127.0.0.1:PORT
	Token   string // the first admin's token
	DataDir string
	Server  *server.Server
	logs    *syncBuffer
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Instance {
	t.Helper()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	in := &Instance{Token: "jct_test_" + hex.EncodeToString(b), DataDir: t.TempDir(), logs: &syncBuffer{}}
	cfg := server.Config{
		DataDir: in.DataDir, AdminToken: in.Token, PageSize: opts.PageSize, ScheduleTick: opts.ScheduleTick, Out: io.Discard,
		Logger: slog.New(slog.NewTextHandler(in.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Jobs:   jobs.Options{Heartbeat: time.Second, LostAfter: 5 * time.Second, PollInterval: 50 * time.Millisecond, RetryBaseDelay: 200 * time.Millisecond},
	}
	if opts.Postgres {
		cfg.Database, _ = testdb.Postgres(t)
	}
	ctx := context.Background()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	in.URL = "http://" + l.Addr().String()
	in.Server = srv
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	return in
}

// Logs is everything the server logged so far.
func (in *Instance) Logs() string { return in.logs.String() }

// Do sends a request with the admin token and decodes a JSON answer into out (if not nil).
// It returns the status code.
func (in *Instance) Do(t testing.TB, method, path string, body, out any) int {
	t.Helper()
	return in.DoWithToken(t, in.Token, method, path, body, out)
}

// DoWithToken is Do with another token ("" sends none).
func (in *Instance) DoWithToken(t testing.TB, token, method, path string, body, out any) int {
	t.Helper()
	return in.DoIn(t, token, 0, method, path, body, out)
}

// DoIn is DoWithToken acting in a workspace: its id goes in the X-Junction-Workspace
// header (0 sends none, so the token's own workspace is used).
func (in *Instance) DoIn(t testing.TB, token string, workspace int64, method, path string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, in.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if workspace != 0 {
		req.Header.Set("X-Junction-Workspace", fmt.Sprint(workspace))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: decode: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// Job is the part of a job the tests look at.
type Job struct {
	ID       int64  `json:"id"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
	Progress struct {
		Read, Written, Inserted, Updated, Unchanged, Gone int64
	} `json:"progress"`
	Log []struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	} `json:"log"`
}

// WaitJob polls a job until it finishes (or the timeout passes) and returns it.
func (in *Instance) WaitJob(t testing.TB, id int64, timeout time.Duration) Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var j Job
		if code := in.Do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", id), nil, &j); code != http.StatusOK {
			t.Fatalf("GET job %d: %d", id, code)
		}
		if j.State == "succeeded" || j.State == "failed" || j.State == "cancelled" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d still %s after %s: %+v", id, j.State, timeout, j)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
