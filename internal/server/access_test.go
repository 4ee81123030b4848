package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/server"
	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/store"
)

type workspace struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type user struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
	Kind string `json:"kind"`
}

type newToken struct {
	ID          int64  `json:"id"`
	Token       string `json:"token"`
	WorkspaceID int64  `json:"workspace_id"`
	ExpiresAt   string `json:"expires_at"`
}

// TestAccessWorkspacesUsersTokens walks what a second workspace and a member of it may and
// may not see and do.
func TestAccessWorkspacesUsersTokens(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) { testAccess(t, servertest.Start(t, servertest.Options{Postgres: pg})) })
	}
}

func testAccess(t *testing.T, srv *servertest.Instance) {
	admin := srv.Token

	// The bootstrap token is the default workspace's owner, and a server admin.
	var wl struct{ Workspaces []workspace }
	if code := srv.Do(t, "GET", "/api/v1/workspaces", nil, &wl); code != http.StatusOK || len(wl.Workspaces) != 1 ||
		wl.Workspaces[0].Name != "default" || wl.Workspaces[0].Role != "owner" {
		t.Fatalf("admin's workspaces: %d %+v", code, wl)
	}
	def := wl.Workspaces[0].ID
	dc := createSQLite(t, srv, "in-default", seedSQLite(t, 3))

	var acme workspace
	if code := srv.Do(t, "POST", "/api/v1/workspaces", map[string]any{"name": "acme"}, &acme); code != http.StatusCreated || acme.Role != "owner" {
		t.Fatalf("create workspace: %d %+v", code, acme)
	}
	if code := srv.Do(t, "POST", "/api/v1/workspaces", map[string]any{"name": "acme"}, nil); code != http.StatusConflict {
		t.Fatalf("second workspace acme: %d, want 409", code)
	}

	// Adding a member to acme: the password is checked and never returned.
	var p problem
	if code := srv.DoIn(t, admin, acme.ID, "POST", "/api/v1/users",
		map[string]any{"name": "maria", "password": "too short", "role": "member"}, &p); code != http.StatusUnprocessableEntity || !p.names("body.password") {
		t.Fatalf("short password: %d %+v", code, p)
	}
	const mariaPW = "correct horse battery staple"
	var raw map[string]any
	if code := srv.DoIn(t, admin, acme.ID, "POST", "/api/v1/users",
		map[string]any{"name": "maria", "display_name": "Maria", "password": mariaPW, "role": "member"}, &raw); code != http.StatusCreated {
		t.Fatalf("add maria: %d %v", code, raw)
	}
	if b, _ := json.Marshal(raw); strings.Contains(string(b), "password") || strings.Contains(string(b), "argon2") {
		t.Fatalf("the new user's answer shows a password: %s", b)
	}
	maria := int64(raw["id"].(float64))

	// Maria logs in and sees acme only.
	var login newToken
	if code := srv.DoWithToken(t, "", "POST", "/api/v1/login", map[string]any{"name": "maria", "password": mariaPW}, &login); code != http.StatusOK ||
		!strings.HasPrefix(login.Token, "jct_") || login.WorkspaceID != acme.ID || login.ExpiresAt == "" {
		t.Fatalf("login: %d %+v", code, login)
	}
	member := login.Token
	if code := srv.DoWithToken(t, member, "GET", "/api/v1/workspaces", nil, &wl); code != http.StatusOK ||
		len(wl.Workspaces) != 1 || wl.Workspaces[0].ID != acme.ID || wl.Workspaces[0].Role != "member" {
		t.Fatalf("maria's workspaces: %d %+v", code, wl)
	}

	// The default workspace does not exist for her: 404 with its id in the header, by id, in lists.
	for _, ws := range []string{fmt.Sprint(def), "abc", "999999"} {
		if code := doHeader(t, srv, member, ws, "GET", "/api/v1/connections"); code != http.StatusNotFound {
			t.Fatalf("maria in workspace %q: %d, want 404", ws, code)
		}
	}
	if code := srv.DoWithToken(t, member, "GET", fmt.Sprintf("/api/v1/connections/%d", dc.Connection.ID), nil, nil); code != http.StatusNotFound {
		t.Fatalf("maria reads default's connection: %d, want 404", code)
	}
	var cl struct{ Connections []conn }
	if code := srv.DoWithToken(t, member, "GET", "/api/v1/connections", nil, &cl); code != http.StatusOK || len(cl.Connections) != 0 {
		t.Fatalf("maria's connections: %d %+v", code, cl)
	}
	// The admin still works without the header, and with acme's.
	if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", dc.Connection.ID), nil, nil); code != http.StatusOK {
		t.Fatalf("admin reads its connection: %d", code)
	}
	if code := srv.DoIn(t, admin, acme.ID, "GET", fmt.Sprintf("/api/v1/connections/%d", dc.Connection.ID), nil, nil); code != http.StatusNotFound {
		t.Fatalf("admin reads default's connection acting in acme: %d, want 404", code)
	}

	// A member may read but not change users and groups, nor create workspaces.
	p = problem{}
	if code := srv.DoWithToken(t, member, "POST", "/api/v1/users",
		map[string]any{"name": "eve", "password": "long enough password", "role": "member"}, &p); code != http.StatusForbidden || !strings.Contains(p.Detail, "admin") {
		t.Fatalf("member adds a user: %d %+v", code, p)
	}
	for _, r := range []struct {
		method, path string
		body         map[string]any
	}{
		{"POST", "/api/v1/groups", map[string]any{"name": "x"}},
		{"PATCH", fmt.Sprintf("/api/v1/users/%d", maria), map[string]any{"role": "owner"}},
		{"POST", "/api/v1/workspaces", map[string]any{"name": "x"}},
	} {
		if code := srv.DoWithToken(t, member, r.method, r.path, r.body, nil); code != http.StatusForbidden {
			t.Fatalf("member %s %s: %d, want 403", r.method, r.path, code)
		}
	}
	var ul struct{ Users []user }
	if code := srv.DoWithToken(t, member, "GET", "/api/v1/users", nil, &ul); code != http.StatusOK || len(ul.Users) != 2 {
		t.Fatalf("acme's users: %d %+v", code, ul)
	}
	adminID := ul.Users[0].ID // by name: admin, maria

	// Groups: the admin builds one, the member lists it; a user of another workspace cannot join.
	var g struct {
		ID      int64
		Members []int64
	}
	if code := srv.DoIn(t, admin, acme.ID, "POST", "/api/v1/groups", map[string]any{"name": "sales"}, &g); code != http.StatusCreated {
		t.Fatalf("create group: %d", code)
	}
	if code := srv.DoIn(t, admin, acme.ID, "PUT", fmt.Sprintf("/api/v1/groups/%d/members/%d", g.ID, maria), nil, nil); code != http.StatusNoContent {
		t.Fatalf("add group member: %d", code)
	}
	var bob user
	if code := srv.Do(t, "POST", "/api/v1/users", map[string]any{"name": "bob", "password": "bob's long password", "role": "member"}, &bob); code != http.StatusCreated {
		t.Fatalf("add bob to default: %d", code)
	}
	if code := srv.DoIn(t, admin, acme.ID, "PUT", fmt.Sprintf("/api/v1/groups/%d/members/%d", g.ID, bob.ID), nil, nil); code != http.StatusNotFound {
		t.Fatalf("bob of default joins acme's group: %d, want 404", code)
	}
	if code := srv.DoWithToken(t, member, "GET", fmt.Sprintf("/api/v1/groups/%d", g.ID), nil, &g); code != http.StatusOK || len(g.Members) != 1 || g.Members[0] != maria {
		t.Fatalf("member reads the group: %d %+v", code, g)
	}
	if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/groups/%d", g.ID), nil, nil); code != http.StatusNotFound {
		t.Fatalf("acme's group read in default: %d, want 404", code)
	}
	if code := srv.DoWithToken(t, member, "DELETE", fmt.Sprintf("/api/v1/groups/%d", g.ID), nil, nil); code != http.StatusForbidden {
		t.Fatalf("member deletes the group: %d, want 403", code)
	}

	// Personal tokens: shown once, listed without the secret, revocable.
	var made newToken
	if code := srv.DoWithToken(t, member, "POST", "/api/v1/tokens", map[string]any{"name": "ci", "expires_in_days": 30}, &made); code != http.StatusCreated ||
		!strings.HasPrefix(made.Token, "jct_") || made.ExpiresAt == "" {
		t.Fatalf("create token: %d %+v", code, made)
	}
	var tl map[string][]map[string]any
	if code := srv.DoWithToken(t, made.Token, "GET", "/api/v1/tokens", nil, &tl); code != http.StatusOK || len(tl["tokens"]) != 2 {
		t.Fatalf("list tokens: %d %v", code, tl)
	}
	for _, tok := range tl["tokens"] {
		b, _ := json.Marshal(tok)
		if _, ok := tok["token"]; ok || strings.Contains(string(b), made.Token) || strings.Contains(string(b), auth.Hash(made.Token)) {
			t.Fatalf("a listed token shows its secret: %s", b)
		}
	}
	// Another user's token is not the member's to revoke, and does not exist for them.
	var adminTokens map[string][]map[string]any
	srv.Do(t, "GET", "/api/v1/tokens", nil, &adminTokens)
	adminTokenID := int64(adminTokens["tokens"][0]["id"].(float64))
	if code := srv.DoWithToken(t, member, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", adminTokenID), nil, nil); code != http.StatusNotFound {
		t.Fatalf("member revokes the admin's token: %d, want 404", code)
	}
	if code := srv.DoWithToken(t, member, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", made.ID), nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke token: %d", code)
	}
	if code := srv.DoWithToken(t, made.Token, "GET", "/api/v1/workspaces", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d, want 401", code)
	}
	// An expired token.
	past := time.Now().Add(-time.Minute)
	plain, hash, _ := auth.NewToken()
	expired := store.Token{WorkspaceID: acme.ID, UserID: &maria, Name: "old", ExpiresAt: &past}
	if err := srv.Server.Store.IssueToken(context.Background(), &expired, hash); err != nil {
		t.Fatal(err)
	}
	if code := srv.DoWithToken(t, plain, "GET", "/api/v1/workspaces", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("expired token: %d, want 401", code)
	}

	// The last owner stays.
	if code := srv.DoIn(t, admin, acme.ID, "PATCH", fmt.Sprintf("/api/v1/users/%d", adminID), map[string]any{"role": "admin"}, nil); code != http.StatusConflict {
		t.Fatalf("demote the last owner: %d, want 409", code)
	}
	if code := srv.DoIn(t, admin, acme.ID, "DELETE", fmt.Sprintf("/api/v1/users/%d", adminID), nil, nil); code != http.StatusConflict {
		t.Fatalf("remove the last owner: %d, want 409", code)
	}
	var u user
	if code := srv.DoIn(t, admin, acme.ID, "PATCH", fmt.Sprintf("/api/v1/users/%d", maria), map[string]any{"role": "owner"}, &u); code != http.StatusOK || u.Role != "owner" {
		t.Fatalf("make maria owner: %d %+v", code, u)
	}
	if code := srv.DoIn(t, admin, acme.ID, "PATCH", fmt.Sprintf("/api/v1/users/%d", adminID), map[string]any{"role": "admin"}, &u); code != http.StatusOK || u.Role != "admin" {
		t.Fatalf("demote the admin now that maria owns acme: %d %+v", code, u)
	}
	if code := srv.DoWithToken(t, member, "DELETE", fmt.Sprintf("/api/v1/users/%d", maria), nil, nil); code != http.StatusConflict {
		t.Fatalf("maria removes herself, the last owner: %d, want 409", code)
	}
}

func TestAccessLoginLimits(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	for i := 1; i <= 6; i++ {
		want := http.StatusUnauthorized
		if i == 6 {
			want = http.StatusTooManyRequests
		}
		if code := srv.DoWithToken(t, "", "POST", "/api/v1/login", map[string]any{"name": "admin", "password": "guess number " + fmt.Sprint(i)}, nil); code != want {
			t.Fatalf("login try %d: %d, want %d", i, code, want)
		}
	}
	// Another name still has its tries (the per-address limit is higher).
	if code := srv.DoWithToken(t, "", "POST", "/api/v1/login", map[string]any{"name": "nobody", "password": "whatever it is"}, nil); code != http.StatusUnauthorized {
		t.Fatalf("unknown name: %d, want 401", code)
	}

	// An integration user cannot log in, even with the right password.
	ctx := context.Background()
	hash, err := auth.HashPassword("integration password")
	if err != nil {
		t.Fatal(err)
	}
	bot := store.User{Name: "partner-bot", Kind: store.UserIntegration, PasswordHash: hash}
	if err := srv.Server.Store.CreateUser(ctx, &bot); err != nil {
		t.Fatal(err)
	}
	if err := srv.Server.Store.AddMember(ctx, 1, bot.ID, "member"); err != nil {
		t.Fatal(err)
	}
	if code := srv.DoWithToken(t, "", "POST", "/api/v1/login", map[string]any{"name": "partner-bot", "password": "integration password"}, nil); code != http.StatusForbidden {
		t.Fatalf("integration user logs in: %d, want 403", code)
	}
}

// doHeader sends a GET with the raw X-Junction-Workspace value.
func doHeader(t *testing.T, srv *servertest.Instance, token, ws, method, path string) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Junction-Workspace", ws)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAccessUpgradeKeepsOldTokens starts a server on a store whose token was made before
// users existed: the token keeps working, now as the user admin, owner of its workspace.
func TestAccessUpgradeKeepsOldTokens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "junction.db"))
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := st.EnsureWorkspace(ctx, "default")
	plain, hash, _ := auth.NewToken()
	if _, err := st.CreateToken(ctx, ws.ID, "first admin", hash, "owner", nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	srv, err := server.New(ctx, server.Config{DataDir: dir, Out: io.Discard,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	hs := httptest.NewServer(srv.Handler)
	defer hs.Close()
	req, _ := http.NewRequest("GET", hs.URL+"/api/v1/users", nil)
	req.Header.Set("Authorization", "Bearer "+plain)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ul struct{ Users []user }
	if err := json.NewDecoder(resp.Body).Decode(&ul); err != nil || resp.StatusCode != http.StatusOK ||
		len(ul.Users) != 1 || ul.Users[0].Name != "admin" || ul.Users[0].Role != "owner" {
		t.Fatalf("old token after the upgrade: %d %+v %v", resp.StatusCode, ul, err)
	}
}
