package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/store"
)

// sqliteTarget makes an empty SQLite file with an items table for flows to write into.
func sqliteTarget(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "target.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE items (code TEXT PRIMARY KEY, label TEXT NOT NULL, price REAL)`); err != nil {
		t.Fatal(err)
	}
	return path
}

// apiConnection creates a SQLite connection through the API and waits for its first sync.
func apiConnection(t *testing.T, in *servertest.Instance, name, path string, scope map[string]any) int64 {
	t.Helper()
	var c struct {
		Connection struct {
			ID int64 `json:"id"`
		} `json:"connection"`
		JobID *int64 `json:"job_id"`
	}
	body := map[string]any{"name": name, "driver": "sqlite", "credentials": map[string]any{"path": path}}
	if scope != nil {
		body["scope"] = scope
	}
	if code := in.Do(t, "POST", "/api/v1/connections", body, &c); code != http.StatusCreated {
		t.Fatalf("create connection %s: %d", name, code)
	}
	if j := in.WaitJob(t, *c.JobID, time.Minute); j.State != store.JobSucceeded {
		t.Fatalf("first sync of %s: %+v", name, j)
	}
	return c.Connection.ID
}

// itemsFlowForm is the create form for products → items with the label from a template.
func itemsFlowForm(csrf string, source, target int64, labelTemplate string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {"products to items"},
		"source": {fmt.Sprintf("%d:products", source)}, "target": {fmt.Sprintf("%d:items", target)},
		"trigger": {"manual"}, "write_mode": {"create"}, "priority": {"source"}, "rows": {"3"},
		"r0.name": {"code"}, "r0.type": {"string"}, "r0.kind": {"source"}, "r0.source": {"sku"},
		"r1.name": {"label"}, "r1.type": {"string"}, "r1.kind": {"template"}, "r1.value": {labelTemplate},
		"r2.name": {"price"}, "r2.type": {"number"}, "r2.kind": {"constant"}, "r2.value": {"9.5"}}
}

// TestFlowFormsAndAccess covers the flow screens without a browser: a field error beside
// its row with nothing stored, the rules of the API for members (403 to change, 404 out of
// scope) and the CSRF token on every change.
func TestFlowFormsAndAccess(t *testing.T) {
	in := startConsole(t)
	ctx := context.Background()
	addUser(t, in, "maria", auth.RoleMember)
	src := apiConnection(t, in, "catalogue", sqliteSource(t, 3), nil)
	dstPath := sqliteTarget(t)
	dst := apiConnection(t, in, "web-items", dstPath, nil)
	hidden := apiConnection(t, in, "secret-items", sqliteTarget(t), map[string]any{"mode": "restricted", "users": []int64{1}})

	admin := newBrowser(t, in.URL)
	admin.login("admin", adminPassword)
	token := admin.csrf("/flows/new")
	if _, page, _ := admin.get("/flows/new"); !strings.Contains(page, `label="web-items"`) || !strings.Contains(page, `value="1:products"`) {
		t.Fatal("the create form does not offer the connections' entities")
	}

	// A template naming an attribute the source lacks: the error beside the row, what was
	// typed kept, nothing stored.
	code, body, _, _ := admin.post("/flows/new", itemsFlowForm(token, src, dst, "{{title}} ({{colour}})"))
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("bad template: %d\n%s", code, body)
	}
	if !strings.Contains(body, `id="r1-error"`) || !strings.Contains(body, `template: the source entity products has no attribute &#34;colour&#34;`) {
		t.Fatalf("no error beside the label row:\n%s", body)
	}
	if !strings.Contains(body, `value="{{title}} ({{colour}})"`) || !strings.Contains(body, `value="9.5"`) {
		t.Fatal("what was typed was not kept")
	}
	if list, _ := in.Server.Store.ListFlows(ctx, 1); len(list) != 0 {
		t.Fatalf("a flow was stored despite the error: %+v", list)
	}
	// Advanced JSON that is not JSON is an error beside the textarea.
	bad := itemsFlowForm(token, src, dst, "{{title}}")
	bad.Set("advanced", `{"removal": {"policy": "delete"`)
	if code, body, _, _ := admin.post("/flows/new", bad); code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="fl-advanced-error"`) {
		t.Fatalf("bad advanced JSON: %d", code)
	}

	// Refreshing the table (what the form does without script when another entity is
	// chosen) stores nothing and keeps what was typed.
	refresh := itemsFlowForm(token, src, dst, "{{title}} by hand")
	refresh.Set("step", "refresh")
	if code, body, _, _ := admin.post("/flows/new", refresh); code != http.StatusOK || !strings.Contains(body, `value="{{title}} by hand"`) {
		t.Fatalf("refresh: %d\n%s", code, body)
	}

	form := itemsFlowForm(token, src, dst, "{{title}} ({{sku}})")
	form.Set("advanced", `{"removal": {"policy": "delete"}, "condition": {"where": [{"field": "price", "op": "gt", "value": 1}]},
		"write_back": [{"field": "label", "in": ["done"], "set": {"title": "shipped"}}]}`)
	code, body, loc, _ := admin.post("/flows/new", form)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/flows/") {
		t.Fatalf("create: %d\n%s", code, body)
	}
	list, _ := in.Server.Store.ListFlows(ctx, 1)
	if len(list) != 1 {
		t.Fatalf("flows after create: %+v", list)
	}
	id := fmt.Sprint(list[0].ID)
	_, page, _ := admin.get(loc)
	for _, want := range []string{"Flow “products to items” created.", "<code>{{title}} ({{sku}})</code>", "Removed upstream</dt><dd>delete",
		"price gt 1", "when the target's <code>label</code> is one of done, set the source's title = &#34;shipped&#34;"} {
		if !strings.Contains(page, want) {
			t.Fatalf("flow page lacks %q:\n%s", want, page)
		}
	}
	// The edit form shows the stored mapping again, the rest in Advanced.
	_, edit, _ := admin.get("/flows/" + id + "/edit")
	if !strings.Contains(edit, `value="{{title}} ({{sku}})"`) || !strings.Contains(edit, `&#34;policy&#34;: &#34;delete&#34;`) {
		t.Fatalf("edit form does not show the stored flow:\n%s", edit)
	}
	entries, err := in.Server.Store.ListAudit(ctx, store.AuditFilter{WorkspaceID: 1, ObjectKind: "flow"})
	if err != nil || len(entries) != 1 || entries[0].Action != "create" || entries[0].UserName != "admin" {
		t.Fatalf("audit of the console's create: %+v %v", entries, err)
	}

	// A flow into the restricted connection, made through the API.
	var secret struct {
		ID int64 `json:"id"`
	}
	if code := in.Do(t, "POST", "/api/v1/flows", map[string]any{"name": "to the secret items",
		"source": map[string]any{"connection_id": src, "entity": "products"}, "target": map[string]any{"connection_id": hidden, "entity": "items"},
		"trigger": "manual", "fields": map[string]any{"code": map[string]any{"source": "sku"}, "label": map[string]any{"source": "title"}}}, &secret); code != http.StatusCreated {
		t.Fatalf("create the secret flow: %d", code)
	}
	sid := fmt.Sprint(secret.ID)

	member := newBrowser(t, in.URL)
	member.login("maria", adminPassword)
	mtoken := member.csrf("/flows")
	_, mlist, _ := member.get("/flows")
	if !strings.Contains(mlist, "products to items") || strings.Contains(mlist, "to the secret items") || strings.Contains(mlist, `id="add-flow"`) {
		t.Fatalf("member's flows list:\n%s", mlist)
	}
	// Out of scope: 404 for every screen and action, and nothing about it shown.
	for _, p := range []string{"/flows/" + sid, "/flows/" + sid + "?tab=dry-run&run=1", "/flows/" + sid + "?tab=failed", "/flows/" + sid + "?tab=links", "/flows/" + sid + "/edit"} {
		if code, body, _ := member.get(p); code != http.StatusNotFound || strings.Contains(body, "secret") {
			t.Errorf("member GET %s: %d, want 404 without its name", p, code)
		}
	}
	for _, p := range []string{"/run", "/retry", "/edit", "/delete"} {
		if code, _, _, _ := member.post("/flows/"+sid+p, url.Values{"csrf": {mtoken}}); code != http.StatusNotFound {
			t.Errorf("member POST /flows/%s%s: %d, want 404", sid, p, code)
		}
	}
	// In scope: members may not create, edit or delete…
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/flows/new", nil},
		{"POST", "/flows/new", itemsFlowForm(mtoken, src, dst, "{{title}}")},
		{"GET", "/flows/" + id + "/edit", nil},
		{"POST", "/flows/" + id + "/edit", itemsFlowForm(mtoken, src, dst, "{{title}}")},
		{"POST", "/flows/" + id + "/delete", url.Values{"csrf": {mtoken}}},
	} {
		var code int
		if tc.method == "GET" {
			code, _, _ = member.get(tc.path)
		} else {
			code, _, _, _ = member.post(tc.path, tc.form)
		}
		if code != http.StatusForbidden {
			t.Errorf("member %s %s: %d, want 403", tc.method, tc.path, code)
		}
	}
	if f, err := in.Server.Store.GetFlow(ctx, 1, list[0].ID); err != nil || f.Definition != list[0].Definition {
		t.Fatalf("the flow changed after the member's attempts: %v", err)
	}
	// …but show, dry-run and run it.
	code, dry, _ := member.get("/flows/" + id + "?tab=dry-run&run=1&limit=2")
	if code != http.StatusOK || strings.Count(dry, `<tr data-key=`) != 2 || !strings.Contains(dry, "Product 1 (SKU-000001)") {
		t.Fatalf("member's dry run: %d\n%s", code, dry)
	}
	// A dry run of chosen records previews only them and offers to send them now.
	code, chosen, _ := member.get("/flows/" + id + "?tab=dry-run&run=1&keys=SKU-000002,+SKU-000003")
	if code != http.StatusOK || strings.Count(chosen, `<tr data-key=`) != 2 || !strings.Contains(chosen, `<tr data-key="SKU-000003"`) ||
		!strings.Contains(chosen, `id="send-chosen"`) || !strings.Contains(chosen, `value="SKU-000002 SKU-000003"`) {
		t.Fatalf("dry run of chosen records: %d\n%s", code, chosen)
	}
	code, _, loc, _ = member.post("/flows/"+id+"/run", url.Values{"csrf": {mtoken}, "keys": {"SKU-000002 SKU-000003"}})
	_, sent, _ := member.get(loc)
	m := regexp.MustCompile(`run of 2 chosen records started as job (\d+)`).FindStringSubmatch(sent)
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("send the chosen records: %d\n%s", code, sent)
	}
	jobID, _ := strconv.ParseInt(m[1], 10, 64)
	if j := in.WaitJob(t, jobID, time.Minute); j.State != "succeeded" {
		t.Fatalf("run of the chosen records: %+v", j)
	}
	if codes := targetCodes(t, dstPath); strings.Join(codes, " ") != "SKU-000002 SKU-000003" {
		t.Fatalf("the target has %v after a run of SKU-000002 and SKU-000003", codes)
	}
	// Every change needs the session's CSRF token.
	for _, p := range []string{"/run", "/retry"} {
		if code, _, _, _ := member.post("/flows/"+id+p, url.Values{}); code != http.StatusForbidden {
			t.Errorf("POST /flows/%s%s without the token: %d, want 403", id, p, code)
		}
	}
	for _, p := range []string{"/flows/new", "/flows/" + id + "/edit", "/flows/" + id + "/delete"} {
		f := itemsFlowForm("", src, dst, "{{title}}")
		f.Set("name", "renamed without a token")
		if code, _, _, _ := admin.post(p, f); code != http.StatusForbidden {
			t.Errorf("admin POST %s without the token: %d, want 403", p, code)
		}
	}
	if after, _ := in.Server.Store.ListFlows(ctx, 1); len(after) != 2 || after[0].Name != "products to items" {
		t.Fatalf("flows after requests without a token: %+v", after)
	}
	code, _, loc, _ = member.post("/flows/"+id+"/run", url.Values{"csrf": {mtoken}})
	if code != http.StatusSeeOther || loc != "/flows/"+id {
		t.Fatalf("member runs the flow: %d → %s", code, loc)
	}
	if _, page, _ := member.get(loc); !strings.Contains(page, "run started as job") {
		t.Fatal("no message after Run now")
	}

	// The admin deletes it.
	if code, _, loc, _ := admin.post("/flows/"+id+"/delete", url.Values{"csrf": {token}}); code != http.StatusSeeOther || loc != "/flows" {
		t.Fatalf("delete: %d → %s", code, loc)
	}
	if _, err := in.Server.Store.GetFlow(ctx, 1, list[0].ID); err == nil {
		t.Fatal("the flow is still there after Delete")
	}
}

// targetCodes lists the codes of the items in a target made by sqliteTarget, in order.
func targetCodes(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT code FROM items ORDER BY code`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var codes []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, c)
	}
	return codes
}
