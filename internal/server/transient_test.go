package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
)

// TestTransientAndConfigErrors: a sync whose source database drops its sessions (a restart,
// a failover) retries with backoff and resumes from its checkpoint, losing and doubling
// nothing; a sync whose source table is gone fails at once, naming the table, and marks
// the connection failing.
func TestTransientAndConfigErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const rows = 100_000
	src := seedItems(t, rows)
	// The real binary, not servertest: the test binary's race detector would make the
	// server ten times slower, and this test is about the server's behaviour, not its races.
	bin := buildJunction(t)
	addr := freeAddr(t)
	token := "jct_transient_test_token_0123456789"
	p := startProcess(t, bin, t.TempDir(), token, addr, "--page-size", "250", "--poll-interval", "50ms")
	srv := &servertest.Instance{URL: "http://" + addr, Token: token}
	created := createPostgres(t, srv, "items", src, map[string]any{"tables": "items"})
	connID, jobID := created.Connection.ID, *created.JobID

	// Once the sync is well under way, end the source's sessions until an attempt fails.
	// The driver's connection may be idle in its pool at that moment (database/sql then
	// quietly reconnects), so keep at it until the job's log shows the failed attempt.
	deadline := time.Now().Add(2 * time.Minute)
	for j := getJob(t, srv, jobID); j.Progress.Read < rows/5; j = getJob(t, srv, jobID) {
		if j.State != "running" && j.State != "pending" || time.Now().After(deadline) {
			t.Fatalf("sync did not get under way: %+v", j)
		}
		time.Sleep(5 * time.Millisecond)
	}
	terminated := 0
	for {
		j := getJob(t, srv, jobID)
		if logHas(j, "will retry") {
			t.Logf("an attempt failed after %d backends were terminated, at %d records read", terminated, j.Progress.Read)
			break
		}
		if j.State != "running" && j.State != "pending" {
			t.Fatalf("job %s before an attempt failed: %+v", j.State, j)
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminating the source's sessions never failed an attempt: %+v", j)
		}
		terminated += src.terminateBackends(t)
		time.Sleep(time.Duration(terminated%7) * time.Millisecond)
	}
	j := srv.WaitJob(t, jobID, 2*time.Minute)
	full := getJob(t, srv, jobID)
	if j.State != "succeeded" || j.Attempts < 2 || !logHas(full, "resuming") {
		t.Fatalf("after the source dropped its sessions: %+v; want succeeded on a later attempt that resumed\n%s", full, p.logTail(30))
	}
	// Nothing changed at the source, and counters commit with their pages: every row read
	// and inserted exactly once across the attempts.
	if c := j.Progress; c.Read != rows || c.Inserted != rows {
		t.Fatalf("counters %+v; want %d read and inserted", c, rows)
	}
	compareMirror(t, srv, connID, src)
	for _, l := range full.Log {
		t.Logf("  log: %s %s", l.Level, l.Message)
	}

	// A configuration error: the table is dropped between syncs. No retry can help, so the
	// first attempt is the last, and the connection's health says what is wrong.
	if _, err := src.db.Exec(`DROP TABLE items`); err != nil {
		t.Fatal(err)
	}
	failID, _ := startSync(t, srv, connID, "full")
	failed := srv.WaitJob(t, failID, time.Minute)
	if failed.State != "failed" || failed.Attempts != 1 || !strings.Contains(failed.Error, "items") {
		t.Fatalf("sync of a dropped table: %+v; want failed on the first attempt naming the table", failed)
	}
	var c struct {
		Health struct {
			State   string `json:"state"`
			Message string `json:"message"`
		} `json:"health"`
	}
	if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", connID), nil, &c); code != http.StatusOK {
		t.Fatalf("GET connection: %d", code)
	}
	if c.Health.State != "failing" || !strings.Contains(c.Health.Message, "items") {
		t.Fatalf("health after the failed sync: %+v; want failing, naming the table", c.Health)
	}
	t.Logf("config error: %q; health: %q", failed.Error, c.Health.Message)
}

func logHas(j jobInfo, text string) bool {
	for _, l := range j.Log {
		if strings.Contains(l.Message, text) {
			return true
		}
	}
	return false
}

// TestSourceUnreachableForAMoment: the source's server goes away in the middle of a sync
// (a restart: connections break, new ones are refused) and comes back. Every attempt while
// it is away fails; the job keeps retrying with backoff rather than calling it a
// configuration error, and once the server is back it resumes and finishes.
func TestSourceUnreachableForAMoment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const rows = 60_000
	src := seedItems(t, rows)
	proxy := startProxy(t, "127.0.0.1:0", "127.0.0.1:5432")
	bin := buildJunction(t)
	addr := freeAddr(t)
	token := "jct_unreachable_test_token_0123456789"
	p := startProcess(t, bin, t.TempDir(), token, addr, "--page-size", "250", "--poll-interval", "50ms")
	srv := &servertest.Instance{URL: "http://" + addr, Token: token}

	var raw json.RawMessage
	creds := src.credentials()
	creds["port"] = proxy.port()
	code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{"name": "via proxy", "driver": "postgres",
		"credentials": creds, "settings": map[string]any{"tables": "items"}}, &raw)
	var created connWithJob
	if err := json.Unmarshal(raw, &created); code != http.StatusCreated || err != nil || created.JobID == nil {
		t.Fatalf("create: %d %s", code, raw)
	}
	connID, jobID := created.Connection.ID, *created.JobID
	deadline := time.Now().Add(2 * time.Minute)
	for j := getJob(t, srv, jobID); j.Progress.Read < rows/5; j = getJob(t, srv, jobID) {
		if j.State != "running" && j.State != "pending" || time.Now().After(deadline) {
			t.Fatalf("sync did not get under way: %+v", j)
		}
		time.Sleep(5 * time.Millisecond)
	}
	proxy.stop()
	// Stay away until two attempts have failed: the first loses its connection mid-read,
	// the second cannot connect at all.
	for {
		j := getJob(t, srv, jobID)
		if strings.Count(fmt.Sprint(j.Log), "will retry") >= 2 {
			break
		}
		if j.State != "running" && j.State != "pending" || time.Now().After(deadline) {
			t.Fatalf("while the source was unreachable: %+v", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
	proxy.restart(t)
	j := srv.WaitJob(t, jobID, 2*time.Minute)
	full := getJob(t, srv, jobID)
	for _, l := range full.Log {
		t.Logf("  log: %s %s", l.Level, l.Message)
	}
	if j.State != "succeeded" || j.Attempts < 3 || !logHas(full, "resuming") {
		t.Fatalf("after the source came back: %+v; want succeeded on a later attempt that resumed\n%s", full, p.logTail(30))
	}
	if c := j.Progress; c.Read != rows || c.Inserted != rows {
		t.Fatalf("counters %+v; want %d read and inserted", c, rows)
	}
	compareMirror(t, srv, connID, src)
	var c struct {
		Health struct {
			State string `json:"state"`
		} `json:"health"`
	}
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", connID), nil, &c)
	if c.Health.State != "ok" {
		t.Fatalf("health after the sync: %+v; want ok", c.Health)
	}
}

// tcpProxy forwards connections to a target; stop makes the target unreachable (open
// connections break, new ones are refused) until restart.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
}

func startProxy(t *testing.T, addr, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, addr: addr}
	p.restart(t)
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) port() int { return p.l.Addr().(*net.TCPAddr).Port }

func (p *tcpProxy) restart(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.l, p.addr = l, l.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.l.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
