package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
)

// TestFlowKilledMidRun kills `junction serve` with SIGKILL in the middle of a flow run that
// imports orders, and again in the middle of the run that writes their status back, and
// restarts it each time: the jobs re-run, and in the end every order exists once in
// production, with its line once, and every shop order went new → imported → shipped,
// each status written once.
func TestFlowKilledMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const orders = 3000
	shop := newShop(t)
	prod := newProduction(t)
	mustExec(t, shop.db, fmt.Sprintf(`
		INSERT INTO orders (id, status_id, first_name, last_name, email, delivery_method, delivery_price, payment_method, currency)
		SELECT i, %d, 'First' || i, 'Last' || i, 'o' || i || '@example.com', 'DPD courier', 14.99, 'card', 'PLN'
		FROM generate_series(1, %d) AS i;
		INSERT INTO order_lines (id, order_id, sku, name, quantity, unit, price, vat_rate)
		SELECT 10 * i, i, 'SKU-' || i, 'Item ' || i, 1, 'pcs', 9.99, 23.00 FROM generate_series(1, %d) AS i;`,
		shopNew, orders, orders))

	bin := buildJunction(t)
	dataDir := t.TempDir()
	token := "jct_flow_kill_test_token_0123456789"
	addr := freeAddr(t)
	p := startProcess(t, bin, dataDir, token, addr)
	srv := &servertest.Instance{URL: "http://" + addr, Token: token}
	shopID := createConn(t, srv, "shop", "postgres", shop.credentials())
	prodID := createConn(t, srv, "production", "mysql", prod.credentials())
	var f flowOut
	if code := srv.Do(t, "POST", "/api/v1/flows", orderFlow(shopID, prodID, paymentsWithoutPaypal), &f); code != http.StatusCreated {
		t.Fatalf("create flow: %d", code)
	}

	// Import, killed right after a batch reached production and before the flow recorded
	// it: the links of that batch are still pending.
	prodLock := tableLock{
		lock: func(t *testing.T) func() { return lockMySQLTable(t, prod.db, "orders") },
		waiting: func(t *testing.T) bool {
			var n int
			if err := prod.db.QueryRow(`SELECT COUNT(*) FROM information_schema.processlist
				WHERE db = DATABASE() AND state LIKE 'Waiting for table%'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n > 0
		},
		effect: func(t *testing.T) int { return prod.count(t, "orders") },
	}
	unlock := prodLock.lock(t)
	var ref struct {
		JobID int64 `json:"job_id"`
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/flows/%d/run", f.ID), nil, &ref); code != http.StatusAccepted {
		t.Fatalf("run: %d", code)
	}
	p = killInWindow(t, srv, p, ref.JobID, bin, dataDir, token, addr, prodLock, unlock,
		`SELECT source_key FROM flow_links WHERE state = 'pending'`,
		func(key string) bool {
			var n int
			_ = prod.db.QueryRow(`SELECT COUNT(*) FROM orders WHERE shop_order_id = ?`, key).Scan(&n)
			return n > 0
		})
	j := waitFlowJob(t, srv, ref.JobID)
	if j.State != "succeeded" || j.Attempts < 2 || j.Progress.Failed != 0 {
		t.Fatalf("after the restart: %+v; want succeeded on a later attempt, nothing failed", j)
	}
	waitFlowsIdle(t, srv)
	checkImportedOnce(t, shop, prod, orders)

	// Production finishes every order; the write-back run after its sync is killed too,
	// right after a batch of statuses reached the shop.
	shopLock := tableLock{
		lock: func(t *testing.T) func() { return lockPostgresTable(t, shop.db, "orders") },
		waiting: func(t *testing.T) bool {
			var n int
			if err := shop.db.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n > 0
		},
		effect: func(t *testing.T) int { return countStatus(t, shop, shopShipped) },
	}
	mustExec(t, prod.db, fmt.Sprintf(`UPDATE orders SET status_id = %d`, prodDone))
	unlock = shopLock.lock(t)
	var sync struct {
		JobID int64 `json:"job_id"`
	}
	srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync", prodID), nil, &sync)
	srv.WaitJob(t, sync.JobID, time.Minute)
	runID := newestFlowJob(t, srv, ref.JobID)
	killInWindow(t, srv, p, runID, bin, dataDir, token, addr, shopLock, unlock,
		`SELECT source_key FROM flow_links WHERE writeback_pending <> ''`,
		func(key string) bool {
			var st int
			_ = shop.db.QueryRow(`SELECT status_id FROM orders WHERE id = $1`, key).Scan(&st)
			return st == shopShipped
		})
	if j := waitFlowJob(t, srv, runID); j.State != "succeeded" {
		t.Fatalf("write-back run after the restart: %+v", j)
	}
	waitFlowsIdle(t, srv)
	if n := countStatus(t, shop, shopShipped); n != orders {
		t.Fatalf("%d of %d orders shipped", n, orders)
	}
	var twice int
	if err := shop.db.QueryRow(`SELECT COUNT(*) FROM (SELECT order_id FROM status_changes GROUP BY order_id
		HAVING string_agg(old_status || '>' || new_status, ',' ORDER BY ctid) <> '1>3,3>4') x`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Fatalf("%d orders did not go new → imported → shipped exactly once each", twice)
	}
	checkImportedOnce(t, shop, prod, orders)
}

// tableLock holds a lock on a table of the system a flow job writes to, so that the test
// can choose the moment the job's next write lands.
type tableLock struct {
	lock    func(t *testing.T) (unlock func()) // takes the lock
	waiting func(t *testing.T) bool            // a write is waiting for the lock
	effect  func(t *testing.T) int             // counts what the job's writes did
}

// killInWindow kills the server after a flow job's write landed in the other system and
// before the job recorded it in its store: the window the link table must make safe.
// The job's write waits on the table lock the caller holds (unlock releases it); the test
// then takes the store's write lock, releases the table, sees the write land while the
// job waits for the store, and kills the server. After the kill it reads the store and
// checks that the window was really hit: a link the query lists (pending) whose write
// already landed (landed). If not, it restarts the server, locks the table again and
// tries again. It returns the restarted server.
func killInWindow(t *testing.T, srv *servertest.Instance, p *process, jobID int64, bin, dataDir, token, addr string,
	tl tableLock, unlock func(), pendingQuery string, landed func(key string) bool) *process {
	t.Helper()
	for attempt := 1; attempt <= 5; attempt++ {
		deadline := time.Now().Add(2 * time.Minute)
		for !tl.waiting(t) {
			var j flowJob
			srv.Do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", jobID), nil, &j)
			if j.State == "succeeded" || j.State == "failed" || time.Now().After(deadline) {
				unlock()
				t.Fatalf("flow job %d did not wait for the locked table (try %d): %+v", jobID, attempt, j)
			}
			time.Sleep(5 * time.Millisecond)
		}
		releaseStore := lockStore(t, dataDir)
		before := tl.effect(t)
		unlock()
		landedNow := false
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			if tl.effect(t) > before {
				landedNow = true
				break
			}
		}
		p.kill(t)
		releaseStore()
		hit := 0
		if landedNow {
			db, err := sql.Open("sqlite", filepath.Join(dataDir, "junction.db"))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.Query(pendingQuery)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var key string
				_ = rows.Scan(&key)
				if landed(key) {
					hit++
				}
			}
			rows.Close()
			db.Close()
		}
		if hit > 0 {
			p = startProcess(t, bin, dataDir, token, addr)
			t.Logf("killed with %d records written but not yet recorded (try %d)", hit, attempt)
			return p
		}
		unlock = tl.lock(t)
		p = startProcess(t, bin, dataDir, token, addr)
	}
	unlock()
	t.Fatalf("flow job %d: no kill hit a write not yet recorded in 5 tries", jobID)
	return nil
}

// lockStore takes the write lock of the server's SQLite store and returns its release.
func lockStore(t *testing.T, dataDir string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "junction.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("lock the store: %v", err)
	}
	return func() {
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
		conn.Close()
		db.Close()
	}
}

// lockPostgresTable blocks writes to a PostgreSQL table until the returned unlock.
func lockPostgresTable(t *testing.T, db *sql.DB, table string) (unlock func()) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`LOCK TABLE ` + table + ` IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	return func() { _ = tx.Rollback() }
}

// lockMySQLTable blocks writes to a MariaDB table until the returned unlock.
func lockMySQLTable(t *testing.T, db *sql.DB, table string) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `LOCK TABLES `+table+` READ`); err != nil {
		t.Fatal(err)
	}
	return func() {
		_, _ = conn.ExecContext(ctx, `UNLOCK TABLES`)
		conn.Close()
	}
}

// newestFlowJob waits for a flow job newer than after and returns its id.
func newestFlowJob(t *testing.T, srv *servertest.Instance, after int64) int64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var list struct {
			Jobs []flowJob `json:"jobs"`
		}
		srv.Do(t, "GET", "/api/v1/jobs?kind=flow", nil, &list)
		if len(list.Jobs) > 0 && list.Jobs[0].ID > after {
			return list.Jobs[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("no flow job after %d", after)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countStatus(t *testing.T, shop *shopDB, status int) int {
	t.Helper()
	var n int
	if err := shop.db.QueryRow(`SELECT COUNT(*) FROM orders WHERE status_id = $1`, status).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkImportedOnce asserts that every shop order is in production once, with its line
// once, and that the shop's status went to imported exactly once per order.
func checkImportedOnce(t *testing.T, shop *shopDB, prod *productionDB, orders int) {
	t.Helper()
	var n, distinct int
	if err := prod.db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT shop_order_id) FROM orders`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != orders || distinct != orders {
		t.Fatalf("production has %d orders for %d shop orders, want %d once each", n, distinct, orders)
	}
	if n := prod.count(t, "order_lines"); n != orders {
		t.Fatalf("production has %d lines, want %d", n, orders)
	}
	var imported int
	if err := shop.db.QueryRow(`SELECT COUNT(*) FROM status_changes WHERE new_status = $1`, shopImported).Scan(&imported); err != nil {
		t.Fatal(err)
	}
	if imported != orders {
		t.Fatalf("the shop's status was set to imported %d times for %d orders", imported, orders)
	}
	var wrong []string
	rows, err := shop.db.Query(`SELECT id, status_id FROM orders WHERE status_id NOT IN ($1, $2) LIMIT 5`, shopImported, shopShipped)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, st int
		_ = rows.Scan(&id, &st)
		wrong = append(wrong, fmt.Sprintf("%d:%d", id, st))
	}
	if len(wrong) > 0 {
		t.Fatalf("shop orders not imported: %s", strings.Join(wrong, " "))
	}
}
