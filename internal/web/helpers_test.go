package web_test

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/junction-hub/junction/internal/server/servertest"
)

const adminPassword = "correct horse battery"

// startConsole starts the real server and gives the bootstrap admin a password.
func startConsole(t *testing.T) *servertest.Instance {
	t.Helper()
	in := servertest.Start(t, servertest.Options{})
	var users struct {
		Users []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"users"`
	}
	if code := in.Do(t, "GET", "/api/v1/users", nil, &users); code != http.StatusOK {
		t.Fatalf("list users: %d", code)
	}
	for _, u := range users.Users {
		if u.Name == "admin" {
			if code := in.Do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), map[string]any{"password": adminPassword}, nil); code != http.StatusOK {
				t.Fatalf("set admin password: %d", code)
			}
			return in
		}
	}
	t.Fatal("no admin user")
	return nil
}

// addUser adds a person to the admin's workspace and returns their id.
func addUser(t *testing.T, in *servertest.Instance, name, role string) int64 {
	t.Helper()
	var u struct {
		ID int64 `json:"id"`
	}
	if code := in.Do(t, "POST", "/api/v1/users", map[string]any{"name": name, "password": adminPassword, "role": role}, &u); code != http.StatusCreated {
		t.Fatalf("add user %s: %d", name, code)
	}
	return u.ID
}

// sqliteSource makes a SQLite file with a products table of n rows (SKU-000001…).
func sqliteSource(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "source.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE products (sku TEXT PRIMARY KEY, title TEXT NOT NULL, price REAL NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := db.Exec(`INSERT INTO products VALUES (?, ?, ?)`, fmt.Sprintf("SKU-%06d", i), fmt.Sprintf("Product %d", i), float64(i)+0.99); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// browser is a plain HTTP client with cookies, as a browser without script is.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// get fetches a page and returns its status, body and Location header.
func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

// post sends a form and returns status, body and Location, and the response.
func (b *browser) post(path string, form url.Values) (int, string, string, *http.Response) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Location"), resp
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body, _ := b.get(path)
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// login logs in through the form and fails the test unless it leads on.
func (b *browser) login(name, password string) *http.Response {
	b.t.Helper()
	code, _, loc, resp := b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "name": {name}, "password": {password}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/") {
		b.t.Fatalf("login %s: %d → %q", name, code, loc)
	}
	return resp
}
