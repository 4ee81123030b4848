package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Helpers for the tests that run the real `junction serve` binary as child processes and
// kill it with SIGKILL: restart_test.go, crash_test.go, scaleout_test.go.

// buildJunction compiles the real binary once per test.
func buildJunction(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "junction")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/junction-hub/junction/cmd/junction")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build junction: %v\n%s", err, out)
	}
	return bin
}

// process is a `junction serve` child process.
type process struct {
	cmd     *exec.Cmd
	addr    string
	node    string // the runner's node name, as /healthz reports it
	logPath string // its stderr
	done    chan struct{}
}

// startProcess runs `junction serve` on addr with dataDir and waits until /healthz answers.
func startProcess(t *testing.T, bin, dataDir, token, addr string, extra ...string) *process {
	t.Helper()
	return startProcessEnv(t, bin, nil, dataDir, token, addr, extra...)
}

// startProcessEnv is startProcess with extra environment variables (NAME=value).
func startProcessEnv(t *testing.T, bin string, env []string, dataDir, token, addr string, extra ...string) *process {
	t.Helper()
	args := append([]string{"serve", "--addr", addr, "--data", dataDir}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "JUNCTION_ADMIN_TOKEN="+token), env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, addr: addr, done: make(chan struct{}),
		logPath: filepath.Join(dataDir, fmt.Sprintf("serve-%d.log", cmd.Process.Pid))}
	logFile, _ := os.Create(p.logPath)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(logFile, sc.Text())
		}
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			var health struct {
				Node string `json:"node"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.node = health.Node
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("junction serve did not answer /healthz in time; log %s:\n%s", p.logPath, p.logTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown, no last words.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	<-p.done // the log is complete once the process is gone
	_ = p.cmd.Wait()
}

// logTail returns the last n lines the process logged.
func (p *process) logTail(n int) string {
	b, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
