package tryton_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/tryton"
	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
	"github.com/junction-hub/junction/internal/drivers/tryton/trytontest"
)

// saleLines reads a sale's lines through Tryton's API, in their order.
func saleLines(tb testing.TB, c *rpc.Client, sale string) []map[string]any {
	tb.Helper()
	var rows []map[string]any
	call(tb, c, "model.sale.line.search_read", &rows, []any{[]any{"sale", "=", mustID(tb, sale)}}, 0, nil,
		[][]string{{"sequence", "ASC"}, {"id", "ASC"}}, []string{"product", "quantity", "unit_price", "unit", "description"})
	return rows
}

func mustID(tb testing.TB, key string) int64 {
	tb.Helper()
	n, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		tb.Fatalf("key %q is not an id", key)
	}
	return n
}

func countSales(tb testing.TB, c *rpc.Client) int64 {
	tb.Helper()
	var n int64
	call(tb, c, "model.sale.sale.search_count", &n, []any{})
	return n
}

// TestWriteSaleByCodes writes a sale as another system knows it: its party and its
// lines' products by code, the lines as records, no addresses or units; Tryton's
// on_change fills those in as its client would, and the buttons confirm it.
func TestWriteSaleByCodes(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	cfg := config(t, in, nil)
	// A product no longer sold shares its code with the one sold now.
	old := createProducts(t, c, "10", "PLATE")
	call(t, c, "model.product.product.write", nil, old, map[string]any{"active": false})
	products := createProducts(t, c, "10", "MUG", "PLATE")
	var parties []int64
	call(t, c, "model.party.party.create", &parties, []any{
		map[string]any{"name": "Alice", "code": "C-100", "addresses": []any{[]any{"create", []any{map[string]any{"city": "Springfield"}}}}},
	})
	createParties(t, c, "Twin", "Twin")
	sale := func(party any, lines ...map[string]any) map[string]any {
		ls := make([]any, len(lines))
		for i, l := range lines {
			ls[i] = l
		}
		return map[string]any{"party": party, "reference": "WEB-1", "lines": ls, tryton.ButtonsField: []any{"quote", "confirm"}}
	}
	mug := map[string]any{"product": "MUG", "quantity": 2.0, "unit_price": "9.50"}
	plate := map[string]any{"product": "PLATE", "quantity": 1.0, "unit_price": "4.25"}
	before := countSales(t, c)
	res := write(t, cfg, "sale.sale",
		driver.WriteRecord{Op: driver.OpCreate, Fields: sale("C-100", mug, plate)},
		driver.WriteRecord{Op: driver.OpCreate, Fields: sale("C-404", mug)},
		driver.WriteRecord{Op: driver.OpCreate, Fields: sale("C-100", mug, map[string]any{"product": "BOWL", "quantity": 1.0})},
		driver.WriteRecord{Op: driver.OpCreate, Fields: sale("C-100", map[string]any{"product": "MUG", "quantity": 1.0, "colour": "red"})},
	)
	// Another match field: parties by name, where two share one.
	byName := write(t, config(t, in, driver.Values{"match_fields": "party.party:name,product.product:code"}), "sale.sale",
		driver.WriteRecord{Op: driver.OpCreate, Fields: sale("Twin", mug)},
		driver.WriteRecord{Op: driver.OpCreate, Fields: sale("Alice", mug)},
	)
	if r := byName[0]; r.OK || r.Error != `party: more than one party.party has name "Twin"` {
		t.Errorf("ambiguous party = %+v", r)
	}
	if !byName[1].OK {
		t.Errorf("party by name = %+v", byName[1])
	}
	if !res[0].OK {
		t.Fatalf("sale by codes = %+v", res[0])
	}
	for i, want := range []string{
		`party: no party.party has code "C-404"`,
		`lines[1].product: no product.product has code "BOWL"`,
		`lines[0].colour: is not a field of sale.line`,
	} {
		if r := res[i+1]; r.OK || r.Error != want {
			t.Errorf("record %d = %+v, want the error %q", i+1, r, want)
		}
	}
	if n := countSales(t, c); n != before+2 {
		t.Fatalf("%d sales made, want only the good one", n-before)
	}
	got := readOne(t, in, "sale.sale", res[0].Key, "party", "reference", "state", "invoice_address", "shipment_address")
	if n, _ := rpc.Int(got["party"]); n != parties[0] || got["reference"] != "WEB-1" {
		t.Fatalf("sale = %v, want party %d", got, parties[0])
	}
	if got["state"] != "confirmed" && got["state"] != "processing" {
		t.Fatalf("sale's state = %v, want confirmed", got["state"])
	}
	if got["invoice_address"] == nil || got["shipment_address"] == nil {
		t.Fatalf("sale's addresses were not filled in from its party: %v", got)
	}
	lines := saleLines(t, c, res[0].Key)
	wantLines := []struct {
		product  int64
		quantity float64
		price    string
	}{{products[0], 2, "9.5"}, {products[1], 1, "4.25"}} // the PLATE sold now
	if len(lines) != len(wantLines) {
		t.Fatalf("lines = %v", lines)
	}
	for i, w := range wantLines {
		l := lines[i]
		p, _ := rpc.Int(l["product"])
		q, _ := rpc.Plain(l["quantity"]).(float64)
		if qi, ok := rpc.Plain(l["quantity"]).(int64); ok {
			q = float64(qi)
		}
		price, _ := rpc.Plain(l["unit_price"]).(string)
		if p != w.product || q != w.quantity || strings.TrimRight(strings.TrimRight(price, "0"), ".") != w.price || l["unit"] == nil {
			t.Errorf("line %d = %v, want product %d × %v at %s with its unit filled in", i, l, w.product, w.quantity, w.price)
		}
	}
}

// TestWriteLinesAgain updates a draft sale's lines: the same lines leave them as they
// are (a write repeated after a crash changes nothing), other lines replace them.
func TestWriteLinesAgain(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	cfg := config(t, in, nil)
	createProducts(t, c, "10", "MUG", "PLATE")
	party := createParties(t, c, "Bob")[0]
	mug := map[string]any{"product": "MUG", "quantity": 2.0, "unit_price": "9.50"}
	res := write(t, cfg, "sale.sale", driver.WriteRecord{Op: driver.OpCreate, Fields: map[string]any{"party": party, "lines": []any{mug}}})
	if !res[0].OK {
		t.Fatalf("create = %+v", res[0])
	}
	ids := func() []int64 {
		var out []int64
		for _, l := range saleLines(t, c, res[0].Key) {
			n, _ := rpc.Int(l["id"])
			out = append(out, n)
		}
		return out
	}
	first := ids()
	if len(first) != 1 {
		t.Fatalf("lines after create = %v", first)
	}
	again := write(t, cfg, "sale.sale", driver.WriteRecord{Op: driver.OpUpsert, Key: res[0].Key,
		Fields: map[string]any{"party": party, "lines": []any{map[string]any{"product": "MUG", "quantity": 2, "unit_price": "9.5"}}}})
	if !again[0].OK || !slices.Equal(ids(), first) {
		t.Fatalf("the same lines again: %+v, lines %v, want %v untouched", again[0], ids(), first)
	}
	changed := write(t, cfg, "sale.sale", driver.WriteRecord{Op: driver.OpUpdate, Key: res[0].Key,
		Fields: map[string]any{"lines": []any{mug, map[string]any{"product": "PLATE", "quantity": 3.0, "unit_price": "4"}}}})
	now := ids()
	if !changed[0].OK || len(now) != 2 || slices.Contains(now, first[0]) {
		t.Fatalf("other lines: %+v, lines %v, want two new ones", changed[0], now)
	}
	// Records read from Tryton do not carry the lines: they are an entity of their own.
	for _, r := range read(t, cfg, "sale.sale", "", 0).Records {
		if _, ok := r.Fields["lines"]; ok {
			t.Fatalf("sale %s carries its lines: %v", r.Key, r.Fields)
		}
	}
}
