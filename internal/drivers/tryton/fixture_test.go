package tryton_test

import (
	"context"
	"testing"

	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
)

// Test data is made through Tryton's own API, as a user of the ERP would make it.

// unit returns the id of the "Unit" unit of measure.
func unit(tb testing.TB, c *rpc.Client) int64 {
	tb.Helper()
	var ids []int64
	call(tb, c, "model.product.uom.search", &ids, []any{[]any{"symbol", "=", "u"}})
	if len(ids) != 1 {
		tb.Fatalf("unit of measure u: %v", ids)
	}
	return ids[0]
}

func call(tb testing.TB, c *rpc.Client, method string, out any, args ...any) {
	tb.Helper()
	if err := c.Call(context.WithoutCancel(tb.Context()), method, out, args...); err != nil {
		tb.Fatalf("%s: %v", method, err)
	}
}

// createParties creates parties with the given names in one call (so they share their
// create_date) and returns their ids.
func createParties(tb testing.TB, c *rpc.Client, names ...string) []int64 {
	tb.Helper()
	vals := make([]any, len(names))
	for i, n := range names {
		vals[i] = map[string]any{"name": n, "addresses": []any{[]any{"create", []any{map[string]any{"street": "1 Main Street", "city": "Springfield"}}}}}
	}
	var ids []int64
	call(tb, c, "model.party.party.create", &ids, vals)
	return ids
}

// createProducts creates one goods product (template and variant) per code in one call
// and returns the variants' ids.
func createProducts(tb testing.TB, c *rpc.Client, price string, codes ...string) []int64 {
	tb.Helper()
	u := unit(tb, c)
	vals := make([]any, len(codes))
	for i, code := range codes {
		vals[i] = map[string]any{
			"name": "Product " + code, "type": "goods", "default_uom": u, "list_price": rpc.Decimal(price),
			"salable": true, "sale_uom": u,
			"products": []any{[]any{"create", []any{map[string]any{"suffix_code": code}}}},
		}
	}
	var templates []int64
	call(tb, c, "model.product.template.create", &templates, vals)
	var ids []int64
	call(tb, c, "model.product.product.search", &ids, []any{[]any{"template", "in", templates}}, 0, nil, [][]string{{"id", "ASC"}})
	return ids
}

// createSale creates a draft sale of quantity of product to party and returns its id.
func createSale(tb testing.TB, c *rpc.Client, party, product int64, quantity float64, price string) int64 {
	tb.Helper()
	var ids []int64
	addr := address(tb, c, party)
	call(tb, c, "model.sale.sale.create", &ids, []any{map[string]any{
		"party": party, "invoice_method": "manual", "invoice_address": addr, "shipment_address": addr,
		"lines": []any{[]any{"create", []any{map[string]any{
			"product": product, "quantity": quantity, "unit": unit(tb, c), "unit_price": rpc.Decimal(price), "description": "line",
		}}}},
	}})
	return ids[0]
}

// receive puts quantity of product into the warehouse's storage through a done move
// from the supplier location.
func receive(tb testing.TB, c *rpc.Client, company, currency, product int64, quantity float64) {
	tb.Helper()
	var supplier, storage []int64
	call(tb, c, "model.stock.location.search", &supplier, []any{[]any{"type", "=", "supplier"}})
	call(tb, c, "model.stock.location.search", &storage, []any{[]any{"type", "=", "storage"}})
	var moves []int64
	call(tb, c, "model.stock.move.create", &moves, []any{map[string]any{
		"product": product, "uom": unit(tb, c), "quantity": quantity,
		"from_location": supplier[0], "to_location": storage[0],
		"unit_price": rpc.Decimal("1"), "currency": currency, "company": company,
	}})
	call(tb, c, "model.stock.move.do", nil, moves)
}

// address returns the id of the party's first address.
func address(tb testing.TB, c *rpc.Client, party int64) int64 {
	tb.Helper()
	var ids []int64
	call(tb, c, "model.party.address.search", &ids, []any{[]any{"party", "=", party}})
	if len(ids) == 0 {
		tb.Fatalf("party %d has no address", party)
	}
	return ids[0]
}
