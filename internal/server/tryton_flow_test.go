package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
	"github.com/junction-hub/junction/internal/drivers/tryton/trytontest"
	"github.com/junction-hub/junction/internal/server/servertest"
	"github.com/junction-hub/junction/internal/store"
	"github.com/junction-hub/junction/internal/testdb"
)

// The "Done when" of issue 8 that needs flows: a PostgreSQL web shop's new orders become
// confirmed sales in a real Tryton, the customer and the products found by their codes,
// the lines mapped; the shop's order becomes "sent", and then takes the sale's state once
// a sync of Tryton has seen it.

// webshop is the shop's database: customers and products by code, orders with lines, and
// a log of every status change (a trigger writes it), which tells whether a status was
// ever written twice.
type webshop struct {
	db   *sql.DB
	name string
}

func newWebshop(t *testing.T) *webshop {
	t.Helper()
	dsn, name := testdb.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mustExec(t, db, `
		CREATE TABLE customers (code TEXT PRIMARY KEY, name TEXT NOT NULL);
		CREATE TABLE products (code TEXT PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2) NOT NULL);
		CREATE TABLE orders (
			id            BIGINT PRIMARY KEY,
			customer_code TEXT NOT NULL REFERENCES customers(code),
			status        TEXT NOT NULL,
			updated_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
		);
		CREATE TABLE order_lines (
			id           BIGINT PRIMARY KEY,
			order_id     BIGINT NOT NULL REFERENCES orders(id),
			product_code TEXT NOT NULL,
			quantity     NUMERIC(10,3) NOT NULL,
			price        NUMERIC(10,2) NOT NULL,
			updated_at   TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
		);
		CREATE TABLE status_changes (order_id BIGINT NOT NULL, old_status TEXT, new_status TEXT NOT NULL);
		CREATE FUNCTION order_changed() RETURNS trigger AS $$
		BEGIN
			NEW.updated_at := clock_timestamp();
			IF NEW.status IS DISTINCT FROM OLD.status THEN
				INSERT INTO status_changes VALUES (NEW.id, OLD.status, NEW.status);
			END IF;
			RETURN NEW;
		END $$ LANGUAGE plpgsql;
		CREATE TRIGGER order_changed BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION order_changed();

		INSERT INTO customers VALUES ('C-ANNA', 'Anna Nowak'), ('C-JAN', 'Jan Kowalski'), ('C-GONE', 'Not in Tryton');
		INSERT INTO products VALUES ('MUG-1', 'Mug', 9.50), ('TEA-1', 'Tea', 24.00), ('LAMP-9', 'Lamp', 40.00);
		INSERT INTO orders (id, customer_code, status) VALUES
			(1, 'C-ANNA', 'new'), (2, 'C-JAN', 'new'), (3, 'C-ANNA', 'shipped'), (4, 'C-JAN', 'new'), (5, 'C-GONE', 'new');
		INSERT INTO order_lines (id, order_id, product_code, quantity, price) VALUES
			(11, 1, 'MUG-1', 2, 9.50), (12, 1, 'TEA-1', 3, 22.00),
			(21, 2, 'MUG-1', 1, 9.50),
			(31, 3, 'TEA-1', 1, 24.00),
			(41, 4, 'MUG-1', 1, 9.50), (42, 4, 'LAMP-9', 1, 40.00),
			(51, 5, 'MUG-1', 1, 9.50);`)
	return &webshop{db: db, name: name}
}

func (s *webshop) status(t *testing.T, id int64) string {
	t.Helper()
	var st string
	if err := s.db.QueryRow(`SELECT status FROM orders WHERE id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// changes returns the status changes of an order, as "old>new".
func (s *webshop) changes(t *testing.T, id int64) string {
	t.Helper()
	rows, err := s.db.Query(`SELECT old_status, new_status FROM status_changes WHERE order_id = $1 ORDER BY ctid`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var o, n string
		if err := rows.Scan(&o, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, o+">"+n)
	}
	return strings.Join(out, ",")
}

// erp is the Tryton side, spoken to through Tryton's own API.
type erp struct {
	t *testing.T
	c *rpc.Client
}

func (e erp) call(method string, out any, args ...any) {
	e.t.Helper()
	if err := e.c.Call(context.WithoutCancel(e.t.Context()), method, out, args...); err != nil {
		e.t.Fatalf("%s: %v", method, err)
	}
}

// seed creates the parties and products the shop knows, with the shop's codes.
func (e erp) seed() (parties, products map[string]int64) {
	e.t.Helper()
	var units []int64
	e.call("model.product.uom.search", &units, []any{[]any{"symbol", "=", "u"}})
	parties, products = map[string]int64{}, map[string]int64{}
	for code, name := range map[string]string{"C-ANNA": "Anna Nowak", "C-JAN": "Jan Kowalski"} {
		var ids []int64
		e.call("model.party.party.create", &ids, []any{map[string]any{"name": name, "code": code,
			"addresses": []any{[]any{"create", []any{map[string]any{"street": "Długa 1", "city": "Gdańsk"}}}}}})
		parties[code] = ids[0]
	}
	for code, price := range map[string]string{"MUG-1": "9.50", "TEA-1": "24.00"} {
		var tmpl []int64
		e.call("model.product.template.create", &tmpl, []any{map[string]any{
			"name": "Product " + code, "type": "goods", "default_uom": units[0], "salable": true, "sale_uom": units[0],
			"list_price": rpc.Decimal(price), "products": []any{[]any{"create", []any{map[string]any{"suffix_code": code}}}}}})
		var ids []int64
		e.call("model.product.product.search", &ids, []any{[]any{"template", "=", tmpl[0]}})
		products[code] = ids[0]
	}
	return parties, products
}

// tSale is a sale as the test compares it: "party state | product×quantity@price, …".
type tSale struct {
	id   int64
	text string
}

// sales returns the sales by reference.
func (e erp) sales() map[string]tSale {
	e.t.Helper()
	var rows []map[string]any
	e.call("model.sale.sale.search_read", &rows, []any{}, 0, nil, [][]string{{"id", "ASC"}}, []string{"reference", "party", "state", "lines"})
	out := map[string]tSale{}
	for _, r := range rows {
		ref, _ := r["reference"].(string)
		id, _ := rpc.Int(r["id"])
		party, _ := rpc.Int(r["party"])
		var lines []map[string]any
		e.call("model.sale.line.search_read", &lines, []any{[]any{"sale", "=", id}}, 0, nil, [][]string{{"sequence", "ASC"}, {"id", "ASC"}},
			[]string{"product", "quantity", "unit_price"})
		var ls []string
		for _, l := range lines {
			p, _ := rpc.Int(l["product"])
			ls = append(ls, fmt.Sprintf("%d×%v@%v", p, rpc.Plain(l["quantity"]), rpc.Plain(l["unit_price"])))
		}
		if _, twice := out[ref]; twice {
			e.t.Fatalf("two sales have the reference %q", ref)
		}
		out[ref] = tSale{id: id, text: fmt.Sprintf("%d %s | %s", party, r["state"], strings.Join(ls, ", "))}
	}
	return out
}

// webshopOrderFlow is the scenario's flow, as a user would write it.
func webshopOrderFlow(shopID, trytonID int64) map[string]any {
	return map[string]any{
		"name":       "webshop orders to Tryton",
		"source":     map[string]any{"connection_id": shopID, "entity": "orders"},
		"target":     map[string]any{"connection_id": trytonID, "entity": "sale.sale"},
		"trigger":    "automatic",
		"write_mode": "create",
		"condition":  map[string]any{"status_field": "status", "status_in": []string{"new"}},
		"fields": map[string]any{
			"party":          map[string]any{"source": "customer_code"},
			"reference":      map[string]any{"template": "WEB-{{id}}"},
			"description":    map[string]any{"template": "Webshop order {{id}}"},
			"invoice_method": map[string]any{"constant": "manual"},
			"_buttons":       map[string]any{"constant": []string{"quote", "confirm"}},
		},
		"reference": "reference",
		"lines": []map[string]any{{
			"source_entity": "order_lines", "source_parent": "order_id", "target_field": "lines",
			"fields": map[string]any{
				"product":    map[string]any{"source": "product_code"},
				"quantity":   map[string]any{"source": "quantity"},
				"unit_price": map[string]any{"source": "price"},
			},
		}},
		"on_success": map[string]any{"status": "sent"},
		"write_back": []map[string]any{
			{"field": "state", "in": []string{"confirmed"}, "set": map[string]any{"status": "confirmed"}},
			{"field": "state", "in": []string{"processing"}, "set": map[string]any{"status": "processing"}},
			{"field": "state", "in": []string{"done"}, "set": map[string]any{"status": "done"}},
		},
	}
}

func TestTrytonFlowFromWebshop(t *testing.T) {
	shop := newWebshop(t)
	in := trytontest.Start(t)
	tryton := erp{t: t, c: in.Client(t)}
	parties, products := tryton.seed()
	srv := servertest.Start(t, servertest.Options{Postgres: true})

	shopID := createConn(t, srv, "webshop", "postgres", map[string]any{"host": "127.0.0.1", "port": 5432, "database": shop.name, "user": "postgres"})
	var tc connWithJob
	if code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{"name": "tryton", "driver": "tryton",
		"credentials": in.Credentials(), "settings": map[string]any{"models": "sale.sale"}}, &tc); code != http.StatusCreated {
		t.Fatalf("create the tryton connection: %d", code)
	}
	if j := srv.WaitJob(t, *tc.JobID, time.Minute); j.State != "succeeded" {
		t.Fatalf("initial sync of tryton: %+v", j)
	}
	trytonID := tc.Connection.ID

	var p problem
	if code := srv.Do(t, "POST", "/api/v1/flows", webshopOrderFlow(shopID, trytonID), &p); code != http.StatusCreated {
		t.Fatalf("create the flow: %d %+v", code, p)
	}
	var flows struct {
		Flows []flowOut `json:"flows"`
	}
	srv.Do(t, "GET", "/api/v1/flows", nil, &flows)
	if len(flows.Flows) != 1 {
		t.Fatalf("flows: %+v", flows.Flows)
	}
	f := flows.Flows[0]
	flowPath := fmt.Sprintf("/api/v1/flows/%d", f.ID)
	run := func() flowJob { t.Helper(); return runFlow(t, srv, srv.Token, f.ID) }

	// Orders 1 and 2 become confirmed sales; 3 is shipped already; 4 has a product and
	// 5 a customer Tryton does not know, which Tryton's driver says per order.
	j := run()
	if j.State != "succeeded" || j.Progress.Inserted != 2 || j.Progress.Skipped != 1 || j.Progress.Failed != 2 {
		t.Fatalf("run: %+v; want 2 created, 1 skipped, 2 failed", j)
	}
	sales := tryton.sales()
	state := strings.Fields(sales["WEB-1"].text)[1]
	if state != "confirmed" && state != "processing" {
		t.Fatalf("sale WEB-1 is %s, want confirmed (or already processing)", sales["WEB-1"].text)
	}
	want := map[string]string{
		"WEB-1": fmt.Sprintf("%d %s | %d×2@9.50, %d×3@22.00", parties["C-ANNA"], state, products["MUG-1"], products["TEA-1"]),
		"WEB-2": fmt.Sprintf("%d %s | %d×1@9.50", parties["C-JAN"], state, products["MUG-1"]),
	}
	checkSales(t, sales, want)
	for id, st := range map[int64]string{1: "sent", 2: "sent", 3: "shipped", 4: "new", 5: "new"} {
		if got := shop.status(t, id); got != st {
			t.Fatalf("webshop order %d is %q, want %q", id, got, st)
		}
	}
	if c := shop.changes(t, 3); c != "" {
		t.Fatalf("the shipped order was touched: %s", c)
	}
	var failed struct {
		Failed []struct {
			SourceKey string `json:"source_key"`
			Reason    string `json:"reason"`
		} `json:"failed"`
	}
	srv.Do(t, "GET", flowPath+"/failed", nil, &failed)
	reasons := map[string]string{}
	for _, fl := range failed.Failed {
		reasons[fl.SourceKey] = fl.Reason
	}
	if !strings.Contains(reasons["4"], `lines[1].product: no product.product has code "LAMP-9"`) ||
		!strings.Contains(reasons["5"], `party: no party.party has code "C-GONE"`) || len(reasons) != 2 {
		t.Fatalf("failed orders: %v", reasons)
	}

	// A re-run creates no second sale.
	if j := run(); j.State != "succeeded" || j.Progress.Written != 0 {
		t.Fatalf("re-run: %+v; want nothing written", j)
	}
	checkSales(t, tryton.sales(), want)

	// A crash after the sale was written and before its link was saved: the link is
	// pending and the order still new. The next run (the webshop's sync starts it) finds
	// the sale by its reference, in Tryton itself, and makes no second one.
	ctx := context.Background()
	if err := srv.Server.Store.SaveLinks(ctx, []store.Link{{FlowID: f.ID, SourceKey: "1", State: store.LinkPending}}); err != nil {
		t.Fatal(err)
	}
	mustExec(t, shop.db, `UPDATE orders SET status = 'new' WHERE id = 1`)
	syncConn(t, srv, shopID)
	waitFlowsIdle(t, srv)
	checkSales(t, tryton.sales(), want)
	if got := shop.status(t, 1); got != "sent" {
		t.Fatalf("order 1 after the recovery is %q, want sent", got)
	}

	// Tryton moves the sales on; a sync of Tryton sees it and the flow (automatic) writes
	// the state back into the webshop.
	syncConn(t, srv, trytonID)
	waitFlowsIdle(t, srv)
	for id := int64(1); id <= 2; id++ {
		if got := shop.status(t, id); got != state {
			t.Fatalf("webshop order %d is %q after Tryton's sync, want the sale's state %q", id, got, state)
		}
	}
	if c := shop.changes(t, 2); c != "new>sent,sent>"+state {
		t.Fatalf("status changes of order 2: %s; want new>sent,sent>%s", c, state)
	}
	// Seen again, nothing is written back again; untouched orders stay untouched.
	syncConn(t, srv, trytonID)
	waitFlowsIdle(t, srv)
	run()
	if c := shop.changes(t, 2); c != "new>sent,sent>"+state {
		t.Fatalf("status changes of order 2 after another sync: %s", c)
	}
	for id, st := range map[int64]string{3: "shipped", 4: "new", 5: "new"} {
		if got := shop.status(t, id); got != st {
			t.Fatalf("webshop order %d is %q, want %q", id, got, st)
		}
	}
	checkSales(t, tryton.sales(), want)
}

func checkSales(t *testing.T, got map[string]tSale, want map[string]string) {
	t.Helper()
	var refs []string
	for ref := range got {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	if len(got) != len(want) {
		t.Fatalf("sales in Tryton: %v, want %v", refs, want)
	}
	for ref, w := range want {
		if got[ref].text != w {
			t.Fatalf("sale %s:\n got %s\nwant %s", ref, got[ref].text, w)
		}
	}
}
