package tryton

import (
	"context"
	"fmt"
	"strconv"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
)

// DefaultLookupFields are the values a lookup returns when it names none: the price and
// the stock of a product.
var DefaultLookupFields = []string{"list_price", "quantity", "forecast_quantity"}

// Lookup reads current values of records by id, computed fields included: list_price,
// and quantity and forecast_quantity of product.product, which Tryton computes over the
// stock of all warehouses. Keys that are not ids or not found are left out of the answer.
func (d *Driver) Lookup(ctx context.Context, cfg driver.Config, entity string, keys []string, fields []string) (map[string]map[string]any, error) {
	c, err := d.session(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", entity, err)
	}
	defer c.Logout(context.WithoutCancel(ctx))
	known, err := d.entityFields(ctx, c, cfg, entity)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", entity, err)
	}
	if len(fields) == 0 {
		fields = DefaultLookupFields
	}
	types := map[string]string{}
	for _, f := range known {
		types[f.Name] = f.Type
	}
	for _, f := range fields {
		if _, ok := types[f]; !ok {
			return nil, fmt.Errorf("lookup %s: %s is not a field: %w", entity, f, driver.ErrConfig)
		}
	}
	var ids []int64
	for _, k := range keys {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	out := map[string]map[string]any{}
	if len(ids) == 0 {
		return out, nil
	}
	// Stock quantities are computed over the locations in the context: all warehouses.
	var warehouses []int64
	if err := c.Call(ctx, "model.stock.location.search", &warehouses, []any{[]any{"type", "=", "warehouse"}}); err == nil {
		c.Context["locations"] = warehouses
		c.Context["with_childs"] = true
	}
	c.Context["active_test"] = false
	// search_read rather than read: ids that do not exist (any more) are simply absent.
	var rows []map[string]any
	if err := c.Call(ctx, "model."+entity+".search_read", &rows, []any{[]any{"id", "in", ids}}, 0, nil, nil, fields); err != nil {
		return nil, fmt.Errorf("lookup %s: %w", entity, callError(cfg, err))
	}
	for _, row := range rows {
		id, _ := rpc.Int(row["id"])
		vals := make(map[string]any, len(fields))
		for _, f := range fields {
			vals[f] = value(types[f], row[f])
		}
		out[strconv.FormatInt(id, 10)] = vals
	}
	return out, nil
}
