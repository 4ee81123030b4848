package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/junction-hub/junction/internal/testdb"
)

// chrome drives one browser tab through the console, saving a screenshot per step.
type chrome struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func (c *chrome) shot(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var png []byte
		if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(c.dir, name+".png"), png, 0o644)
	})
}

func (c *chrome) run(step string, actions ...chromedp.Action) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var html string
		_ = chromedp.Run(c.ctx, chromedp.OuterHTML("main", &html, chromedp.ByQuery))
		_ = chromedp.Run(c.ctx, c.shot("failed-"+strings.ReplaceAll(step, " ", "-")))
		c.t.Fatalf("%s: %v\npage main:\n%s", step, err, html)
	}
}

func (c *chrome) text(sel string) string {
	c.t.Helper()
	var s string
	c.run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// loads does act and waits for the next page (not the current one) to show sel.
func loads(act chromedp.Action, sel string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := chromedp.Run(ctx, chromedp.Evaluate(`window.junctionOldPage = true`, nil), act); err != nil {
			return err
		}
		check := fmt.Sprintf(`window.junctionOldPage !== true && document.readyState === "complete" && document.querySelector(%q) !== null`, sel)
		for {
			var ok bool
			if err := chromedp.Evaluate(check, &ok).Do(ctx); err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w", sel, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// rowInput is the CSS selector of an input of the mapping table's row for attr.
func rowInput(attr, part string) string {
	return fmt.Sprintf(`#mapping tr[data-attr=%q] [name$=".%s"]`, attr, part)
}

// valueTo is the target-value select of the pair whose source value is from, in attr's
// value-map editor.
func valueTo(attr, from string) string {
	return fmt.Sprintf(`#mapping tr[data-values-for=%q] tr:has(input[value=%q]) select`, attr, from)
}

var jobInFlash = regexp.MustCompile(`job (\d+)`)

// TestFlowsInBrowser plays issue 7's console part in Chromium: two connections (a
// PostgreSQL shop, a MariaDB production system), a flow made through the form with a
// value map (an error beside a bad template first), a dry run, a run watched in
// Processes, a failed record, the mapping fixed, a retry, and the failure gone.
func TestFlowsInBrowser(t *testing.T) {
	ctx := newChromium(t)
	dir := screenshots(t)

	shopDSN, shopName := testdb.Postgres(t)
	shop, err := sql.Open("pgx", shopDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	if _, err := shop.Exec(`CREATE TYPE order_state AS ENUM ('new', 'paid', 'cancelled');
		CREATE TABLE orders (id BIGINT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
			state order_state NOT NULL, total NUMERIC(10,2) NOT NULL);
		INSERT INTO orders VALUES (1, 'Ann', 'Smith', 'new', 10.50), (2, 'Bob', 'Jones', 'paid', 20.00),
			(3, 'Cy', 'Brown', 'cancelled', 5.25), (4, 'Di', 'Green', 'new', 7.00);`); err != nil {
		t.Fatal(err)
	}
	prodDSN, prodName := testdb.MySQL(t)
	prod, err := sql.Open("mysql", prodDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if _, err := prod.Exec(`CREATE TABLE orders (order_no VARCHAR(32) PRIMARY KEY, customer VARCHAR(200) NOT NULL,
		state ENUM('to_produce', 'cancelled') NOT NULL, total DECIMAL(10,2) NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	produced := func() int {
		t.Helper()
		var n int
		if err := prod.QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	in := startConsole(t)
	// The connections through the API, which calls the same service as the console's form.
	conn := func(name, drv string, creds map[string]any) int64 {
		var c struct {
			Connection struct {
				ID int64 `json:"id"`
			} `json:"connection"`
			JobID *int64 `json:"job_id"`
		}
		if code := in.Do(t, "POST", "/api/v1/connections", map[string]any{"name": name, "driver": drv, "credentials": creds,
			"settings": map[string]any{"tables": "orders"}}, &c); code != http.StatusCreated {
			t.Fatalf("create %s: %d", name, code)
		}
		if j := in.WaitJob(t, *c.JobID, time.Minute); j.State != "succeeded" {
			t.Fatalf("first sync of %s: %+v", name, j)
		}
		return c.Connection.ID
	}
	shopID := conn("shop", "postgres", map[string]any{"host": "127.0.0.1", "port": 5432, "database": shopName, "user": "postgres"})
	prodID := conn("production", "mysql", map[string]any{"host": "127.0.0.1", "port": 3306, "database": prodName, "user": "root"})

	b := &chrome{t: t, ctx: ctx, dir: dir}
	b.run("log in", chromedp.Navigate(in.URL+"/login"), chromedp.WaitVisible("#login-name", chromedp.ByID),
		chromedp.SendKeys("#login-name", "admin", chromedp.ByID),
		chromedp.SendKeys("#login-password", adminPassword, chromedp.ByID),
		chromedp.Submit("#login-password", chromedp.ByID),
		chromedp.WaitVisible("#add-connection", chromedp.ByID))
	b.run("flows, empty",
		loads(chromedp.Click(`nav.main-nav a[href="/flows"]`, chromedp.ByQuery), "#add-flow"),
		b.shot("30-flows-empty"))

	// The form: choose the shop's orders → production's orders; the table follows the target.
	source, target := fmt.Sprintf("%d:orders", shopID), fmt.Sprintf("%d:orders", prodID)
	b.run("new flow", loads(chromedp.Click("#add-flow", chromedp.ByID), "#fl-source"))
	var shown string
	b.run("shown source", chromedp.Value("#fl-source", &shown, chromedp.ByID))
	if shown != source {
		b.run("choose the source", loads(chromedp.SetValue("#fl-source", source, chromedp.ByID), "#fl-source"))
	}
	b.run("shown target", chromedp.Value("#fl-target", &shown, chromedp.ByID))
	if shown != target {
		b.run("choose the target", loads(chromedp.SetValue("#fl-target", target, chromedp.ByID), "#fl-target"))
	}
	b.run("fill in the mapping",
		chromedp.WaitVisible(`#mapping tr[data-attr="customer"]`, chromedp.ByQuery),
		chromedp.SendKeys("#fl-name", "shop orders to production", chromedp.ByID),
		chromedp.SetValue(rowInput("order_no", "kind"), "template", chromedp.ByQuery),
		chromedp.SendKeys(rowInput("order_no", "value"), "SHOP-{{id}}", chromedp.ByQuery),
		chromedp.SetValue(rowInput("customer", "kind"), "template", chromedp.ByQuery),
		chromedp.SendKeys(rowInput("customer", "value"), "{{first_name}} {{surname}}", chromedp.ByQuery),
		chromedp.SetValue(rowInput("total", "kind"), "source", chromedp.ByQuery),
		chromedp.SetValue(rowInput("total", "source"), "total", chromedp.ByQuery),
		chromedp.SetValue(rowInput("state", "kind"), "source", chromedp.ByQuery),
		chromedp.SetValue(rowInput("state", "source"), "state", chromedp.ByQuery),
		// The source's status values appear in the value map once the table is refreshed.
		loads(chromedp.Click("#refresh-form", chromedp.ByID), valueTo("state", "paid")),
		chromedp.SetValue(valueTo("state", "new"), "to_produce", chromedp.ByQuery),
		chromedp.Click(`#mapping tr[data-values-for="state"] input[name$=".auto"]`, chromedp.ByQuery),
		b.shot("31-flow-form"))

	// The bad template comes back beside its row, with everything as typed; nothing stored.
	b.run("save with a bad template",
		loads(chromedp.Click("#save-flow", chromedp.ByID), "#form-problem"),
		b.shot("32-flow-form-error"))
	if msg := b.text(`#mapping tr[data-attr="customer"] .field-error`); !strings.Contains(msg, `no attribute "surname"`) {
		t.Fatalf("error beside customer = %q", msg)
	}
	var typed, mapped string
	b.run("what was typed", chromedp.Value(rowInput("customer", "value"), &typed, chromedp.ByQuery),
		chromedp.Value(valueTo("state", "new"), &mapped, chromedp.ByQuery))
	if typed != "{{first_name}} {{surname}}" || mapped != "to_produce" {
		t.Fatalf("after the error: template %q, new → %q", typed, mapped)
	}
	if list, _ := in.Server.Store.ListFlows(context.Background(), 1); len(list) != 0 {
		t.Fatalf("stored despite the error: %+v", list)
	}
	b.run("fix the template and save",
		chromedp.SetValue(rowInput("customer", "value"), "{{first_name}} {{last_name}}", chromedp.ByQuery),
		loads(chromedp.Click("#save-flow", chromedp.ByID), "#definition"),
		b.shot("33-flow-definition"))
	if msg := b.text(".flash.ok"); !strings.Contains(msg, "created") {
		t.Fatalf("after saving: %q", msg)
	}
	if auto := b.text(`tr[data-target="state"] .value-map`); !strings.Contains(auto, "new → to_produce") || !strings.Contains(auto, "cancelled → cancelled auto") {
		t.Fatalf("state values shown as %q, want new → to_produce and cancelled auto-mapped", auto)
	}
	var flowURL string
	b.run("flow URL", chromedp.Location(&flowURL))

	// Dry run: what each record would become, written nowhere.
	b.run("dry run",
		loads(chromedp.Click("#dry-run", chromedp.ByID), "#dry-run-go"),
		loads(chromedp.Click("#dry-run-go", chromedp.ByID), "#dry-run-items"),
		b.shot("34-flow-dry-run"))
	if a := b.text(`#dry-run-items tr[data-key="1"]`); !strings.Contains(a, "create") || !strings.Contains(a, "SHOP-1") || !strings.Contains(a, "Ann Smith") || !strings.Contains(a, "to_produce") {
		t.Fatalf("dry run of order 1 = %q", a)
	}
	if a := b.text(`#dry-run-items tr[data-key="2"]`); !strings.Contains(a, "fail") || !strings.Contains(a, `no mapping for the value "paid"`) {
		t.Fatalf("dry run of order 2 = %q", a)
	}
	if n := produced(); n != 0 {
		t.Fatalf("the dry run wrote %d orders", n)
	}

	// Run now, and watch the job finish in Processes with its counters.
	b.run("run now", chromedp.Navigate(flowURL), chromedp.WaitVisible("#run-now", chromedp.ByID),
		loads(chromedp.Click("#run-now", chromedp.ByID), ".flash.ok"))
	m := jobInFlash.FindStringSubmatch(b.text(".flash.ok"))
	if m == nil {
		t.Fatalf("no job in %q", b.text(".flash.ok"))
	}
	runJob := m[1]
	b.run("processes",
		loads(chromedp.Click(`nav.main-nav a[href="/processes"]`, chromedp.ByQuery), "#jobs-table"),
		chromedp.WaitVisible(`#jobs-table tr[data-job="`+runJob+`"] .state.succeeded`, chromedp.ByQuery),
		b.shot("35-processes-flow-run"))
	if c := b.text(`#jobs-table tr[data-job="` + runJob + `"] [data-f="counters"]`); c != "4 considered · 3 written · 0 skipped · 1 failed" {
		t.Fatalf("flow run counters = %q", c)
	}
	if n := produced(); n != 3 {
		t.Fatalf("production has %d orders after the run, want 3", n)
	}

	// The list shows the run and the failed record; the flow's Failed tab says why.
	b.run("flows list",
		loads(chromedp.Click(`nav.main-nav a[href="/flows"]`, chromedp.ByQuery), "#flows"),
		b.shot("36-flows-list"))
	if f := b.text(`#flows tr[data-name="shop orders to production"] .failed-count`); f != "1" {
		t.Fatalf("failed count in the list = %q", f)
	}
	b.run("failed records",
		chromedp.Navigate(flowURL+"?tab=failed"),
		chromedp.WaitVisible(`#failures tr[data-key="2"]`, chromedp.ByQuery),
		b.shot("37-flow-failed"))
	if r := b.text(`#failures tr[data-key="2"] .reason`); !strings.Contains(r, `no mapping for the value "paid"`) {
		t.Fatalf("failure reason = %q", r)
	}

	// Fix the mapping: paid → to_produce.
	b.run("edit",
		chromedp.Navigate(flowURL+"/edit"),
		chromedp.WaitVisible(valueTo("state", "paid"), chromedp.ByQuery),
		chromedp.WaitVisible(`#mapping tr[data-values-for="state"] tr:has(input[value="cancelled"]) .badge.info`, chromedp.ByQuery),
		chromedp.SetValue(valueTo("state", "paid"), "to_produce", chromedp.ByQuery),
		b.shot("38-flow-edit"),
		loads(chromedp.Click("#save-flow", chromedp.ByID), "#definition"))
	b.run("retry it",
		chromedp.Navigate(flowURL+"?tab=failed"),
		chromedp.WaitVisible(`#failures tr[data-key="2"] button`, chromedp.ByQuery),
		loads(chromedp.Click(`#failures tr[data-key="2"] button`, chromedp.ByQuery), ".flash.ok"))
	m = jobInFlash.FindStringSubmatch(b.text(".flash.ok"))
	if m == nil {
		t.Fatalf("no job in %q", b.text(".flash.ok"))
	}
	retryJob, _ := strconv.ParseInt(m[1], 10, 64)
	if j := in.WaitJob(t, retryJob, time.Minute); j.State != "succeeded" {
		t.Fatalf("retry job: %+v", j)
	}
	b.run("failure gone",
		chromedp.Navigate(flowURL+"?tab=failed"),
		chromedp.WaitVisible("#no-failures", chromedp.ByID),
		b.shot("39-flow-failed-retried"))
	var state string
	if err := prod.QueryRow(`SELECT state FROM orders WHERE order_no = 'SHOP-2'`).Scan(&state); err != nil || state != "to_produce" {
		t.Fatalf("order 2 in production after the retry: %q %v", state, err)
	}
	b.run("links",
		loads(chromedp.Click("#tab-links", chromedp.ByID), "#links"),
		b.shot("40-flow-links"))
	var linked int
	b.run("count links", chromedp.Evaluate(`document.querySelectorAll("#links .badge.link-linked").length`, &linked))
	if linked != 4 {
		t.Fatalf("%d linked records, want 4", linked)
	}
	b.run("phone",
		emulation.SetDeviceMetricsOverride(390, 844, 3, true),
		chromedp.Navigate(in.URL+"/flows"),
		chromedp.WaitVisible("#flows", chromedp.ByID),
		b.shot("41-flows-phone"),
		chromedp.Navigate(flowURL+"/edit"),
		chromedp.WaitVisible("#mapping", chromedp.ByID),
		b.shot("42-flow-edit-phone"),
		emulation.ClearDeviceMetricsOverride())
	fmt.Fprintf(os.Stderr, "flow screenshots: %s\n", dir)
}
