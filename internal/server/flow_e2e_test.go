package server_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/testdb"
)

// The Optimakers–BaseLinker scenario of issue 7: a PostgreSQL web shop whose orders with
// status "new" go into a MariaDB production system with status "to produce", with the
// shop's delivery and payment method names, currency codes, VAT rates and line units
// mapped to production's own ids; the shop's order becomes "imported", and "shipped" once
// production has it "done".

// Shop status ids (like BaseLinker's), production status ids.
const (
	shopNew, shopProcessing, shopImported, shopShipped = 1, 2, 3, 4
	prodToProduce, prodInProduction, prodDone          = 10, 20, 30
)

// shopDB is the shop: orders with lines, and a log of every status change (a trigger
// writes it), which tells whether a status was ever written twice.
type shopDB struct {
	db   *sql.DB
	name string
}

func newShop(t testing.TB) *shopDB {
	t.Helper()
	dsn, name := testdb.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mustExec(t, db, `
		CREATE TYPE line_unit AS ENUM ('pcs', 'kg', 'm');
		CREATE TABLE orders (
			id              BIGINT PRIMARY KEY,
			status_id       INT NOT NULL,
			first_name      TEXT NOT NULL,
			last_name       TEXT NOT NULL,
			email           TEXT NOT NULL,
			delivery_method TEXT NOT NULL,
			delivery_price  NUMERIC(10,2) NOT NULL,
			payment_method  TEXT NOT NULL,
			currency        CHAR(3) NOT NULL,
			notes           TEXT,
			updated_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
		);
		CREATE TABLE order_lines (
			id         BIGINT PRIMARY KEY,
			order_id   BIGINT NOT NULL REFERENCES orders(id),
			sku        TEXT NOT NULL,
			name       TEXT NOT NULL,
			quantity   NUMERIC(10,3) NOT NULL,
			unit       line_unit NOT NULL,
			price      NUMERIC(10,2) NOT NULL,
			vat_rate   NUMERIC(4,2) NOT NULL,
			updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
		);
		CREATE TABLE status_changes (order_id BIGINT NOT NULL, old_status INT, new_status INT NOT NULL);
		CREATE FUNCTION order_changed() RETURNS trigger AS $$
		BEGIN
			NEW.updated_at := clock_timestamp();
			IF NEW.status_id IS DISTINCT FROM OLD.status_id THEN
				INSERT INTO status_changes VALUES (NEW.id, OLD.status_id, NEW.status_id);
			END IF;
			RETURN NEW;
		END $$ LANGUAGE plpgsql;
		CREATE TRIGGER order_changed BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION order_changed();`)
	return &shopDB{db: db, name: name}
}

// order is one shop order with one or more lines.
type shopOrder struct {
	id                      int64
	status                  int
	first, last             string
	delivery, payment, curr string
	deliveryPrice           string
	notes                   string
	lines                   []shopLine
}

type shopLine struct {
	id       int64
	sku      string
	qty      string
	unit     string
	price    string
	vat      string
	lineName string
}

func (s *shopDB) add(t *testing.T, orders ...shopOrder) {
	t.Helper()
	tx, err := s.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		if _, err := tx.Exec(`INSERT INTO orders (id, status_id, first_name, last_name, email, delivery_method, delivery_price,
			payment_method, currency, notes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			o.id, o.status, o.first, o.last, strings.ToLower(o.first)+"@example.com", o.delivery, o.deliveryPrice, o.payment,
			o.curr, o.notes); err != nil {
			t.Fatal(err)
		}
		for _, l := range o.lines {
			if _, err := tx.Exec(`INSERT INTO order_lines (id, order_id, sku, name, quantity, unit, price, vat_rate)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, l.id, o.id, l.sku, l.lineName, l.qty, l.unit, l.price, l.vat); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func (s *shopDB) status(t *testing.T, id int64) int {
	t.Helper()
	var st int
	if err := s.db.QueryRow(`SELECT status_id FROM orders WHERE id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// changes returns the status changes of an order, as "old>new".
func (s *shopDB) changes(t *testing.T, id int64) []string {
	t.Helper()
	rows, err := s.db.Query(`SELECT old_status, new_status FROM status_changes WHERE order_id = $1 ORDER BY ctid`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var o, n int
		if err := rows.Scan(&o, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d>%d", o, n))
	}
	return out
}

func (s *shopDB) credentials() map[string]any {
	return map[string]any{"host": "127.0.0.1", "port": 5432, "database": s.name, "user": "postgres"}
}

// productionDB is the production system, with its own ids for everything.
type productionDB struct {
	db   *sql.DB
	name string
}

func newProduction(t testing.TB) *productionDB {
	t.Helper()
	dsn, name := testdb.MySQL(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mustExec(t, db, `
		CREATE TABLE orders (
			order_no           VARCHAR(32) PRIMARY KEY,
			shop_order_id      BIGINT NOT NULL,
			status_id          INT NOT NULL,
			customer           VARCHAR(200) NOT NULL,
			email              VARCHAR(200) NOT NULL,
			delivery_method_id INT NOT NULL,
			delivery_price     DECIMAL(10,2) NOT NULL,
			payment_method_id  INT NOT NULL,
			currency_id        INT NOT NULL,
			notes              TEXT,
			updated_at         TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
		);
		CREATE TABLE order_lines (
			order_no   VARCHAR(32) NOT NULL,
			line_no    BIGINT NOT NULL,
			sku        VARCHAR(64) NOT NULL,
			name       VARCHAR(200) NOT NULL,
			quantity   DECIMAL(10,3) NOT NULL,
			unit       ENUM('pcs', 'kg', 'm') NOT NULL,
			price      DECIMAL(10,2) NOT NULL,
			vat_id     INT NOT NULL,
			updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
			PRIMARY KEY (order_no, line_no)
		);`)
	return &productionDB{db: db, name: name}
}

func (p *productionDB) credentials() map[string]any {
	return map[string]any{"host": "127.0.0.1", "port": 3306, "database": p.name, "user": "root"}
}

func (p *productionDB) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := p.db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustExec(t testing.TB, db *sql.DB, script string) {
	t.Helper()
	if _, err := db.Exec(script); err != nil {
		t.Fatalf("%v\n%s", err, script)
	}
}

// orderFlow is the flow of the scenario, as a user would write it.
func orderFlow(shopID, prodID int64, payments map[string]string) map[string]any {
	return map[string]any{
		"name":       "shop orders to production",
		"source":     map[string]any{"connection_id": shopID, "entity": "orders"},
		"target":     map[string]any{"connection_id": prodID, "entity": "orders"},
		"trigger":    "automatic",
		"write_mode": "create",
		"condition":  map[string]any{"status_field": "status_id", "status_in": []string{fmt.Sprint(shopNew)}},
		"fields": map[string]any{
			"order_no":      map[string]any{"template": "SHOP-{{id}}"},
			"shop_order_id": map[string]any{"source": "id"},
			"status_id":     map[string]any{"constant": prodToProduce},
			"customer":      map[string]any{"template": "{{first_name}} {{last_name}}"},
			"email":         map[string]any{"source": "email"},
			"delivery_method_id": map[string]any{"source": "delivery_method",
				"values": map[string]any{"map": map[string]string{"DPD courier": "1", "InPost locker": "2", "Pickup": "3"}}},
			"delivery_price":    map[string]any{"source": "delivery_price"},
			"payment_method_id": map[string]any{"source": "payment_method", "values": map[string]any{"map": payments}},
			"currency_id": map[string]any{"source": "currency",
				"values": map[string]any{"map": map[string]string{"PLN": "1", "EUR": "2"}}},
			"notes": map[string]any{"source": "notes", "default": "(no notes)"},
		},
		"lines": []map[string]any{{
			"source_entity": "order_lines", "source_parent": "order_id", "target_entity": "order_lines",
			"fields": map[string]any{
				"order_no": map[string]any{"parent": "order_no"},
				"line_no":  map[string]any{"source": "id"},
				"sku":      map[string]any{"source": "sku"},
				"name":     map[string]any{"source": "name"},
				"quantity": map[string]any{"source": "quantity"},
				"unit":     map[string]any{"source": "unit", "values": map[string]any{"auto": true}},
				"price":    map[string]any{"source": "price"},
				"vat_id": map[string]any{"source": "vat_rate",
					"values": map[string]any{"map": map[string]string{"23.00": "1", "8.00": "2", "5.00": "3", "0.00": "4"}}},
			},
		}},
		"on_success": map[string]any{"status_id": shopImported},
		"write_back": []map[string]any{{"field": "status_id", "in": []string{fmt.Sprint(prodDone)}, "set": map[string]any{"status_id": shopShipped}}},
	}
}

var paymentsWithoutPaypal = map[string]string{"card": "1", "transfer": "2", "cod": "3"}

type flowOut struct {
	ID     int64 `json:"id"`
	Fields map[string]struct {
		Values *struct {
			AutoMapped map[string]string `json:"auto_mapped"`
		} `json:"values"`
	} `json:"fields"`
	Lines []struct {
		Fields map[string]struct {
			Values *struct {
				AutoMapped map[string]string `json:"auto_mapped"`
			} `json:"values"`
		} `json:"fields"`
	} `json:"lines"`
}

type flowItem struct {
	Key       string         `json:"key"`
	Action    string         `json:"action"`
	Reason    string         `json:"reason"`
	TargetKey string         `json:"target_key"`
	Fields    map[string]any `json:"fields"`
	Lines     []struct {
		Entity string         `json:"entity"`
		Fields map[string]any `json:"fields"`
	} `json:"lines"`
}

type flowJob struct {
	ID       int64  `json:"id"`
	FlowID   int64  `json:"flow_id"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
	Progress struct {
		Considered, Written, Inserted, Updated, Skipped, Failed int64
	} `json:"progress"`
}

func createConn(t testing.TB, srv *servertest.Instance, name, drv string, creds map[string]any) int64 {
	t.Helper()
	var c connWithJob
	if code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{"name": name, "driver": drv, "credentials": creds,
		"settings": map[string]any{"tables": "orders,order_lines"}}, &c); code != http.StatusCreated {
		t.Fatalf("create connection %s: %d", name, code)
	}
	if j := srv.WaitJob(t, *c.JobID, time.Minute); j.State != "succeeded" {
		t.Fatalf("initial sync of %s: %+v", name, j)
	}
	return c.Connection.ID
}

func syncConn(t *testing.T, srv *servertest.Instance, id int64) {
	t.Helper()
	var ref struct {
		JobID int64 `json:"job_id"`
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync", id), nil, &ref); code != http.StatusAccepted {
		t.Fatalf("sync %d: %d", id, code)
	}
	if j := srv.WaitJob(t, ref.JobID, time.Minute); j.State != "succeeded" {
		t.Fatalf("sync %d: %+v", id, j)
	}
}

// runFlow starts a run of the flow with the token and waits for it to end.
func runFlow(t *testing.T, srv *servertest.Instance, token string, flowID int64) flowJob {
	t.Helper()
	var ref struct {
		JobID int64 `json:"job_id"`
	}
	if code := srv.DoWithToken(t, token, "POST", fmt.Sprintf("/api/v1/flows/%d/run", flowID), nil, &ref); code != http.StatusAccepted {
		t.Fatalf("run flow %d: %d", flowID, code)
	}
	return waitFlowJob(t, srv, ref.JobID)
}

func waitFlowJob(t *testing.T, srv *servertest.Instance, id int64) flowJob {
	t.Helper()
	srv.WaitJob(t, id, 2*time.Minute)
	var j flowJob
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", id), nil, &j)
	return j
}

// waitFlowsIdle waits until no flow job is pending or running, and returns the flow jobs
// newest first.
func waitFlowsIdle(t *testing.T, srv *servertest.Instance) []flowJob {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var list struct {
			Jobs []flowJob `json:"jobs"`
		}
		srv.Do(t, "GET", "/api/v1/jobs?kind=flow", nil, &list)
		busy := slices.ContainsFunc(list.Jobs, func(j flowJob) bool { return j.State == "pending" || j.State == "running" })
		if !busy {
			return list.Jobs
		}
		if time.Now().After(deadline) {
			t.Fatalf("flow jobs still busy: %+v", list.Jobs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFlowShopToProduction plays the "Done when" of issue 7 over HTTP only, on both stores.
func TestFlowShopToProduction(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) { testFlowShopToProduction(t, store == "postgres") })
	}
}

func testFlowShopToProduction(t *testing.T, postgresStore bool) {
	shop := newShop(t)
	prod := newProduction(t)
	shop.add(t,
		shopOrder{id: 1, status: shopNew, first: "Anna", last: "Nowak", delivery: "DPD courier", deliveryPrice: "14.99",
			payment: "card", curr: "PLN", notes: "leave at the door", lines: []shopLine{
				{id: 11, sku: "MUG-1", lineName: "Mug", qty: "2.000", unit: "pcs", price: "25.00", vat: "23.00"},
				{id: 12, sku: "TEA-1", lineName: "Tea", qty: "0.500", unit: "kg", price: "80.00", vat: "5.00"}}},
		shopOrder{id: 2, status: shopNew, first: "Jan", last: "Kowalski", delivery: "InPost locker", deliveryPrice: "9.50",
			payment: "transfer", curr: "EUR", lines: []shopLine{
				{id: 21, sku: "BOOK-7", lineName: "Book", qty: "1.000", unit: "pcs", price: "12.40", vat: "8.00"}}},
		shopOrder{id: 3, status: shopProcessing, first: "Ewa", last: "Lis", delivery: "Pickup", deliveryPrice: "0.00",
			payment: "cod", curr: "PLN", lines: []shopLine{{id: 31, sku: "MUG-1", lineName: "Mug", qty: "1.000", unit: "pcs", price: "25.00", vat: "23.00"}}},
		shopOrder{id: 4, status: shopNew, first: "Piotr", last: "Zieliński", delivery: "DPD courier", deliveryPrice: "14.99",
			payment: "paypal", curr: "EUR", lines: []shopLine{{id: 41, sku: "CABLE-2", lineName: "Cable", qty: "3.000", unit: "m", price: "4.00", vat: "23.00"}}},
		shopOrder{id: 5, status: shopShipped, first: "Olga", last: "Wiśniewska", delivery: "Pickup", deliveryPrice: "0.00",
			payment: "card", curr: "PLN", lines: []shopLine{{id: 51, sku: "TEA-1", lineName: "Tea", qty: "1.000", unit: "kg", price: "80.00", vat: "5.00"}}},
		shopOrder{id: 6, status: shopNew, first: "Adam", last: "Wójcik", delivery: "Pickup", deliveryPrice: "0.00",
			payment: "cod", curr: "PLN", notes: "call first", lines: []shopLine{{id: 61, sku: "ROPE-1", lineName: "Rope", qty: "12.500", unit: "m", price: "1.20", vat: "0.00"}}},
	)
	srv := servertest.Start(t, servertest.Options{Postgres: postgresStore})
	shopID := createConn(t, srv, "shop", "postgres", shop.credentials())
	prodID := createConn(t, srv, "production", "mysql", prod.credentials())

	// A bad mapping is refused with the fields named, and nothing is stored.
	bad := orderFlow(shopID, prodID, paymentsWithoutPaypal)
	bad["fields"].(map[string]any)["customer"] = map[string]any{"template": "{{first_name}} {{middle_name}}"}
	bad["fields"].(map[string]any)["colour"] = map[string]any{"source": "id"}
	var p problem
	if code := srv.Do(t, "POST", "/api/v1/flows", bad, &p); code != http.StatusUnprocessableEntity ||
		!p.names("fields.customer.template") || !p.names("fields.colour") {
		t.Fatalf("bad mapping: %d %+v; want 422 naming fields.customer.template and fields.colour", code, p)
	}
	var flows struct {
		Flows []flowOut `json:"flows"`
	}
	if srv.Do(t, "GET", "/api/v1/flows", nil, &flows); len(flows.Flows) != 0 {
		t.Fatalf("a refused flow was stored: %+v", flows)
	}

	var f flowOut
	if code := srv.Do(t, "POST", "/api/v1/flows", orderFlow(shopID, prodID, paymentsWithoutPaypal), &f); code != http.StatusCreated {
		t.Fatalf("create flow: %d", code)
	}
	// The line units are the same list on both sides: auto-mapped by name, and shown so.
	if got := f.Lines[0].Fields["unit"].Values.AutoMapped; got["pcs"] != "pcs" || got["kg"] != "kg" || got["m"] != "m" {
		t.Fatalf("auto-mapped units = %v", got)
	}

	// The dry run says what a run would do, and writes nothing.
	var dry struct {
		Items []flowItem `json:"items"`
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/flows/%d/dry-run?limit=50", f.ID), nil, &dry); code != http.StatusOK {
		t.Fatalf("dry run: %d", code)
	}
	planned := map[string]flowItem{}
	for _, it := range dry.Items {
		planned[it.Key] = it
	}
	wantActions := map[string]string{"1": "create", "2": "create", "3": "skip", "4": "fail", "5": "skip", "6": "create"}
	for k, a := range wantActions {
		if planned[k].Action != a {
			t.Fatalf("dry run of order %s: %+v; want %s (all: %+v)", k, planned[k], a, dry.Items)
		}
	}
	if !strings.Contains(planned["4"].Reason, "payment_method_id") || !strings.Contains(planned["4"].Reason, `"paypal"`) {
		t.Fatalf("dry run reason for order 4: %q", planned["4"].Reason)
	}
	if !strings.Contains(planned["3"].Reason, "status_id") {
		t.Fatalf("dry run reason for order 3: %q", planned["3"].Reason)
	}
	if got := planned["1"].Fields; got["customer"] != "Anna Nowak" || got["order_no"] != "SHOP-1" || fmt.Sprint(got["currency_id"]) != "1" {
		t.Fatalf("dry run output of order 1: %v", got)
	}
	if n := prod.count(t, "orders"); n != 0 {
		t.Fatalf("the dry run wrote %d orders", n)
	}
	if st := shop.status(t, 1); st != shopNew {
		t.Fatalf("the dry run changed the shop: status %d", st)
	}

	// The run does what the dry run said.
	j := runFlow(t, srv, srv.Token, f.ID)
	if j.State != "succeeded" || j.Kind != "flow" || j.FlowID != f.ID || j.Progress.Considered != 6 || j.Progress.Written != 3 ||
		j.Progress.Inserted != 3 || j.Progress.Skipped != 2 || j.Progress.Failed != 1 {
		t.Fatalf("run: %+v; want 6 considered, 3 written, 2 skipped, 1 failed", j)
	}
	checkProductionOrder(t, prod, 1, "Anna Nowak", "anna@example.com", 1, "14.99", 1, 1, "leave at the door",
		[]string{"11 MUG-1 Mug 2.000 pcs 25.00 1", "12 TEA-1 Tea 0.500 kg 80.00 3"})
	checkProductionOrder(t, prod, 2, "Jan Kowalski", "jan@example.com", 2, "9.50", 2, 2, "(no notes)",
		[]string{"21 BOOK-7 Book 1.000 pcs 12.40 2"})
	checkProductionOrder(t, prod, 6, "Adam Wójcik", "adam@example.com", 3, "0.00", 3, 1, "call first",
		[]string{"61 ROPE-1 Rope 12.500 m 1.20 4"})
	if n := prod.count(t, "orders"); n != 3 {
		t.Fatalf("%d production orders, want 3", n)
	}
	for id, want := range map[int64]int{1: shopImported, 2: shopImported, 6: shopImported, 3: shopProcessing, 4: shopNew, 5: shopShipped} {
		if got := shop.status(t, id); got != want {
			t.Fatalf("shop order %d has status %d, want %d", id, got, want)
		}
	}
	for _, id := range []int64{3, 5} {
		if c := shop.changes(t, id); len(c) != 0 {
			t.Fatalf("shop order %d in another status was touched: %v", id, c)
		}
	}
	var links struct {
		Links []struct {
			SourceKey string `json:"source_key"`
			TargetKey string `json:"target_key"`
			State     string `json:"state"`
		} `json:"links"`
	}
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/flows/%d/links?state=linked", f.ID), nil, &links)
	var linked []string
	for _, l := range links.Links {
		linked = append(linked, l.SourceKey+"→"+l.TargetKey)
	}
	if got := strings.Join(linked, " "); got != "1→SHOP-1 2→SHOP-2 6→SHOP-6" {
		t.Fatalf("links: %s", got)
	}
	// Orders in other statuses are remembered as left out; the failed one is not linked.
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/flows/%d/links", f.ID), nil, &links)
	var states []string
	for _, l := range links.Links {
		states = append(states, l.SourceKey+":"+l.State)
	}
	if got := strings.Join(states, " "); got != "1:linked 2:linked 3:skipped 5:skipped 6:linked" {
		t.Fatalf("all links: %s", got)
	}

	// Only order 4 failed, with its reason.
	var failed struct {
		Failed []struct {
			SourceKey string `json:"source_key"`
			Reason    string `json:"reason"`
			Attempts  int    `json:"attempts"`
		} `json:"failed"`
	}
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/flows/%d/failed", f.ID), nil, &failed)
	if len(failed.Failed) != 1 || failed.Failed[0].SourceKey != "4" || failed.Failed[0].Reason != planned["4"].Reason {
		t.Fatalf("failed records: %+v; want order 4 with %q", failed.Failed, planned["4"].Reason)
	}

	// A sync of the shop starts the flow by itself; nothing is created twice, and the
	// failed order waits for its retry.
	syncConn(t, srv, shopID)
	jobs := waitFlowsIdle(t, srv)
	if len(jobs) != 2 || jobs[0].State != "succeeded" || jobs[0].Progress.Written != 0 || jobs[0].Progress.Failed != 0 {
		t.Fatalf("automatic run after the shop's sync: %+v", jobs)
	}

	// Fix the mapping, retry: order 4 is imported.
	fixed := orderFlow(shopID, prodID, map[string]string{"card": "1", "transfer": "2", "cod": "3", "paypal": "4"})
	if code := srv.Do(t, "PUT", fmt.Sprintf("/api/v1/flows/%d", f.ID), fixed, nil); code != http.StatusOK {
		t.Fatalf("fix the mapping: %d", code)
	}
	var ref struct {
		JobID int64 `json:"job_id"`
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/flows/%d/failed/retry", f.ID), nil, &ref); code != http.StatusAccepted {
		t.Fatalf("retry: %d", code)
	}
	if j := waitFlowJob(t, srv, ref.JobID); j.State != "succeeded" || j.Progress.Inserted != 1 || j.Progress.Failed != 0 {
		t.Fatalf("retry: %+v", j)
	}
	checkProductionOrder(t, prod, 4, "Piotr Zieliński", "piotr@example.com", 1, "14.99", 4, 2, "(no notes)",
		[]string{"41 CABLE-2 Cable 3.000 m 4.00 1"})
	if got := shop.status(t, 4); got != shopImported {
		t.Fatalf("retried order: shop status %d", got)
	}
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/flows/%d/failed", f.ID), nil, &failed)
	if len(failed.Failed) != 0 {
		t.Fatalf("failed records after the retry: %+v", failed.Failed)
	}

	// Production finishes order 1 and 2 are in production: after production's sync, the
	// flow sets order 1 shipped in the shop, and only order 1.
	mustExec(t, prod.db, fmt.Sprintf(`UPDATE orders SET status_id = %d WHERE order_no = 'SHOP-1'`, prodDone))
	mustExec(t, prod.db, fmt.Sprintf(`UPDATE orders SET status_id = %d WHERE order_no = 'SHOP-2'`, prodInProduction))
	syncConn(t, srv, prodID)
	waitFlowsIdle(t, srv)
	if got := shop.status(t, 1); got != shopShipped {
		t.Fatalf("order done in production: shop status %d, want shipped", got)
	}
	if got := shop.status(t, 2); got != shopImported {
		t.Fatalf("order in production: shop status %d, want still imported", got)
	}
	// Runs that see order 1 done again write nothing back again.
	syncConn(t, srv, shopID)
	mustExec(t, prod.db, `UPDATE orders SET notes = 'packed' WHERE order_no = 'SHOP-1'`)
	syncConn(t, srv, prodID)
	waitFlowsIdle(t, srv)
	runFlow(t, srv, srv.Token, f.ID)
	if c := shop.changes(t, 1); strings.Join(c, ",") != "1>3,3>4" {
		t.Fatalf("status changes of order 1: %v; want new→imported→shipped, each once", c)
	}
	if n := prod.count(t, "orders"); n != 4 {
		t.Fatalf("%d production orders, want 4", n)
	}
	// Nothing left to do: the dry run says so.
	srv.Do(t, "POST", fmt.Sprintf("/api/v1/flows/%d/dry-run", f.ID), nil, &dry)
	for _, it := range dry.Items {
		if it.Action != "skip" {
			t.Fatalf("dry run after everything: %+v", dry.Items)
		}
	}
}

// checkProductionOrder asserts every mapped field of a production order and its lines
// ("line_no sku name quantity unit price vat_id").
func checkProductionOrder(t *testing.T, prod *productionDB, shopID int64, customer, email string, delivery int,
	deliveryPrice string, payment, currency int, notes string, lines []string) {
	t.Helper()
	orderNo := fmt.Sprintf("SHOP-%d", shopID)
	var gotShop int64
	var status, gotDelivery, gotPayment, gotCurrency int
	var gotCustomer, gotEmail, gotPrice, gotNotes string
	err := prod.db.QueryRow(`SELECT shop_order_id, status_id, customer, email, delivery_method_id, delivery_price,
		payment_method_id, currency_id, notes FROM orders WHERE order_no = ?`, orderNo).Scan(&gotShop, &status, &gotCustomer,
		&gotEmail, &gotDelivery, &gotPrice, &gotPayment, &gotCurrency, &gotNotes)
	if err != nil {
		t.Fatalf("production order %s: %v", orderNo, err)
	}
	got := fmt.Sprint(gotShop, status, gotCustomer, gotEmail, gotDelivery, gotPrice, gotPayment, gotCurrency, gotNotes)
	want := fmt.Sprint(shopID, prodToProduce, customer, email, delivery, deliveryPrice, payment, currency, notes)
	if got != want {
		t.Fatalf("production order %s:\n got %s\nwant %s", orderNo, got, want)
	}
	rows, err := prod.db.Query(`SELECT line_no, sku, name, quantity, unit, price, vat_id FROM order_lines WHERE order_no = ?
		ORDER BY line_no`, orderNo)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var gotLines []string
	for rows.Next() {
		var no, vat int
		var sku, name, qty, unit, price string
		if err := rows.Scan(&no, &sku, &name, &qty, &unit, &price, &vat); err != nil {
			t.Fatal(err)
		}
		gotLines = append(gotLines, fmt.Sprint(no, " ", sku, " ", name, " ", qty, " ", unit, " ", price, " ", vat))
	}
	if strings.Join(gotLines, "|") != strings.Join(lines, "|") {
		t.Fatalf("lines of %s:\n got %v\nwant %v", orderNo, gotLines, lines)
	}
}
