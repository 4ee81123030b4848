// Package trytontest gives each test its own Tryton: a fresh SQLite database with the
// party, product, stock and sale modules activated and a company set up, served by its
// own trytond on a free loopback port that stops when the test ends.
//
// Activating the modules takes a quarter of a minute, so it is done once: the activated
// database is kept as a template in the user's cache folder (keyed by the trytond version)
// and copied for every test, which then only waits for trytond to start.
package trytontest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
)

// Admin is the user every test database has, with its password.
const (
	AdminUser     = "admin"
	AdminPassword = "junction-test-admin"
	AdminEmail    = "admin@example.com"
)

// Modules are the Tryton modules the databases have activated (with their dependencies).
var Modules = []string{"party", "product", "stock", "sale"}

// Instance is one running Tryton with one database.
type Instance struct {
	URL      string // e.g. http://127.0.0.1:43123/
	Database string
	// Company is the id of the company the admin works for, CompanyParty its party (the
	// one party a new database has) and Currency its currency.
	Company, CompanyParty, Currency int64
}

// Credentials returns the tryton driver's credentials for the admin user.
func (in Instance) Credentials() driver.Values {
	return driver.Values{"url": in.URL, "database": in.Database, "username": AdminUser, "password": AdminPassword}
}

// Client returns a JSON-RPC client logged in as the admin, for tests to change data
// through Tryton's own API.
func (in Instance) Client(tb testing.TB) *rpc.Client {
	tb.Helper()
	c, err := rpc.New(in.URL, in.Database, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Login(tb.Context(), AdminUser, AdminPassword); err != nil {
		tb.Fatalf("log in to tryton: %v", err)
	}
	return c
}

// Start gives the test a Tryton of its own. It fails the test when trytond is not
// installed: the suite installs it with scripts/tryton.sh.
func Start(tb testing.TB) Instance {
	tb.Helper()
	for _, cmd := range []string{"trytond", "trytond-admin"} {
		if _, err := exec.LookPath(cmd); err != nil {
			tb.Fatalf("%s is not installed: run scripts/tryton.sh (it installs the Tryton server and modules)", cmd)
		}
	}
	tmpl, err := template()
	if err != nil {
		tb.Fatalf("tryton template database: %v", err)
	}
	dir := tb.TempDir()
	const db = "junction"
	if err := copyFile(tmpl.path, filepath.Join(dir, db+".sqlite")); err != nil {
		tb.Fatal(err)
	}
	url, stop, err := serve(dir)
	if err != nil {
		tb.Fatalf("start trytond: %v", err)
	}
	tb.Cleanup(stop)
	return Instance{URL: url, Database: db, Company: tmpl.company, CompanyParty: tmpl.companyParty, Currency: tmpl.currency}
}

// templateDB is the activated database every test copies.
type templateDB struct {
	path                            string
	company, companyParty, currency int64
}

var (
	templateOnce sync.Once
	templateVal  templateDB
	templateErr  error
)

// template returns the template database, building it on first use in this process
// unless an earlier run left one in the cache.
func template() (templateDB, error) {
	templateOnce.Do(func() { templateVal, templateErr = buildTemplate() })
	return templateVal, templateErr
}

func buildTemplate() (templateDB, error) {
	version, err := exec.Command("trytond", "--version").Output()
	if err != nil {
		return templateDB{}, fmt.Errorf("trytond --version: %w", err)
	}
	sum := sha256.Sum256([]byte(string(version) + strings.Join(Modules, ",") + AdminPassword + "v2"))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "junction-tryton", hex.EncodeToString(sum[:8]))
	final := filepath.Join(dir, "template.sqlite")
	ids := filepath.Join(dir, "template.ids")
	if t, err := readTemplate(final, ids); err == nil {
		return t, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return templateDB{}, err
	}
	// Build in a folder of its own, then rename into place, so concurrent test processes
	// never see half a template.
	work, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return templateDB{}, err
	}
	defer os.RemoveAll(work)
	const db = "template"
	if err := os.WriteFile(filepath.Join(work, db+".sqlite"), nil, 0o644); err != nil {
		return templateDB{}, err
	}
	conf, err := writeConfig(work, "127.0.0.1:0")
	if err != nil {
		return templateDB{}, err
	}
	passFile := filepath.Join(work, "password")
	if err := os.WriteFile(passFile, []byte(AdminPassword+"\n"), 0o600); err != nil {
		return templateDB{}, err
	}
	args := append([]string{"-c", conf, "-d", db, "--all", "--activate-dependencies", "--email", AdminEmail, "-u"}, Modules...)
	cmd := exec.Command("trytond-admin", args...)
	cmd.Env = append(os.Environ(), "TRYTONPASSFILE="+passFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		return templateDB{}, fmt.Errorf("trytond-admin: %w\n%s", err, tail(out))
	}
	url, stop, err := serve(work)
	if err != nil {
		return templateDB{}, err
	}
	t, err := seed(url, db)
	stop()
	if err != nil {
		return templateDB{}, fmt.Errorf("set up a company: %w", err)
	}
	if err := os.WriteFile(filepath.Join(work, "template.ids"), fmt.Appendf(nil, "%d %d %d", t.company, t.companyParty, t.currency), 0o644); err != nil {
		return templateDB{}, err
	}
	// The ids first: a template database is only used once its ids are there. Processes
	// that build at the same time write the same ids and replace each other's equal copy.
	if err := os.Rename(filepath.Join(work, "template.ids"), ids); err != nil {
		return templateDB{}, err
	}
	if err := os.Rename(filepath.Join(work, db+".sqlite"), final); err != nil {
		return templateDB{}, err
	}
	return readTemplate(final, ids)
}

func readTemplate(path, ids string) (templateDB, error) {
	if _, err := os.Stat(path); err != nil {
		return templateDB{}, err
	}
	b, err := os.ReadFile(ids)
	if err != nil {
		return templateDB{}, err
	}
	t := templateDB{path: path}
	if _, err := fmt.Sscanf(string(b), "%d %d %d", &t.company, &t.companyParty, &t.currency); err != nil {
		return templateDB{}, err
	}
	return t, nil
}

// seed creates the currency and company sales need and makes the admin work for it.
func seed(url, db string) (templateDB, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := rpc.New(url, db, nil)
	if err != nil {
		return templateDB{}, err
	}
	if err := c.Login(ctx, AdminUser, AdminPassword); err != nil {
		return templateDB{}, err
	}
	var t templateDB
	var ids []int64
	if err := c.Call(ctx, "model.currency.currency.create", &ids, []any{map[string]any{
		"name": "Euro", "code": "EUR", "symbol": "€", "rounding": rpc.Decimal("0.01"), "digits": 2}}); err != nil {
		return t, err
	}
	t.currency = ids[0]
	if err := c.Call(ctx, "model.party.party.create", &ids, []any{map[string]any{"name": "Junction Test Company"}}); err != nil {
		return t, err
	}
	t.companyParty = ids[0]
	if err := c.Call(ctx, "model.company.company.create", &ids, []any{map[string]any{"party": t.companyParty, "currency": t.currency}}); err != nil {
		return t, err
	}
	t.company = ids[0]
	var users []int64
	if err := c.Call(ctx, "model.res.user.search", &users, []any{[]any{"login", "=", AdminUser}}); err != nil {
		return t, err
	}
	if err := c.Call(ctx, "model.res.user.write", nil, users, map[string]any{
		"companies": []any{[]any{"add", []int64{t.company}}}, "company": t.company}); err != nil {
		return t, err
	}
	c.Logout(ctx)
	return t, nil
}

func writeConfig(dir, listen string) (string, error) {
	conf := filepath.Join(dir, "trytond.conf")
	text := fmt.Sprintf("[database]\nuri = sqlite://\npath = %s\n\n[web]\nlisten = %s\n", dir, listen)
	return conf, os.WriteFile(conf, []byte(text), 0o644)
}

// serve starts trytond on the databases in dir at a free loopback port and waits until it
// answers. stop ends it.
func serve(dir string) (url string, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf, err := writeConfig(dir, addr)
	if err != nil {
		return "", nil, err
	}
	logPath := filepath.Join(dir, "trytond.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("trytond", "-c", conf)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return "", nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logFile.Close()
	}
	url = "http://" + addr + "/"
	deadline := time.Now().Add(60 * time.Second)
	for {
		if answers(url) {
			return url, stop, nil
		}
		select {
		case err := <-exited:
			exited <- err
			stop()
			out, _ := os.ReadFile(logPath)
			return "", nil, fmt.Errorf("trytond exited (%v):\n%s", err, tail(out))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			out, _ := os.ReadFile(logPath)
			return "", nil, fmt.Errorf("trytond did not answer at %s within a minute:\n%s", url, tail(out))
		}
	}
}

// answers reports whether a Tryton answers common.server.version at url.
func answers(url string) bool {
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"id":0,"method":"common.server.version","params":[]}`))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func tail(b []byte) string {
	const n = 3000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
