package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
)

// BenchmarkFlowRun measures a flow run that imports 5,000 shop orders with one line each
// from PostgreSQL into MariaDB (mapping, value maps, lines, link table), as orders/s, and
// a second run that finds nothing changed:
//
//	go test ./internal/server -run '^$' -bench FlowRun -benchtime 3x
func BenchmarkFlowRun(b *testing.B) {
	const orders = 5000
	shop := newShop(b)
	prod := newProduction(b)
	mustExec(b, shop.db, fmt.Sprintf(`
		INSERT INTO orders (id, status_id, first_name, last_name, email, delivery_method, delivery_price, payment_method, currency)
		SELECT i, 1, 'First' || i, 'Last' || i, 'o' || i || '@example.com', 'DPD courier', 14.99, 'card', 'PLN'
		FROM generate_series(1, %d) AS i;
		INSERT INTO order_lines (id, order_id, sku, name, quantity, unit, price, vat_rate)
		SELECT 10 * i, i, 'SKU-' || i, 'Item ' || i, 1, 'pcs', 9.99, 23.00 FROM generate_series(1, %d) AS i;`, orders, orders))
	srv := servertest.Start(b, servertest.Options{})
	shopID := createConn(b, srv, "shop", "postgres", shop.credentials())
	prodID := createConn(b, srv, "production", "mysql", prod.credentials())
	b.ResetTimer()
	for i := range b.N {
		def := orderFlow(shopID, prodID, paymentsWithoutPaypal)
		def["name"] = fmt.Sprintf("bench %d", i)
		delete(def, "on_success")
		delete(def, "write_back")
		delete(def, "condition")
		fields := def["fields"].(map[string]any)
		fields["order_no"] = map[string]any{"template": fmt.Sprintf("B%d-{{id}}", i)}
		var f flowOut
		if code := srv.Do(b, "POST", "/api/v1/flows", def, &f); code != http.StatusCreated {
			b.Fatalf("create flow: %d", code)
		}
		start := time.Now()
		var ref struct {
			JobID int64 `json:"job_id"`
		}
		srv.Do(b, "POST", fmt.Sprintf("/api/v1/flows/%d/run", f.ID), nil, &ref)
		j := srv.WaitJob(b, ref.JobID, 10*time.Minute)
		if j.State != "succeeded" {
			b.Fatalf("run: %+v", j)
		}
		b.ReportMetric(float64(orders)/time.Since(start).Seconds(), "orders/s")
		// Again: nothing changed, so the run only finds that out.
		start = time.Now()
		srv.Do(b, "POST", fmt.Sprintf("/api/v1/flows/%d/run", f.ID), nil, &ref)
		if j := srv.WaitJob(b, ref.JobID, time.Minute); j.State != "succeeded" || j.Progress.Written != 0 {
			b.Fatalf("unchanged run: %+v", j)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/unchanged-run")
	}
}
