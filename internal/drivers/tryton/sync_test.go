package tryton_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/drivers/tryton/trytontest"
	"github.com/junction-hub/junction/internal/server/servertest"
)

// TestSyncThroughServer mirrors a Tryton into the real Junction server: a connection
// created through the API syncs products and sales made in Tryton, an automatic sync
// brings what changed, a full sync marks a deleted product gone, and the stored
// credentials never come back.
func TestSyncThroughServer(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	products := createProducts(t, c, "5", "K-1", "K-2")
	party := createParties(t, c, "Shopper")[0]
	sale := createSale(t, c, party, products[1], 4, "5")

	srv := servertest.Start(t, servertest.Options{PageSize: 2})
	var created struct {
		Connection struct {
			ID          int64          `json:"id"`
			Credentials map[string]any `json:"credentials"`
		} `json:"connection"`
		JobID int64 `json:"job_id"`
	}
	if code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{
		"name": "erp", "driver": "tryton", "credentials": in.Credentials(),
		"settings": map[string]any{"models": "product.product,sale.sale,sale.line"},
	}, &created); code != http.StatusCreated {
		t.Fatalf("create connection: %d", code)
	}
	if pw := created.Connection.Credentials["password"]; pw == trytontest.AdminPassword {
		t.Fatal("the API returned the password")
	}
	id := created.Connection.ID
	if j := srv.WaitJob(t, created.JobID, 2*time.Minute); j.State != "succeeded" {
		t.Fatalf("initial sync: %+v", j)
	}
	type record struct {
		Key    string         `json:"key"`
		State  string         `json:"state"`
		Fields map[string]any `json:"fields"`
	}
	records := func(entity string) map[string]record {
		t.Helper()
		var page struct {
			Records []record `json:"records"`
		}
		if code := srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d/records?entity=%s&limit=100", id, entity), nil, &page); code != http.StatusOK {
			t.Fatalf("records of %s: %d", entity, code)
		}
		out := map[string]record{}
		for _, r := range page.Records {
			out[r.Key] = r
		}
		return out
	}
	sync := func(mode string) servertest.Job {
		t.Helper()
		var ref struct {
			JobID int64 `json:"job_id"`
		}
		if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync?mode=%s", id, mode), nil, &ref); code != http.StatusAccepted {
			t.Fatalf("sync: %d", code)
		}
		return srv.WaitJob(t, ref.JobID, 2*time.Minute)
	}
	if got := records("product.product"); len(got) != 2 || got[key(products[0])].Fields["code"] != "K-1" {
		t.Fatalf("products = %+v", got)
	}
	if got := records("sale.sale")[key(sale)]; got.Fields["state"] != "draft" || got.Fields["party"] != float64(party) {
		t.Fatalf("sale = %+v", got)
	}

	// Quote the sale and add a product in Tryton: an automatic sync brings both.
	call(t, c, "model.sale.sale.quote", nil, []int64{sale})
	added := createProducts(t, c, "7", "K-3")[0]
	if j := sync("auto"); j.State != "succeeded" || j.Progress.Inserted != 1 || j.Progress.Updated < 1 {
		t.Fatalf("incremental sync: %+v", j)
	}
	if got := records("sale.sale")[key(sale)]; got.Fields["state"] != "quotation" {
		t.Fatalf("sale after quote = %+v", got)
	}
	if _, ok := records("product.product")[key(added)]; !ok {
		t.Fatal("the new product was not synced")
	}

	// Delete a product in Tryton: a full sync marks it gone.
	call(t, c, "model.product.product.delete", nil, []int64{products[0]})
	if j := sync("full"); j.State != "succeeded" || j.Progress.Gone != 1 {
		t.Fatalf("full sync: %+v", j)
	}
	if got := records("product.product")[key(products[0])]; got.State != "gone" {
		t.Fatalf("deleted product = %+v", got)
	}
	if strings.Contains(srv.Logs(), trytontest.AdminPassword) {
		t.Fatal("the server logged the password")
	}
}
