package server_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junction-hub/junction/examples/csvconnector/csvdriver"
	"github.com/junction-hub/junction/internal/connector"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/server/servertest"
)

// regionDriver is the CSV connector after an upgrade that added a required credential,
// which connections made before it lack.
type regionDriver struct{ csvdriver.Driver }

func (d regionDriver) Spec() driver.Spec {
	s := d.Driver.Spec()
	s.Credentials = append(append([]driver.Field{}, s.Credentials...),
		driver.Field{Name: "region", Label: "Region", Type: driver.TypeText, Required: true})
	return s
}

// startCSVConnector serves the example CSV connector on 127.0.0.1:0, behind a bearer token;
// the returned pointer swaps the driver it serves.
func startCSVConnector(t *testing.T, token string) (string, *atomic.Pointer[http.Handler]) {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	serve := func(d driver.Driver) *http.Handler {
		x := connector.Handler(d, connector.HandlerOptions{Token: token})
		return &x
	}
	h.Store(serve(csvdriver.Driver{}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String(), &h
}

type connectorView struct {
	Name      string      `json:"name"`
	URL       string      `json:"url"`
	Spec      driver.Spec `json:"spec"`
	FetchedAt time.Time   `json:"fetched_at"`
}

// TestConnectorEndToEnd registers the example CSV connector by URL, creates a connection
// on it through the API, syncs it, finds every row mirrored, refreshes it across a spec
// change, and removes it once no connection uses it. The auth header never shows.
func TestConnectorEndToEnd(t *testing.T) {
	const secret = "csv-conn-Secret-7f3a91"
	connURL, handler := startCSVConnector(t, secret)
	dir := t.TempDir()
	files := map[string]string{
		"products.csv": "sku;name;price;updated_at\nA-1;Stapler;1.234,50;2026-03-01 10:00:00\nA-2;Paper;3,99;2026-03-02 08:30:00\n00123;Clip;0,50;2026-03-03 09:00:00\n",
		"stock.csv":    "sku;qty\nA-1;5\nA-2;0\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := servertest.Start(t, servertest.Options{})
	var bodies strings.Builder // every API answer, searched for the secret at the end
	do := func(method, path string, in any, out any) int {
		t.Helper()
		var raw any
		code := srv.Do(t, method, path, in, &raw)
		fmt.Fprintf(&bodies, "%s %s %d %v\n", method, path, code, raw)
		if out != nil && raw != nil {
			b, _ := json.Marshal(raw)
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: decode: %v", method, path, err)
			}
		}
		return code
	}

	// Refused registrations store nothing and name the field.
	var p problem
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "sqlite", "url": connURL, "auth_header": "Bearer " + secret}, "name"},
		{map[string]any{"name": "csv", "url": "not-a-url", "auth_header": "Bearer " + secret}, "url"},
		{map[string]any{"name": "csv", "url": connURL}, "url"}, // no token: the connector says 401
		{map[string]any{"name": "csv", "url": connURL, "auth_header": "Bearer wrong-" + secret}, "url"},
	} {
		p = problem{}
		if code := do("POST", "/api/v1/connectors", tc.body, &p); code != http.StatusUnprocessableEntity || !p.names(tc.field) {
			t.Fatalf("register %v: %d %+v, want 422 naming %s", tc.body, code, p, tc.field)
		}
	}
	var list struct {
		Connectors []connectorView `json:"connectors"`
	}
	if do("GET", "/api/v1/connectors", nil, &list); len(list.Connectors) != 0 {
		t.Fatalf("refused registrations left %d connectors", len(list.Connectors))
	}

	var reg connectorView
	if code := do("POST", "/api/v1/connectors", map[string]any{"name": "csv", "url": connURL, "auth_header": "Bearer " + secret}, &reg); code != http.StatusCreated {
		t.Fatalf("register: %d %+v", code, reg)
	}
	if reg.Name != "csv" || reg.Spec.Name != "csv" || reg.Spec.Label != "CSV folder" || reg.FetchedAt.IsZero() {
		t.Fatalf("registered: %+v", reg)
	}
	if code := do("POST", "/api/v1/connectors", map[string]any{"name": "csv", "url": connURL, "auth_header": "Bearer " + secret}, &p); code != http.StatusUnprocessableEntity || !p.names("name") {
		t.Fatalf("second registration of csv: %d %+v", code, p)
	}
	var drivers struct {
		Drivers []driver.Spec `json:"drivers"`
	}
	do("GET", "/api/v1/drivers", nil, &drivers)
	if n := len(drivers.Drivers); n < 2 || drivers.Drivers[n-1].Name != "csv" || drivers.Drivers[0].Name == "csv" {
		t.Fatalf("drivers do not end with the connector: %+v", drivers.Drivers)
	}

	settings := map[string]any{"delimiter": ";", "decimal_separator": ",", "thousands_separator": ".", "key_column": "sku", "number_columns": "price, qty"}
	p = problem{}
	if code := do("POST", "/api/v1/connections", map[string]any{"name": "files", "driver": "csv",
		"credentials": map[string]any{"folder": filepath.Join(dir, "missing")}, "settings": settings}, &p); code != http.StatusUnprocessableEntity || !p.names("credentials.folder") {
		t.Fatalf("bad folder: %d %+v, want 422 naming credentials.folder", code, p)
	}
	p = problem{}
	if code := do("POST", "/api/v1/connections", map[string]any{"name": "files", "driver": "nope",
		"credentials": map[string]any{}}, &p); code != http.StatusUnprocessableEntity || !p.names("driver") || !strings.Contains(p.Detail+fmt.Sprint(p.Errors), "csv") {
		t.Fatalf("unknown driver: %d %+v, want 422 on driver listing csv", code, p)
	}
	var created connWithJob
	if code := do("POST", "/api/v1/connections", map[string]any{"name": "files", "driver": "csv",
		"credentials": map[string]any{"folder": dir}, "settings": settings}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d %+v", code, created)
	}
	id := created.Connection.ID
	if j := srv.WaitJob(t, *created.JobID, time.Minute); j.State != "succeeded" || j.Progress.Read != 5 {
		t.Fatalf("sync: %+v; want succeeded with 5 read", j)
	}
	got := map[string]map[string]any{}
	var page struct {
		Records []struct {
			Entity string         `json:"entity"`
			Key    string         `json:"key"`
			Fields map[string]any `json:"fields"`
			State  string         `json:"state"`
		} `json:"records"`
	}
	if code := do("GET", fmt.Sprintf("/api/v1/connections/%d/records?limit=1000", id), nil, &page); code != http.StatusOK {
		t.Fatalf("records: %d", code)
	}
	for _, r := range page.Records {
		if r.State != "live" {
			t.Fatalf("record %s/%s is %s", r.Entity, r.Key, r.State)
		}
		got[r.Entity+"/"+r.Key] = r.Fields
	}
	want := map[string]map[string]any{
		"products/A-1": {"name": "Stapler", "price": "1234.50"}, "products/A-2": {"name": "Paper", "price": "3.99"},
		"products/00123": {"name": "Clip", "price": "0.50"}, "stock/A-1": {"qty": "5"}, "stock/A-2": {"qty": "0"},
	}
	if len(got) != len(want) {
		t.Fatalf("mirrored %d records, want %d: %v", len(got), len(want), got)
	}
	for k, fields := range want {
		for f, v := range fields {
			if fmt.Sprint(got[k][f]) != fmt.Sprint(v) {
				t.Errorf("%s %s = %v, want %v", k, f, got[k][f], v)
			}
		}
	}

	// The connector gains a required credential: refresh re-validates, the connection fails.
	type refreshed struct {
		connectorView
		Connections []struct {
			ConnectionID int64  `json:"connection_id"`
			OK           bool   `json:"ok"`
			Message      string `json:"message"`
		} `json:"connections"`
	}
	changed := connector.Handler(regionDriver{}, connector.HandlerOptions{Token: secret})
	handler.Store(&changed)
	var r refreshed
	if code := do("POST", "/api/v1/connectors/csv/refresh", nil, &r); code != http.StatusOK {
		t.Fatalf("refresh: %d %+v", code, r)
	}
	if len(r.Connections) != 1 || r.Connections[0].ConnectionID != id || r.Connections[0].OK || !strings.Contains(r.Connections[0].Message, "region") {
		t.Fatalf("refresh after the spec change: %+v, want the connection failing on region", r)
	}
	if len(r.Spec.Credentials) != 2 || r.Spec.Name != "csv" {
		t.Fatalf("refreshed spec: %+v", r.Spec)
	}
	var c conn
	do("GET", fmt.Sprintf("/api/v1/connections/%d", id), nil, &c)
	if c.Health.State != "failing" {
		t.Fatalf("health after the failed re-validation: %+v", c)
	}
	orig := connector.Handler(csvdriver.Driver{}, connector.HandlerOptions{Token: secret})
	handler.Store(&orig)
	r = refreshed{}
	if code := do("POST", "/api/v1/connectors/csv/refresh", nil, &r); code != http.StatusOK || len(r.Connections) != 1 || !r.Connections[0].OK {
		t.Fatalf("refresh back: %d %+v", code, r)
	}
	if code := do("POST", "/api/v1/connectors/nope/refresh", nil, nil); code != http.StatusNotFound {
		t.Fatalf("refresh of an unknown connector: %d", code)
	}

	// Removal waits until no connection uses the connector.
	if code := do("DELETE", "/api/v1/connectors/csv", nil, &p); code != http.StatusConflict {
		t.Fatalf("remove while used: %d, want 409", code)
	}
	if code := do("POST", fmt.Sprintf("/api/v1/connections/%d/disable", id), nil, nil); code != http.StatusAccepted {
		t.Fatalf("disable: %d", code)
	}
	var purge struct {
		JobID int64 `json:"job_id"`
	}
	if code := do("DELETE", fmt.Sprintf("/api/v1/connections/%d", id), nil, &purge); code != http.StatusAccepted {
		t.Fatalf("delete connection: %d", code)
	}
	if j := srv.WaitJob(t, purge.JobID, time.Minute); j.State != "succeeded" {
		t.Fatalf("purge: %+v", j)
	}
	if code := do("DELETE", "/api/v1/connectors/csv", nil, nil); code != http.StatusNoContent {
		t.Fatalf("remove: %d, want 204", code)
	}
	if do("GET", "/api/v1/connectors", nil, &list); len(list.Connectors) != 0 {
		t.Fatalf("%d connectors after remove", len(list.Connectors))
	}
	do("GET", "/api/v1/drivers", nil, &drivers)
	for _, d := range drivers.Drivers {
		if d.Name == "csv" {
			t.Fatal("the removed connector is still a driver")
		}
	}

	// The auth header never shows: not in an API answer, not in the server log, not in a job.
	var jobs struct {
		Jobs []servertest.Job `json:"jobs"`
	}
	do("GET", "/api/v1/jobs?limit=500", nil, &jobs)
	for _, j := range jobs.Jobs {
		do("GET", fmt.Sprintf("/api/v1/jobs/%d", j.ID), nil, nil)
	}
	if strings.Contains(bodies.String(), secret) {
		t.Fatal("the connector's auth header appears in an API answer")
	}
	if strings.Contains(srv.Logs(), secret) {
		t.Fatal("the connector's auth header appears in the server log")
	}
}
