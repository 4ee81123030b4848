package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/connector"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/store"
)

// The identities of the authorization matrix, in the order the expectations list them.
var matrixIdentities = []string{
	"anon",       // no token
	"expired",    // a member's token past its expiry
	"revoked",    // a member's revoked token
	"foreign",    // a member of another workspace, acting there, naming this one's ids
	"outscope",   // a member of the workspace outside the connection's scope
	"inscope",    // a member in the connection's scope (through a group)
	"admin",      // an admin of the workspace
	"owner",      // the workspace's owner, a server admin (the bootstrap token)
	"intgrant",   // an integration token granted what the route needs
	"intnogrant", // an integration token granted the connection, but another entity only
}

// route is one operation of the API with what each identity must get.
type route struct {
	method string
	path   func(f *authzFixture, who string) string // who is the identity, for fresh objects
	body   func(f *authzFixture, who string) any
	want   string // one status per identity, in matrixIdentities order
	// lists: the answer must not name the restricted connection for identities that may
	// not see it.
	list bool
}

// authzFixture is what the matrix acts on.
type authzFixture struct {
	t      *testing.T
	srv    *servertest.Instance
	tokens map[string]string // identity → bearer token ("" for anon)
	// conn is the restricted connection (scope: the group "sales"); its name must
	// not leak to anyone outside that scope.
	conn, connJob, group, ivan, flow int64
	connName, source, connectorURL   string
	seq                              int
}

func (f *authzFixture) next() int { f.seq++; return f.seq }

// freshConnection makes another connection restricted like f.conn, inactive when asked.
func (f *authzFixture) freshConnection(inactive bool) int64 {
	f.t.Helper()
	var c connWithJob
	if code := f.srv.Do(f.t, "POST", "/api/v1/connections", map[string]any{
		"name": fmt.Sprintf("fresh-%d", f.next()), "driver": "sqlite", "credentials": map[string]any{"path": f.source},
		"scope": map[string]any{"mode": "restricted", "groups": []int64{f.group}},
	}, &c); code != http.StatusCreated {
		f.t.Fatalf("fresh connection: %d", code)
	}
	f.srv.WaitJob(f.t, *c.JobID, time.Minute)
	if inactive {
		if code := f.srv.Do(f.t, "POST", fmt.Sprintf("/api/v1/connections/%d/disable", c.Connection.ID), nil, nil); code != http.StatusAccepted {
			f.t.Fatalf("disable fresh connection: %d", code)
		}
	}
	return c.Connection.ID
}

func (f *authzFixture) freshGroup() int64 {
	f.t.Helper()
	var g struct{ ID int64 }
	if code := f.srv.Do(f.t, "POST", "/api/v1/groups", map[string]any{"name": fmt.Sprintf("g%d", f.next())}, &g); code != http.StatusCreated {
		f.t.Fatalf("fresh group: %d", code)
	}
	return g.ID
}

func (f *authzFixture) freshUser() int64 {
	f.t.Helper()
	var u user
	if code := f.srv.Do(f.t, "POST", "/api/v1/users", map[string]any{"name": fmt.Sprintf("u%d", f.next()),
		"password": "a long enough password", "role": "member"}, &u); code != http.StatusCreated {
		f.t.Fatalf("fresh user: %d", code)
	}
	return u.ID
}

func (f *authzFixture) freshConnector() string {
	f.t.Helper()
	name := fmt.Sprintf("conn%d", f.next())
	if code := f.srv.Do(f.t, "POST", "/api/v1/connectors", map[string]any{"name": name, "url": f.connectorURL}, nil); code != http.StatusCreated {
		f.t.Fatalf("fresh connector: %d", code)
	}
	return name
}

// ivanToken is a fresh personal token of ivan's, to revoke.
func (f *authzFixture) ivanToken() int64 {
	f.t.Helper()
	var nt newToken
	if code := f.srv.DoWithToken(f.t, f.tokens["inscope"], "POST", "/api/v1/tokens", map[string]any{"name": fmt.Sprintf("t%d", f.next())}, &nt); code != http.StatusCreated {
		f.t.Fatalf("fresh token: %d", code)
	}
	return nt.ID
}

// onConn is the path of the restricted connection, or of one of its sub-resources.
func onConn(suffix string) func(*authzFixture, string) string {
	return func(f *authzFixture, _ string) string { return fmt.Sprintf("/api/v1/connections/%d%s", f.conn, suffix) }
}

func fixed(p string) func(*authzFixture, string) string {
	return func(*authzFixture, string) string { return p }
}

func body(v any) func(*authzFixture, string) any { return func(*authzFixture, string) any { return v } }

// The expectations below read as: anon expired revoked foreign outscope inscope admin owner
// intgrant intnogrant.
const (
	onConnRead   = "401 401 401 404 404 200 200 200 200 200" // reading a connection
	onConnMember = "401 401 401 404 404 %[1]d %[1]d %[1]d 403 403"
	onConnAdmin  = "401 401 401 404 404 403 %[1]d %[1]d 403 403"
	wsMember     = "401 401 401 %[1]d %[1]d %[1]d %[1]d %[1]d 403 403" // any member of a workspace, in their own
	wsAdmin      = "401 401 401 403 403 403 %[1]d %[1]d 403 403"
)

func want(pattern string, status int) string { return fmt.Sprintf(pattern, status) }

func authzRoutes() map[string]route {
	return map[string]route{
		// connections
		"list-connections": {method: "GET", path: fixed("/api/v1/connections"), want: "401 401 401 200 200 200 200 200 200 200", list: true},
		"create-connection": {method: "POST", path: fixed("/api/v1/connections"),
			body: func(f *authzFixture, who string) any {
				return map[string]any{"name": fmt.Sprintf("new-%d", f.next()), "driver": "sqlite", "credentials": map[string]any{"path": f.source}}
			}, want: want(wsAdmin, 201)},
		"bulk-connections": {method: "POST", path: fixed("/api/v1/connections/bulk"),
			body: func(f *authzFixture, who string) any {
				return map[string]any{"action": "disable", "ids": []int64{f.freshConnection(false)}}
			}, want: want(wsAdmin, 200)},
		"get-connection": {method: "GET", path: onConn(""), want: onConnRead},
		"update-connection": {method: "PATCH", path: onConn(""),
			body: body(map[string]any{"description": "changed"}), want: want(onConnAdmin, 200)},
		"delete-connection": {method: "DELETE", path: func(f *authzFixture, who string) string {
			return fmt.Sprintf("/api/v1/connections/%d", f.freshConnection(true))
		}, want: want(onConnAdmin, 202)},
		"check-connection": {method: "POST", path: onConn("/check"), want: want(onConnMember, 200)},
		"sync-connection":  {method: "POST", path: onConn("/sync"), want: want(onConnMember, 202)},
		"enable-connection": {method: "POST", path: func(f *authzFixture, who string) string {
			return fmt.Sprintf("/api/v1/connections/%d/enable", f.freshConnection(true))
		}, want: "401 401 401 404 404 403 202 202 403 403"},
		"disable-connection": {method: "POST", path: func(f *authzFixture, who string) string {
			return fmt.Sprintf("/api/v1/connections/%d/disable", f.freshConnection(false))
		}, want: "401 401 401 404 404 403 202 202 403 403"},
		"get-catalog":          {method: "GET", path: onConn("/catalog"), want: onConnRead},
		"list-catalog-changes": {method: "GET", path: onConn("/catalog/changes"), want: want(onConnMember, 200)},
		"list-records": {method: "GET", path: onConn("/records?entity=items"),
			want: "401 401 401 404 404 200 200 200 200 403"},
		"write-records": {method: "POST", path: onConn("/records"),
			body: body(map[string]any{"entity": "items", "records": []map[string]any{
				{"key": "1", "op": "update", "fields": map[string]any{"name": "renamed"}}}}),
			want: "401 401 401 404 404 403 200 200 200 403"},

		// jobs
		"list-jobs": {method: "GET", path: fixed("/api/v1/jobs"), want: want(wsMember, 200), list: true},
		"get-job": {method: "GET", path: func(f *authzFixture, _ string) string { return fmt.Sprintf("/api/v1/jobs/%d", f.connJob) },
			want: onConnRead},
		"cancel-job": {method: "POST", path: func(f *authzFixture, _ string) string { return fmt.Sprintf("/api/v1/jobs/%d/cancel", f.connJob) },
			want: want(onConnMember, 202)}, // cancelling a finished job changes nothing

		// drivers and connectors
		"list-drivers":    {method: "GET", path: fixed("/api/v1/drivers"), want: want(wsMember, 200)},
		"list-connectors": {method: "GET", path: fixed("/api/v1/connectors"), want: want(wsMember, 200)},
		"create-connector": {method: "POST", path: fixed("/api/v1/connectors"),
			body: func(f *authzFixture, _ string) any {
				return map[string]any{"name": fmt.Sprintf("reg%d", f.next()), "url": f.connectorURL}
			}, want: want(wsAdmin, 201)},
		"refresh-connector": {method: "POST", path: func(f *authzFixture, _ string) string {
			return "/api/v1/connectors/" + f.freshConnector() + "/refresh"
		}, want: "401 401 401 403 403 403 200 200 403 403"},
		"delete-connector": {method: "DELETE", path: func(f *authzFixture, _ string) string {
			return "/api/v1/connectors/" + f.freshConnector()
		}, want: "401 401 401 403 403 403 204 204 403 403"},

		// users, groups, workspaces, tokens, audit
		"list-users": {method: "GET", path: fixed("/api/v1/users"), want: want(wsMember, 200), list: true},
		"create-user": {method: "POST", path: fixed("/api/v1/users"), body: func(f *authzFixture, _ string) any {
			return map[string]any{"name": fmt.Sprintf("new%d", f.next()), "password": "a long enough password", "role": "member"}
		}, want: want(wsAdmin, 201)},
		"update-user": {method: "PATCH", path: func(f *authzFixture, _ string) string { return fmt.Sprintf("/api/v1/users/%d", f.freshUser()) },
			body: body(map[string]any{"role": "admin"}), want: "401 401 401 404 403 403 200 200 403 403"},
		"delete-user": {method: "DELETE", path: func(f *authzFixture, _ string) string { return fmt.Sprintf("/api/v1/users/%d", f.freshUser()) },
			want: want(wsAdmin, 204)},
		"list-groups": {method: "GET", path: fixed("/api/v1/groups"), want: want(wsMember, 200), list: true},
		"create-group": {method: "POST", path: fixed("/api/v1/groups"), body: func(f *authzFixture, _ string) any {
			return map[string]any{"name": fmt.Sprintf("new%d", f.next())}
		}, want: want(wsAdmin, 201)},
		"get-group": {method: "GET", path: func(f *authzFixture, _ string) string { return fmt.Sprintf("/api/v1/groups/%d", f.group) },
			want: "401 401 401 404 200 200 200 200 403 403"},
		"update-group": {method: "PATCH", path: func(f *authzFixture, _ string) string { return fmt.Sprintf("/api/v1/groups/%d", f.freshGroup()) },
			body: func(f *authzFixture, _ string) any { return map[string]any{"name": fmt.Sprintf("renamed%d", f.next())} },
			want: "401 401 401 403 403 403 200 200 403 403"},
		"delete-group": {method: "DELETE", path: func(f *authzFixture, _ string) string { return fmt.Sprintf("/api/v1/groups/%d", f.freshGroup()) },
			want: "401 401 401 403 403 403 204 204 403 403"},
		"add-group-member": {method: "PUT", path: func(f *authzFixture, _ string) string {
			return fmt.Sprintf("/api/v1/groups/%d/members/%d", f.freshGroup(), f.ivan)
		}, want: "401 401 401 403 403 403 204 204 403 403"},
		"remove-group-member": {method: "DELETE", path: func(f *authzFixture, _ string) string {
			g := f.freshGroup()
			if code := f.srv.Do(f.t, "PUT", fmt.Sprintf("/api/v1/groups/%d/members/%d", g, f.ivan), nil, nil); code != http.StatusNoContent {
				f.t.Fatalf("add ivan to group: %d", code)
			}
			return fmt.Sprintf("/api/v1/groups/%d/members/%d", g, f.ivan)
		}, want: "401 401 401 403 403 403 204 204 403 403"},
		"list-workspaces": {method: "GET", path: fixed("/api/v1/workspaces"), want: want(wsMember, 200), list: true},
		"create-workspace": {method: "POST", path: fixed("/api/v1/workspaces"), body: func(f *authzFixture, _ string) any {
			return map[string]any{"name": fmt.Sprintf("ws%d", f.next())}
		}, want: "401 401 401 403 403 403 403 201 403 403"},
		"list-tokens": {method: "GET", path: fixed("/api/v1/tokens"), want: want(wsMember, 200)},
		"create-token": {method: "POST", path: fixed("/api/v1/tokens"), body: func(f *authzFixture, _ string) any {
			return map[string]any{"name": fmt.Sprintf("t%d", f.next())}
		}, want: want(wsMember, 201)},
		// Revoking a token of ivan (inscope): his own; any of the workspace's for admins;
		// another's token does not exist for anyone else.
		"revoke-token": {method: "DELETE", path: func(f *authzFixture, who string) string { return fmt.Sprintf("/api/v1/tokens/%d", f.ivanToken()) },
			want: "401 401 401 404 404 204 204 204 403 403"},
		// Login ignores the token: a wrong name and password is 401 for all.
		"login": {method: "POST", path: fixed("/api/v1/login"), body: func(f *authzFixture, _ string) any {
			return map[string]any{"name": fmt.Sprintf("nobody%d", f.next()), "password": "not a password"}
		}, want: "401 401 401 401 401 401 401 401 401 401"},
		"list-integration-tokens": {method: "GET", path: fixed("/api/v1/integration-tokens"), want: want(wsAdmin, 200)},
		"create-integration-token": {method: "POST", path: fixed("/api/v1/integration-tokens"), body: func(f *authzFixture, _ string) any {
			return map[string]any{"user": "partner", "name": fmt.Sprintf("it%d", f.next()),
				"grants": []map[string]any{{"connection": f.conn, "entity": "items", "access": "read"}}}
		}, want: want(wsAdmin, 201)},
		"list-audit": {method: "GET", path: fixed("/api/v1/audit"), want: want(wsAdmin, 200), list: true},

		// flows: on the restricted connection; intgrant holds the run grant on f.flow
		"list-flows": {method: "GET", path: fixed("/api/v1/flows"), want: "401 401 401 200 200 200 200 200 200 200", list: true},
		"create-flow": {method: "POST", path: fixed("/api/v1/flows"), body: func(f *authzFixture, _ string) any {
			return authzFlow(f.conn, fmt.Sprintf("flow %d", f.next()))
		}, want: want(wsAdmin, 201)},
		"get-flow": {method: "GET", path: onFlow(""), want: "401 401 401 404 404 200 200 200 200 200"},
		"update-flow": {method: "PUT", path: onFlow(""), body: func(f *authzFixture, _ string) any { return authzFlow(f.conn, "flow") },
			want: want(onConnAdmin, 200)},
		"delete-flow": {method: "DELETE", path: func(f *authzFixture, _ string) string {
			return fmt.Sprintf("/api/v1/flows/%d", f.freshFlow())
		}, want: want(onConnAdmin, 204)},
		"run-flow":            {method: "POST", path: onFlow("/run"), want: "401 401 401 404 404 202 202 202 202 403"},
		"dry-run-flow":        {method: "POST", path: onFlow("/dry-run"), want: "401 401 401 404 404 200 200 200 200 200"},
		"list-flow-failures":  {method: "GET", path: onFlow("/failed"), want: "401 401 401 404 404 200 200 200 200 200"},
		"retry-flow-failures": {method: "POST", path: onFlow("/failed/retry"), want: "401 401 401 404 404 202 202 202 202 403"},
		"list-flow-links":     {method: "GET", path: onFlow("/links"), want: "401 401 401 404 404 200 200 200 200 200"},
	}
}

// onFlow is the path of the fixture's flow, or of one of its sub-resources.
func onFlow(suffix string) func(*authzFixture, string) string {
	return func(f *authzFixture, _ string) string { return fmt.Sprintf("/api/v1/flows/%d%s", f.flow, suffix) }
}

// authzFlow is a flow from the restricted connection's items to its other table.
func authzFlow(conn int64, name string) map[string]any {
	return map[string]any{"name": name, "trigger": "manual", "write_mode": "upsert",
		"source": map[string]any{"connection_id": conn, "entity": "items"},
		"target": map[string]any{"connection_id": conn, "entity": "other"},
		"fields": map[string]any{"id": map[string]any{"source": "id"}, "note": map[string]any{"source": "name"}}}
}

func (f *authzFixture) freshFlow() int64 {
	f.t.Helper()
	var fl struct{ ID int64 }
	if code := f.srv.Do(f.t, "POST", "/api/v1/flows", authzFlow(f.conn, fmt.Sprintf("fresh flow %d", f.next())), &fl); code != http.StatusCreated {
		f.t.Fatalf("fresh flow: %d", code)
	}
	return fl.ID
}

// TestAuthorizationMatrix walks every operation of the API, read from the OpenAPI document
// the router serves (so a new route without an entry here fails), with every identity,
// and checks each gets exactly the expected status and that no list names the restricted
// connection to anyone outside its scope.
func TestAuthorizationMatrix(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	f := newAuthzFixture(t, srv)
	routes := authzRoutes()

	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if code := srv.DoWithToken(t, "", "GET", "/api/v1/openapi.json", nil, &doc); code != http.StatusOK {
		t.Fatalf("openapi: %d", code)
	}
	var ops []string
	for _, methods := range doc.Paths {
		for _, op := range methods {
			ops = append(ops, op.OperationID)
		}
	}
	sort.Strings(ops)
	seen := map[string]bool{}
	cells := 0
	for _, op := range ops {
		seen[op] = true
		r, ok := routes[op]
		if !ok {
			t.Errorf("operation %s has no entry in the authorization matrix: add one", op)
			continue
		}
		wants := strings.Fields(r.want)
		if len(wants) != len(matrixIdentities) {
			t.Fatalf("%s: %d expectations for %d identities", op, len(wants), len(matrixIdentities))
		}
		for i, who := range matrixIdentities {
			path := r.path(f, who)
			var in any
			if r.body != nil {
				in = r.body(f, who)
			}
			var raw json.RawMessage
			code := f.do(who, r.method, path, in, &raw)
			cells++
			if fmt.Sprint(code) != wants[i] {
				t.Errorf("%s %s as %s: %d, want %s: %s", r.method, path, who, code, wants[i], raw)
				continue
			}
			if r.list && code == http.StatusOK && !f.maySee(who) && strings.Contains(string(raw), f.connName) {
				t.Errorf("%s %s as %s lists the restricted connection: %s", r.method, path, who, raw)
			}
		}
	}
	for op := range routes {
		if !seen[op] {
			t.Errorf("the matrix has an entry for %s, which the API does not have", op)
		}
	}
	t.Logf("FIGURE authorization matrix: %d operations × %d identities = %d requests", len(ops), len(matrixIdentities), cells)
}

// maySee says whether the identity may see the restricted connection.
func (f *authzFixture) maySee(who string) bool {
	switch who {
	case "inscope", "admin", "owner", "intgrant", "intnogrant":
		return true
	}
	return false
}

func (f *authzFixture) do(who, method, path string, in, out any) int {
	f.t.Helper()
	return f.srv.DoWithToken(f.t, f.tokens[who], method, path, in, out)
}

func newAuthzFixture(t *testing.T, srv *servertest.Instance) *authzFixture {
	f := &authzFixture{t: t, srv: srv, tokens: map[string]string{"anon": "", "owner": srv.Token}}
	f.source = seedAuthzSource(t)

	// The connector the connector routes register: the sqlite driver served over the protocol.
	d, _ := driver.Lookup("sqlite")
	cs := httptest.NewServer(connector.Handler(d, connector.HandlerOptions{}))
	t.Cleanup(cs.Close)
	f.connectorURL = cs.URL

	// People: ivan (member, in the group sales), olga (member), ada (admin), and carl,
	// a member of another workspace only.
	login := func(name string) string {
		var nt newToken
		if code := srv.DoWithToken(t, "", "POST", "/api/v1/login", map[string]any{"name": name, "password": name + "'s long password"}, &nt); code != http.StatusOK {
			t.Fatalf("login %s: %d", name, code)
		}
		return nt.Token
	}
	addUser := func(ws int64, name, role string) int64 {
		var u user
		if code := srv.DoIn(t, srv.Token, ws, "POST", "/api/v1/users",
			map[string]any{"name": name, "password": name + "'s long password", "role": role}, &u); code != http.StatusCreated {
			t.Fatalf("add %s: %d", name, code)
		}
		return u.ID
	}
	f.ivan = addUser(0, "ivan", "member")
	addUser(0, "olga", "member")
	addUser(0, "ada", "admin")
	var other workspace
	if code := srv.Do(t, "POST", "/api/v1/workspaces", map[string]any{"name": "other"}, &other); code != http.StatusCreated {
		t.Fatalf("other workspace: %d", code)
	}
	addUser(other.ID, "carl", "member")
	f.tokens["inscope"], f.tokens["outscope"], f.tokens["admin"], f.tokens["foreign"] = login("ivan"), login("olga"), login("ada"), login("carl")

	var g struct{ ID int64 }
	if code := srv.Do(t, "POST", "/api/v1/groups", map[string]any{"name": "sales"}, &g); code != http.StatusCreated {
		t.Fatalf("group: %d", code)
	}
	f.group = g.ID
	if code := srv.Do(t, "PUT", fmt.Sprintf("/api/v1/groups/%d/members/%d", g.ID, f.ivan), nil, nil); code != http.StatusNoContent {
		t.Fatalf("ivan joins sales: %d", code)
	}

	// The restricted connection, synced once.
	f.connName = "restricted-ledger-7c1e"
	var c connWithJob
	if code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{
		"name": f.connName, "driver": "sqlite", "credentials": map[string]any{"path": f.source},
		"scope": map[string]any{"mode": "restricted", "groups": []int64{f.group}},
	}, &c); code != http.StatusCreated {
		t.Fatalf("restricted connection: %d", code)
	}
	f.conn, f.connJob = c.Connection.ID, *c.JobID
	srv.WaitJob(t, f.connJob, time.Minute)
	f.flow = f.freshFlow()

	// Integration tokens: one granted items (read and write) and the flow (run), one
	// granted only "other" and the flow to read, not to run.
	integration := func(name, entity, access string, more ...map[string]any) string {
		var nt newToken
		grants := append([]map[string]any{{"connection": f.conn, "entity": entity, "access": access}}, more...)
		if code := srv.Do(t, "POST", "/api/v1/integration-tokens", map[string]any{"user": "partner", "name": name,
			"grants": grants}, &nt); code != http.StatusCreated {
			t.Fatalf("integration token %s: %d", name, code)
		}
		return nt.Token
	}
	f.tokens["intgrant"] = integration("granted", "items", "write", map[string]any{"flow": f.flow, "access": "run"})
	f.tokens["intnogrant"] = integration("narrow", "other", "read", map[string]any{"flow": f.flow, "access": "read"})

	// A member's expired token and a revoked one.
	plain, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour).UTC()
	ivan := f.ivan
	var wl struct{ Workspaces []workspace }
	srv.Do(t, "GET", "/api/v1/workspaces", nil, &wl)
	var def int64
	for _, w := range wl.Workspaces {
		if w.Name == "default" {
			def = w.ID
		}
	}
	if err := srv.Server.Store.IssueToken(context.Background(), &store.Token{WorkspaceID: def, UserID: &ivan, Name: "old", ExpiresAt: &past}, hash); err != nil {
		t.Fatal(err)
	}
	f.tokens["expired"] = plain
	var rv newToken
	if code := srv.DoWithToken(t, f.tokens["inscope"], "POST", "/api/v1/tokens", map[string]any{"name": "to revoke"}, &rv); code != http.StatusCreated {
		t.Fatalf("token to revoke: %d", code)
	}
	if code := srv.DoWithToken(t, f.tokens["inscope"], "DELETE", fmt.Sprintf("/api/v1/tokens/%d", rv.ID), nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	f.tokens["revoked"] = rv.Token
	return f
}

// seedAuthzSource is a SQLite database with two tables, items and other.
func seedAuthzSource(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authz.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at TIMESTAMP NOT NULL);
		INSERT INTO items VALUES (1, 'one', '2026-01-01 00:00:00'), (2, 'two', '2026-01-01 00:00:00');
		CREATE TABLE other (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
		INSERT INTO other VALUES (1, 'x');`); err != nil {
		t.Fatal(err)
	}
	return path
}
