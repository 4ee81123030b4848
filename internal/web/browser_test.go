package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/junction-hub/junction/internal/testdb"
)

// chromiumPath is Debian's Chromium, which scripts/chromium.sh installs.
const chromiumPath = "/usr/bin/chromium"

// screenshots is where the browser tests keep their full-page screenshots: the folder in
// JUNCTION_SCREENSHOTS, or a new one under the system's temporary folder that outlives the test.
func screenshots(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("JUNCTION_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "junction-console-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// newChromium starts a headless Chromium with a fresh profile and the flags this closed
// network needs (no background connections).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is missing at %s: run scripts/chromium.sh (scripts/test.sh does) to install it", chromiumPath)
	}
	// A fresh profile; removed after Chromium has exited (t.TempDir would race its shutdown).
	profile, err := os.MkdirTemp("", "junction-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc(); _ = os.RemoveAll(profile) })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shop fills a fresh PostgreSQL database with products only a password-protected role
// may read, and returns the database name, role and password.
func shop(t *testing.T) (name, user, password string) {
	t.Helper()
	dsn, name := testdb.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TYPE product_state AS ENUM ('draft', 'active', 'retired');
		CREATE TABLE products (sku TEXT PRIMARY KEY, title TEXT NOT NULL, price NUMERIC(10,2) NOT NULL,
			state product_state NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
		INSERT INTO products (sku, title, price, state) SELECT 'SKU-' || lpad(g::text, 6, '0'), 'Product ' || g, g + 0.99,
			(ARRAY['draft', 'active', 'retired'])[1 + g % 3]::product_state FROM generate_series(1, 3000) g;`); err != nil {
		t.Fatal(err)
	}
	user, password = testdb.PostgresPasswordRole(t, name)
	return name, user, password
}

// TestConsoleInBrowser plays issue 5's "done when" in Chromium against the real server.
func TestConsoleInBrowser(t *testing.T) {
	ctx := newChromium(t)
	dir := screenshots(t)
	db, user, password := shop(t)
	in := startConsole(t)

	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var png []byte
			if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		})
	}
	run := func(step string, actions ...chromedp.Action) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := chromedp.Run(stepCtx, actions...); err != nil {
			var html string
			_ = chromedp.Run(ctx, chromedp.OuterHTML("main", &html, chromedp.ByQuery))
			_ = chromedp.Run(ctx, shot("failed-"+strings.ReplaceAll(step, " ", "-")))
			t.Fatalf("%s: %v\npage main:\n%s", step, err, html)
		}
	}
	// clickLoads clicks and waits for the next page (not the one clicked on) to show sel.
	clickLoads := func(click, sel string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if err := chromedp.Run(ctx, chromedp.Evaluate(`window.junctionOldPage = true`, nil), chromedp.Click(click, chromedp.ByQuery)); err != nil {
				return err
			}
			check := fmt.Sprintf(`window.junctionOldPage !== true && document.readyState === "complete" && document.querySelector(%q) !== null`, sel)
			for {
				var ok bool
				// Errors are expected while the page is replaced; ask again.
				if err := chromedp.Evaluate(check, &ok).Do(ctx); err == nil && ok {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("waiting for %s after clicking %s: %w", sel, click, ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
		return s
	}

	// Log in.
	run("login page", chromedp.Navigate(in.URL+"/"), chromedp.WaitVisible("#login-name", chromedp.ByID), shot("01-login"))
	run("log in",
		chromedp.SendKeys("#login-name", "admin", chromedp.ByID),
		chromedp.SendKeys("#login-password", adminPassword, chromedp.ByID),
		chromedp.Submit("#login-password", chromedp.ByID),
		chromedp.WaitVisible("#add-connection", chromedp.ByID),
		shot("02-connections-empty"))

	// Create a connection with a bad password: the error shows beside the field.
	run("open create form", chromedp.Click("#add-connection", chromedp.ByID), chromedp.WaitVisible("#f-name", chromedp.ByID))
	run("choose postgres",
		// Setting the value fires change, on which the script shows the driver's fields.
		chromedp.SetValue("#f-driver", "postgres", chromedp.ByID),
		chromedp.WaitVisible("#f-credentials-password", chromedp.ByID))
	run("fill in the form",
		chromedp.SendKeys("#f-name", "shop", chromedp.ByID),
		chromedp.SendKeys("#f-credentials-database", db, chromedp.ByID),
		chromedp.SendKeys("#f-credentials-user", user, chromedp.ByID),
		chromedp.SendKeys("#f-credentials-password", "not-the-password", chromedp.ByID),
		chromedp.SendKeys("#f-settings-tables", "products", chromedp.ByID),
		shot("03-create-form"))
	var status string
	run("save with the bad password",
		chromedp.Click("#save", chromedp.ByID),
		chromedp.WaitVisible("#f-credentials-password-error", chromedp.ByID),
		shot("04-create-bad-password"))
	if msg := text("#f-credentials-password-error"); !strings.Contains(msg, "password") {
		t.Fatalf("field error beside the password = %q", msg)
	}
	var typedName, typedPassword, page string
	run("what was typed",
		chromedp.Value("#f-name", &typedName, chromedp.ByID),
		chromedp.Value("#f-credentials-password", &typedPassword, chromedp.ByID),
		chromedp.OuterHTML("html", &page, chromedp.ByQuery))
	if typedName != "shop" || typedPassword != "" || strings.Contains(page, "not-the-password") {
		t.Fatalf("after the failed check: name %q kept?, password echoed %q / in page %v", typedName, typedPassword, strings.Contains(page, "not-the-password"))
	}

	// Right password: "Checking credentials…" while saving, then "Sync triggered".
	run("save with the right password",
		chromedp.SendKeys("#f-credentials-password", password, chromedp.ByID),
		chromedp.Evaluate(`(function(){ var f = document.querySelector("form[data-checking]");
			f.addEventListener("submit", function(){ window.sessionStorage.setItem("status", document.getElementById("form-status").textContent); });
		})()`, nil),
		chromedp.Click("#save", chromedp.ByID),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Evaluate(`window.sessionStorage.getItem("status")`, &status),
		shot("05-created-sync-triggered"))
	if msg := text(".flash.ok"); !strings.Contains(msg, "Sync triggered") {
		t.Fatalf("after saving: %q", msg)
	}
	if status != "Checking credentials…" {
		t.Fatalf("status while saving = %q, want Checking credentials…", status)
	}

	// Watch the sync finish in Processes: the page updates itself without a reload.
	run("processes",
		chromedp.Click(`nav.main-nav a[href="/processes"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#jobs-table", chromedp.ByID),
		shot("06-processes-running"),
		chromedp.Evaluate(`window.notReloaded = true`, nil),
		chromedp.WaitVisible(`#jobs-table .state.succeeded`, chromedp.ByQuery))
	var notReloaded bool
	run("no reload", chromedp.Evaluate(`window.notReloaded === true`, &notReloaded), shot("07-processes-done"))
	if !notReloaded {
		t.Log("the Processes page reloaded itself (a new job appeared) instead of updating in place")
	}
	if c := text(`#jobs-table tr:first-child [data-f="counters"]`); !strings.Contains(c, "3000 read") {
		t.Fatalf("finished sync counters = %q, want 3000 read", c)
	}
	run("job detail",
		chromedp.Click(`#jobs-table tbody tr:first-child td a`, chromedp.ByQuery),
		chromedp.WaitVisible("#job-log li", chromedp.ByQuery),
		shot("08-job-detail"))

	// Data hub: the catalog, then a known record found by its key.
	run("data hub",
		chromedp.Click(`nav.main-nav a[href="/hub"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`a[href^="/hub/"]`, chromedp.ByQuery),
		shot("09-hub"),
		chromedp.Click(`a[href^="/hub/"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#entity-products", chromedp.ByID),
		shot("10-hub-catalog"))
	if v := text("#value-lists"); !strings.Contains(v, "product_state") || !strings.Contains(v, "retired") {
		t.Fatalf("value lists = %q", v)
	}
	run("search a record",
		chromedp.Click(`nav.tabs a[href$="tab=records"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#r-q", chromedp.ByID),
		chromedp.SendKeys("#r-q", "SKU-000042", chromedp.ByID),
		chromedp.Submit("#r-q", chromedp.ByID),
		chromedp.WaitVisible(`a.record-link`, chromedp.ByQuery),
		shot("11-hub-records-search"))
	var found int
	run("count results", chromedp.Evaluate(`document.querySelectorAll("a.record-link").length`, &found))
	if found != 1 || text("a.record-link") != "SKU-000042" {
		t.Fatalf("search for SKU-000042 found %d records, first %q", found, text("a.record-link"))
	}
	run("open the record",
		chromedp.Click("a.record-link", chromedp.ByQuery),
		chromedp.WaitVisible("#record-fields", chromedp.ByID),
		shot("12-hub-record"))
	if f := text("#record-fields"); !strings.Contains(f, "Product 42") || !strings.Contains(f, "42.99") {
		t.Fatalf("record fields = %q", f)
	}
	if s := text("#record-state"); s != "live" {
		t.Fatalf("record state = %q", s)
	}
	run("catalog changes", chromedp.Navigate(in.URL+"/hub/1?tab=changes"), chromedp.WaitVisible("main table, main .empty", chromedp.ByQuery),
		shot("13-hub-changes"))

	// Edit: tabs, the secret shown only as set, save re-checks.
	run("edit",
		chromedp.Navigate(in.URL+"/connections/1"),
		chromedp.WaitVisible("#tab-credentials", chromedp.ByID),
		shot("14-edit-credentials"),
		chromedp.Click("#tab-settings-link", chromedp.ByID),
		chromedp.WaitVisible("#f-schedule", chromedp.ByID),
		shot("15-edit-settings"),
		chromedp.SendKeys("#f-schedule", "6h", chromedp.ByID),
		clickLoads("#save", ".flash.ok"))
	if msg := text(".flash.ok"); !strings.Contains(msg, "Sync triggered") {
		t.Fatalf("after editing: %q", msg)
	}

	// A second connection (through the API, which calls the same service), then select both
	// and disable them; delete one and see it gone.
	var created struct {
		JobID *int64 `json:"job_id"`
	}
	if code := in.Do(t, "POST", "/api/v1/connections", map[string]any{"name": "shop-archive", "driver": "postgres",
		"credentials": map[string]any{"database": db, "user": user, "password": password},
		"settings":    map[string]any{"tables": "products"}}, &created); code != http.StatusCreated {
		t.Fatalf("create shop-archive: %d", code)
	}
	in.WaitJob(t, *created.JobID, time.Minute)
	run("select two",
		chromedp.Navigate(in.URL+"/connections"),
		chromedp.WaitVisible(`tr[data-name="shop-archive"]`, chromedp.ByQuery),
		chromedp.Click(`tr[data-name="shop"] input[name=id]`, chromedp.ByQuery),
		chromedp.Click(`tr[data-name="shop-archive"] input[name=id]`, chromedp.ByQuery),
		chromedp.WaitVisible("#bulk-toolbar", chromedp.ByID),
		shot("16-connections-selected"))
	if n := text("#selected-count"); n != "2 selected" {
		t.Fatalf("toolbar says %q", n)
	}
	run("disable both",
		clickLoads(`#bulk-toolbar button[value="disable"]`, ".flash.ok"),
		shot("17-disabled"))
	var flashes []string
	run("read results", chromedp.Evaluate(`Array.from(document.querySelectorAll(".flash")).map(e => e.textContent)`, &flashes))
	if strings.Join(flashes, "|") != "shop: disabled|shop-archive: disabled" {
		t.Fatalf("per-row results = %q", flashes)
	}
	for _, name := range []string{"shop", "shop-archive"} {
		if s := text(`tr[data-name="` + name + `"] .badge`); s != "Inactive" {
			t.Fatalf("%s status = %q, want Inactive", name, s)
		}
	}
	run("delete one",
		chromedp.Click(`tr[data-name="shop-archive"] input[name=id]`, chromedp.ByQuery),
		clickLoads(`#bulk-toolbar button[value="delete"]`, ".flash.ok"))
	if msg := text(".flash.ok"); msg != "shop-archive: deletion started" {
		t.Fatalf("delete result = %q", msg)
	}
	// The purge runs as a job; Refresh until the row is gone.
	for gone := false; !gone; {
		run("refresh", clickLoads("#refresh", `tr[data-name="shop"]`),
			chromedp.Evaluate(`document.querySelector('tr[data-name="shop-archive"]') === null`, &gone))
		if !gone {
			time.Sleep(200 * time.Millisecond)
		}
	}
	run("gone", shot("18-deleted"))

	// Settings → Connectors, and the list on a phone.
	run("connectors", chromedp.Click(`nav.main-nav a[href="/settings/connectors"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#c-name", chromedp.ByID), shot("19-settings-connectors"))
	run("phone",
		emulation.SetDeviceMetricsOverride(390, 844, 3, true),
		chromedp.Navigate(in.URL+"/connections"),
		chromedp.WaitVisible(`tr[data-name="shop"]`, chromedp.ByQuery),
		shot("20-connections-phone"),
		chromedp.Navigate(in.URL+"/connections/1"),
		chromedp.WaitVisible("#f-name", chromedp.ByID),
		shot("21-edit-phone"))

	// Log out: back to the login page, and the console is closed.
	run("log out",
		emulation.ClearDeviceMetricsOverride(),
		chromedp.Navigate(in.URL+"/connections"),
		chromedp.Click(".logout button", chromedp.ByQuery),
		chromedp.WaitVisible("#login-name", chromedp.ByID),
		chromedp.Navigate(in.URL+"/processes"),
		chromedp.WaitVisible("#login-name", chromedp.ByID))
	fmt.Fprintf(os.Stderr, "console screenshots: %s\n", dir)
}
