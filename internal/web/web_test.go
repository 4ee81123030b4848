package web_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/connector"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
	"github.com/junction-hub/junction/internal/testdb"
	"github.com/junction-hub/junction/internal/web"
)

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie {
			return c
		}
	}
	return nil
}

func TestSessionCookieFlags(t *testing.T) {
	in := startConsole(t)

	// Over plain HTTP: HttpOnly and SameSite, not Secure (the browser would drop it).
	resp := newBrowser(t, in.URL).login("admin", adminPassword)
	c := sessionCookie(resp)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.MaxAge <= 0 {
		t.Fatalf("session cookie over HTTP = %+v", c)
	}

	// Over TLS the same login sets a Secure cookie.
	get := httptest.NewRequest("GET", "https://junction.example/login", nil)
	get.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	in.Server.Handler.ServeHTTP(rec, get)
	var login *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "junction_login" {
			login = ck
		}
	}
	m := csrfInput.FindStringSubmatch(rec.Body.String())
	if login == nil || !login.Secure || m == nil {
		t.Fatalf("login page over TLS: cookie %+v, csrf found %v", login, m != nil)
	}
	form := url.Values{"csrf": {m[1]}, "name": {"admin"}, "password": {adminPassword}}
	post := httptest.NewRequest("POST", "https://junction.example/login", strings.NewReader(form.Encode()))
	post.TLS = &tls.ConnectionState{}
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.AddCookie(login)
	rec = httptest.NewRecorder()
	in.Server.Handler.ServeHTTP(rec, post)
	c = sessionCookie(rec.Result())
	if rec.Code != http.StatusSeeOther || c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("login over TLS: %d, cookie %+v", rec.Code, c)
	}
}

func TestCSRFAndOrigin(t *testing.T) {
	in := startConsole(t)
	b := newBrowser(t, in.URL)

	// The login form itself needs its token.
	if code, _, _, _ := b.post("/login", url.Values{"name": {"admin"}, "password": {adminPassword}}); code != http.StatusForbidden {
		t.Fatalf("login without CSRF token: %d, want 403", code)
	}
	b.login("admin", adminPassword)
	token := b.csrf("/connections")
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
		want   int
	}{
		{"no token", url.Values{"action": {"sync"}, "id": {"1"}}, "", http.StatusForbidden},
		{"wrong token", url.Values{"csrf": {"x" + token}, "action": {"sync"}, "id": {"1"}}, "", http.StatusForbidden},
		{"other origin", url.Values{"csrf": {token}, "action": {"sync"}, "id": {"1"}}, "https://evil.example", http.StatusForbidden},
		{"right token", url.Values{"csrf": {token}, "action": {"sync"}, "id": {"1"}}, "", http.StatusSeeOther},
		{"right token, same origin", url.Values{"csrf": {token}, "action": {"sync"}, "id": {"1"}}, in.URL, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", in.URL+"/connections/bulk", strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	// Logging out needs the token too; afterwards the old session opens nothing.
	if code, _, _, _ := b.post("/logout", url.Values{}); code != http.StatusForbidden {
		t.Fatalf("logout without token: %d, want 403", code)
	}
	u, _ := url.Parse(in.URL)
	old := b.c.Jar.Cookies(u)
	if code, _, loc, _ := b.post("/logout", url.Values{"csrf": {token}}); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("logout: %d → %s", code, loc)
	}
	replay := newBrowser(t, in.URL)
	replay.c.Jar.SetCookies(u, old)
	if code, _, loc := replay.get("/connections"); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("old session after logout: %d → %s, want a redirect to /login", code, loc)
	}
}

func TestLoginRefusals(t *testing.T) {
	in := startConsole(t)
	ctx := context.Background()
	st := in.Server.Store

	// An integration user never gets a console session, even with the right password.
	hash, err := auth.HashPassword(adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	bot := store.User{Name: "partner-bot", PasswordHash: hash, Kind: store.UserIntegration}
	if err := st.CreateUser(ctx, &bot); err != nil {
		t.Fatal(err)
	}
	wss, _ := st.WorkspacesOf(ctx, 1)
	if err := st.AddMember(ctx, wss[0].ID, bot.ID, auth.RoleMember); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, in.URL)
	code, body, _, resp := b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "name": {"partner-bot"}, "password": {adminPassword}})
	if code != http.StatusForbidden || !strings.Contains(body, "Integration users cannot log in") || sessionCookie(resp) != nil {
		t.Fatalf("integration user login: %d, session %v", code, sessionCookie(resp))
	}

	// Wrong passwords: refused with one message, then rate-limited like the API's login.
	for i := 1; i <= auth.LoginBurstPerName; i++ {
		code, body, _, _ := b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "name": {"ann"}, "password": {"wrong password " + fmt.Sprint(i)}})
		if i < auth.LoginBurstPerName && (code != http.StatusUnauthorized || !strings.Contains(body, "Wrong name or password")) {
			t.Fatalf("try %d: %d", i, code)
		}
		if strings.Contains(body, "wrong password") {
			t.Fatal("the typed password came back in the page")
		}
	}
	if code, body, _, _ := b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "name": {"ann"}, "password": {"x"}}); code != http.StatusTooManyRequests || !strings.Contains(body, "Too many login attempts") {
		t.Fatalf("try beyond the burst: %d", code)
	}
}

func TestOutOfScopeConnectionIs404(t *testing.T) {
	in := startConsole(t)
	addUser(t, in, "maria", auth.RoleMember)
	path := sqliteSource(t, 5)

	admin := newBrowser(t, in.URL)
	admin.login("admin", adminPassword)
	// The admin creates one connection for everyone and one restricted to the admin.
	for _, c := range []struct{ name, scope string }{{"public", "everyone"}, {"secret-erp", "restricted"}} {
		form := url.Values{"csrf": {admin.csrf("/connections/new")}, "name": {c.name}, "driver": {"sqlite"},
			"credentials.path": {path}, "scope": {c.scope}, "scope_user": {"1"}}
		code, body, loc, _ := admin.post("/connections/new", form)
		if code != http.StatusSeeOther || loc != "/connections" {
			t.Fatalf("create %s: %d\n%s", c.name, code, body)
		}
	}
	conns, err := in.Server.Store.ListConnections(context.Background(), 1)
	if err != nil || len(conns) != 2 {
		t.Fatalf("connections: %v %v", conns, err)
	}
	var hidden store.Connection
	for _, c := range conns {
		if c.Name == "secret-erp" {
			hidden = c
		}
	}
	if hidden.Scope.Mode != store.ScopeRestricted {
		t.Fatalf("secret-erp scope = %+v, want restricted", hidden.Scope)
	}

	member := newBrowser(t, in.URL)
	member.login("maria", adminPassword)
	_, list, _ := member.get("/connections")
	if !strings.Contains(list, "public") || strings.Contains(list, "secret-erp") {
		t.Fatal("the member's list shows the restricted connection, or not the public one")
	}
	if strings.Contains(list, `id="add-connection"`) || strings.Contains(list, `value="disable"`) || !strings.Contains(list, `value="sync"`) {
		t.Fatal("the member's list offers changes only admins may make, or no Synchronize")
	}
	if _, adminList, _ := admin.get("/connections"); !strings.Contains(adminList, `id="add-connection"`) || !strings.Contains(adminList, `value="disable"`) {
		t.Fatal("the admin's list lacks Add or Disable")
	}
	id := fmt.Sprint(hidden.ID)
	for _, p := range []string{"/connections/" + id, "/hub/" + id, "/hub/" + id + "?tab=records", "/hub/" + id + "/record?entity=products&key=SKU-000001"} {
		if code, body, _ := member.get(p); code != http.StatusNotFound || strings.Contains(body, "secret-erp") {
			t.Errorf("member GET %s: %d, want 404 without its name", p, code)
		}
	}
	token := member.csrf("/connections")
	if code, _, _, _ := member.post("/connections/"+id, url.Values{"csrf": {token}, "name": {"taken-over"}}); code != http.StatusNotFound {
		t.Errorf("member edits the restricted connection: %d, want 404", code)
	}
	member.post("/connections/bulk", url.Values{"csrf": {token}, "action": {"disable"}, "id": {id}})
	if c, _ := in.Server.Store.GetConnection(context.Background(), 1, hidden.ID); c.Status != store.StatusActive || c.Name != "secret-erp" {
		t.Fatalf("after the member's attempts: %+v", c)
	}
	// Its jobs are hidden too.
	if code, _ := jobsJSON(t, member); code != http.StatusOK {
		t.Fatalf("jobs json: %d", code)
	} else if _, body, _ := member.get("/processes.json?jobs=1"); strings.Contains(body, "secret-erp") {
		t.Fatal("the member's process list names the restricted connection")
	}
	if code, _, _ := admin.get("/connections/" + id); code != http.StatusOK {
		t.Fatalf("admin opens the restricted connection: %d", code)
	}

	// The public connection she sees and may sync, but changing connections is for admins.
	var public store.Connection
	for _, c := range conns {
		if c.Name == "public" {
			public = c
		}
	}
	pid := fmt.Sprint(public.ID)
	if code, page, _ := member.get(fmt.Sprintf("/connections/%d", public.ID)); code != http.StatusOK || strings.Contains(page, `id="save"`) {
		t.Fatalf("the member's view of a connection: %d, offers Save: %v", code, strings.Contains(page, `id="save"`))
	}
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/connections/new", url.Values{"name": {"mine"}, "driver": {"sqlite"}, "credentials.path": {path}}},
		{"/connections/" + pid, url.Values{"name": {"renamed"}}},
		{"/connections/bulk", url.Values{"action": {"disable"}, "id": {pid}}},
	} {
		tc.form.Set("csrf", token)
		if code, _, _, _ := member.post(tc.path, tc.form); code != http.StatusForbidden {
			t.Errorf("member POST %s: %d, want 403", tc.path, code)
		}
	}
	if code, _, _, _ := member.post("/connections/bulk", url.Values{"csrf": {token}, "action": {"sync"}, "id": {pid}}); code != http.StatusSeeOther {
		t.Errorf("member syncs the public connection: %d, want 303", code)
	}
	if c, _ := in.Server.Store.GetConnection(context.Background(), 1, public.ID); c.Status != store.StatusActive || c.Name != "public" {
		t.Fatalf("after the member's attempts: %+v", c)
	}
}

func jobsJSON(t *testing.T, b *browser) (int, string) {
	code, body, _ := b.get("/processes.json?jobs=1")
	return code, body
}

func TestSecretsNeverInHTML(t *testing.T) {
	dsn, name := testdb.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE items (id INT PRIMARY KEY, label TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	user, password := testdb.PostgresPasswordRole(t, name)

	in := startConsole(t)
	b := newBrowser(t, in.URL)
	b.login("admin", adminPassword)
	form := func(pw string) url.Values {
		return url.Values{"csrf": {b.csrf("/connections/new")}, "name": {"shop"}, "driver": {"postgres"},
			"credentials.database": {name}, "credentials.user": {user}, "credentials.password": {pw}, "settings.tables": {"items"}}
	}
	wrong := "wrong-" + password
	code, body, _, _ := b.post("/connections/new", form(wrong))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-credentials-password-error"`) {
		t.Fatalf("bad password: %d\n%s", code, body)
	}
	if strings.Contains(body, wrong) || strings.Contains(body, password) {
		t.Fatal("the typed password came back in the page")
	}
	if !strings.Contains(body, `value="`+user+`"`) || !strings.Contains(body, `value="items"`) {
		t.Fatal("what was typed (not secret) was not kept")
	}
	if code, body, loc, _ := b.post("/connections/new", form(password)); code != http.StatusSeeOther || loc != "/connections" {
		t.Fatalf("good password: %d\n%s", code, body)
	}
	_, list, _ := b.get("/connections")
	if !strings.Contains(list, "Sync triggered") {
		t.Fatal("no Sync triggered after creating")
	}
	conns, _ := in.Server.Store.ListConnections(context.Background(), 1)
	if len(conns) != 1 {
		t.Fatalf("connections: %d", len(conns))
	}
	_, edit, _ := b.get(fmt.Sprintf("/connections/%d", conns[0].ID))
	if strings.Contains(edit, password) {
		t.Fatal("the stored password is in the edit page")
	}
	if !strings.Contains(edit, "secret-state") {
		t.Fatal("the edit page does not say the password is set")
	}
	// Saving without typing the password keeps it: the re-check passes.
	save := url.Values{"csrf": {b.csrf("/connections/new")}, "name": {"shop"}, "credentials.database": {name},
		"credentials.user": {user}, "credentials.host": {"127.0.0.1"}, "credentials.port": {"5432"}, "settings.tables": {"items"},
		"settings.tls_mode": {"disable"}, "settings.schema": {"public"}}
	code, body, loc, _ := b.post(fmt.Sprintf("/connections/%d", conns[0].ID), save)
	if code != http.StatusSeeOther || loc != "/connections" {
		t.Fatalf("save with the password kept: %d\n%s", code, body)
	}
	if _, list, _ := b.get("/connections"); !strings.Contains(list, "saved. Sync triggered.") {
		t.Fatal("no Sync triggered after saving")
	}
}

func TestSettingsConnectors(t *testing.T) {
	in := startConsole(t)
	addUser(t, in, "maria", auth.RoleMember)
	d, ok := driver.Lookup("sqlite")
	if !ok {
		t.Fatal("no sqlite driver")
	}
	const secret = "connector-token-0123456789"
	srv := httptest.NewServer(connector.Handler(d, connector.HandlerOptions{Token: secret}))
	t.Cleanup(srv.Close)

	admin := newBrowser(t, in.URL)
	admin.login("admin", adminPassword)
	token := admin.csrf("/settings/connectors")
	// Without the auth header the connector refuses to give its spec: nothing is stored.
	code, body, _, _ := admin.post("/settings/connectors", url.Values{"csrf": {token}, "name": {"files"}, "url": {srv.URL}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "field-error") {
		t.Fatalf("register without auth: %d\n%s", code, body)
	}
	code, body, loc, _ := admin.post("/settings/connectors", url.Values{"csrf": {token}, "name": {"files"}, "url": {srv.URL},
		"auth_header": {"Bearer " + secret}})
	if code != http.StatusSeeOther || loc != "/settings/connectors" {
		t.Fatalf("register: %d\n%s", code, body)
	}
	_, page, _ := admin.get("/settings/connectors")
	if !strings.Contains(page, "Connector “files” registered") || !strings.Contains(page, srv.URL) || strings.Contains(page, secret) {
		t.Fatal("the connector is not listed, or its auth header is shown")
	}
	if _, form, _ := admin.get("/connections/new?driver=files"); !strings.Contains(form, `value="files" selected`) || !strings.Contains(form, `name="credentials.path"`) {
		t.Fatal("the registered connector is not a driver of the create form, with its spec's fields")
	}
	if code, _, _, _ := admin.post("/settings/connectors/files/refresh", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
		t.Fatalf("refresh: %d", code)
	}
	if _, page, _ := admin.get("/settings/connectors"); !strings.Contains(page, "Connector “files” refreshed.") {
		t.Fatal("no refresh message")
	}

	// Members see the list but may not change it.
	member := newBrowser(t, in.URL)
	member.login("maria", adminPassword)
	mtoken := member.csrf("/settings/connectors")
	if code, _, _, _ := member.post("/settings/connectors/files/remove", url.Values{"csrf": {mtoken}}); code != http.StatusForbidden {
		t.Fatalf("member removes a connector: %d, want 403", code)
	}
	if code, _, _, _ := admin.post("/settings/connectors/files/remove", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
		t.Fatalf("remove: %d", code)
	}
	if _, page, _ := admin.get("/settings/connectors"); !strings.Contains(page, "Connector “files” removed.") || strings.Contains(page, srv.URL) {
		t.Fatal("the connector is still listed after removing it")
	}
}

func TestWorkspaceSwitcher(t *testing.T) {
	in := startConsole(t)
	var ws struct {
		ID int64 `json:"id"`
	}
	if code := in.Do(t, "POST", "/api/v1/workspaces", map[string]any{"name": "acme"}, &ws); code != http.StatusCreated {
		t.Fatalf("create workspace: %d", code)
	}
	other, err := in.Server.Store.EnsureWorkspace(context.Background(), "not-yours")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, in.URL)
	b.login("admin", adminPassword)
	token := b.csrf("/connections")
	if code, _, _, _ := b.post("/workspace", url.Values{"csrf": {token}, "workspace": {fmt.Sprint(other.ID)}}); code != http.StatusNotFound {
		t.Fatalf("switch to a workspace one is no member of: %d, want 404", code)
	}
	if code, _, _, _ := b.post("/workspace", url.Values{"csrf": {token}, "workspace": {fmt.Sprint(ws.ID)}}); code != http.StatusSeeOther {
		t.Fatalf("switch: %d", code)
	}
	_, page, _ := b.get("/connections")
	if !strings.Contains(page, fmt.Sprintf(`<option value="%d" selected>acme (owner)</option>`, ws.ID)) {
		t.Fatal("the switcher does not show acme as the current workspace")
	}
}

func TestAuditCancelAndIdleSession(t *testing.T) {
	in := startConsole(t)
	ctx := context.Background()
	st := in.Server.Store
	b := newBrowser(t, in.URL)
	b.login("admin", adminPassword)
	form := url.Values{"csrf": {b.csrf("/connections/new")}, "name": {"files"}, "driver": {"sqlite"}, "credentials.path": {sqliteSource(t, 3)}}
	if code, body, _, _ := b.post("/connections/new", form); code != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", code, body)
	}

	// Changes made in the console are audited under the person, with no token.
	entries, err := st.ListAudit(ctx, store.AuditFilter{WorkspaceID: 1, ObjectKind: "connection"})
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit: %v %v", entries, err)
	}
	last := entries[len(entries)-1]
	if last.Action != "create" || last.UserName != "admin" || last.TokenID != nil || last.ObjectName != "files" {
		t.Fatalf("audit entry = %+v", last)
	}

	// A job that has not run yet is cancelled from Processes.
	conns, _ := st.ListConnections(ctx, 1)
	j := store.Job{WorkspaceID: 1, ConnectionID: &conns[0].ID, Kind: store.KindCheck, MaxAttempts: 1}
	if err := st.CreateJob(ctx, &j); err != nil {
		t.Fatal(err)
	}
	if _, page, _ := b.get("/processes"); !strings.Contains(page, fmt.Sprintf(`action="/processes/%d/cancel"`, j.ID)) {
		t.Fatal("no cancel button for the pending job")
	}
	code, _, loc, _ := b.post(fmt.Sprintf("/processes/%d/cancel", j.ID), url.Values{"csrf": {b.csrf("/processes")}, "back": {"/processes"}})
	if code != http.StatusSeeOther || loc != "/processes" {
		t.Fatalf("cancel: %d → %s", code, loc)
	}
	got, _ := st.GetJob(ctx, 1, j.ID)
	if got.State != store.JobCancelled && !got.CancelRequested {
		t.Fatalf("after cancel: %+v", got)
	}
	if _, body, _ := b.get(fmt.Sprintf("/processes/%d/json", j.ID)); !strings.Contains(body, `"state":"`+got.State+`"`) {
		t.Fatalf("job json after cancel: %s, want state %s", body, got.State)
	}

	// A session unused for longer than SessionIdle ends.
	if _, err := st.WriteDB().ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1`, time.Now().Add(-web.SessionIdle-time.Minute).UTC()); err != nil {
		t.Fatal(err)
	}
	if code, _, loc := b.get("/connections"); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("idle session: %d → %s, want a redirect to /login", code, loc)
	}
	if code, _, _ := b.get("/processes.json"); code != http.StatusUnauthorized {
		t.Fatalf("idle session's JSON: %d, want 401", code)
	}
}
