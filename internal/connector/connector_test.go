package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/driver/drivertest"
)

// serve starts h on 127.0.0.1:0 for the test.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func dial(t testing.TB, url string, opts Options) *Client {
	t.Helper()
	c, err := Dial(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return c
}

var memFixture = KitFixture{
	Credentials:    driver.Values{"api_token": "good"},
	BadCredentials: driver.Values{"api_token": "wrong"},
	Entity:         "items",
	WriteKey:       "2", WriteFields: map[string]any{"name": "written"},
}

// expectRows fails t unless exactly the rows in fail failed (every other row passed or
// was skipped).
func expectRows(t *testing.T, results []KitResult, fail ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, f := range fail {
		want[f] = true
	}
	var table strings.Builder
	PrintResults(&table, results)
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Name] = true
		if (r.Status == Fail) != want[r.Name] {
			t.Errorf("row %q is %s, want it to %s\n%s", r.Name, r.Status, map[bool]string{true: "fail", false: "pass"}[want[r.Name]], table.String())
		}
	}
	for f := range want {
		if !seen[f] {
			t.Errorf("no row %q\n%s", f, table.String())
		}
	}
}

func TestKitPassesOnCorrectConnector(t *testing.T) {
	srv := serve(t, Handler(newMem(7), HandlerOptions{Token: "s3cret"}))
	results := Conformance(t.Context(), srv.URL, memFixture, Options{Token: "s3cret"})
	expectRows(t, results)
	if len(results) < 12 {
		t.Errorf("only %d rows", len(results))
	}
}

// The deliberately broken connectors: each must turn exactly its own row red.
func TestKitCatchesBrokenConnectors(t *testing.T) {
	unmarked := newMem(5)
	unmarked.spec.Credentials = append(unmarked.spec.Credentials, driver.Field{Name: "client_secret", Label: "Client secret", Type: driver.TypeText})
	lax := newMem(5)
	lax.checkAlwaysPasses = true
	resends := newMem(5)
	resends.incrementalIsFull = true

	tests := []struct {
		name string
		h    http.Handler
		fail []string
	}{
		{"unmarked secret field", Handler(unmarked, HandlerOptions{}), []string{drivertest.CheckSecretFields}},
		{"check always passes", Handler(lax, HandlerOptions{}), []string{drivertest.CheckBad}},
		{"incremental re-sends everything", Handler(resends, HandlerOptions{}), []string{RowIncremental}},
		{"malformed NDJSON", withRead(newMem(5), func(w http.ResponseWriter) {
			io.WriteString(w, `{"type":"record","key":"1","fields":{"id":1}}`+"\n")
			io.WriteString(w, `{"type":"record","key":"2","fields":{"id":2}`+"\n") // missing brace
			io.WriteString(w, `{"type":"checkpoint","cursor":"2"}`+"\n"+`{"type":"end"}`+"\n")
		}), []string{RowStream, drivertest.CheckFullReads, drivertest.CheckWrite, RowIncremental}},
		{"stream cut without end line", withRead(newMem(5), func(w http.ResponseWriter) {
			io.WriteString(w, `{"type":"record","key":"1","fields":{"id":1}}`+"\n")
			io.WriteString(w, `{"type":"checkpoint","cursor":"1"}`+"\n")
		}), []string{RowStream, drivertest.CheckFullReads, drivertest.CheckWrite, RowIncremental}},
		{"spec of the wrong shape", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"name":"x","label":"X","credentials":[{"name":"a","type":"text","secret":"yes"}],"capabilities":{"read":true}}`)
		}), []string{RowSpecShape}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.h)
			results := Conformance(t.Context(), srv.URL, memFixture, Options{RetryFor: -1})
			expectRows(t, results, tt.fail...)
		})
	}
}

// withRead serves d, but answers /v1/read with what write puts out.
func withRead(d driver.Driver, write func(w http.ResponseWriter)) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", Handler(d, HandlerOptions{}))
	mux.HandleFunc("POST "+PathRead, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(readBody(r), "no_such_entity") {
			w.Header().Set("Content-Type", contentProblem)
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"title":"Not Found","status":404,"kind":"config","code":"unknown_entity"}`)
			return
		}
		w.Header().Set("Content-Type", contentNDJSON)
		write(w)
	})
	return mux
}

func readBody(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(error) bool
		want  string
	}{
		{"cut", `{"type":"record","key":"1","fields":{}}` + "\n", func(err error) bool {
			return errors.Is(err, driver.ErrTransient) && errors.Is(err, ErrTruncated)
		}, "without an end line"},
		{"malformed", "{\"type\":\"checkpoint\",\"cursor\":\"0\"}\n\nnot json\n", func(err error) bool {
			var pe *ProtocolError
			return errors.As(err, &pe) && pe.Line == 3 && driver.IsConfig(err)
		}, "line 3"},
		{"record without key", `{"type":"record","fields":{}}` + "\n", func(err error) bool { return driver.IsConfig(err) }, `without a "key"`},
		{"unknown type", `{"type":"recrod"}` + "\n", func(err error) bool { return driver.IsConfig(err) }, `unknown type "recrod"`},
		{"error line transient", `{"type":"error","kind":"transient","message":"upstream 503"}` + "\n", func(err error) bool {
			return errors.Is(err, driver.ErrTransient) && !errors.Is(err, ErrTruncated)
		}, "upstream 503"},
		{"error line system", `{"type":"error","kind":"system","message":"boom"}` + "\n", func(err error) bool {
			return errors.Is(err, ErrSystem) && !driver.IsConfig(err) && !errors.Is(err, driver.ErrTransient)
		}, "boom"},
		{"after end is ignored", `{"type":"end"}` + "\nnot json\n", func(err error) bool { return err == nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, withRead(newMem(1), func(w http.ResponseWriter) { io.WriteString(w, tt.body) }))
			c := dial(t, srv.URL, Options{})
			_, err := drivertest.ReadAll(t.Context(), c, driver.Config{Credentials: driver.Values{"api_token": "good"}}, driver.ReadRequest{Entity: "items"})
			if !tt.check(err) || (tt.want != "" && !strings.Contains(fmt.Sprint(err), tt.want)) {
				t.Errorf("Read = %v, want an error saying %q of the right kind", err, tt.want)
			}
		})
	}
}

func TestProblemKinds(t *testing.T) {
	srv := serve(t, Handler(newMem(3), HandlerOptions{Token: "t0ken-value"}))
	c := dial(t, srv.URL, Options{Token: "t0ken-value", RetryFor: 300 * time.Millisecond})
	ctx := t.Context()
	cfg := func(token string) driver.Config { return driver.Config{Credentials: driver.Values{"api_token": token}} }

	if err := c.Check(ctx, cfg("good")); err != nil {
		t.Errorf("check good: %v", err)
	}
	var fe driver.FieldErrors
	if err := c.Check(ctx, cfg("wrong")); !errors.As(err, &fe) || fe[0].Field != "credentials.api_token" {
		t.Errorf("check wrong = %v, want a field error on credentials.api_token", err)
	} else if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error quotes the secret: %v", err)
	}
	if err := c.Check(ctx, cfg("flaky")); !errors.Is(err, driver.ErrTransient) {
		t.Errorf("check flaky = %v, want ErrTransient after retries", err)
	}
	if err := c.Check(ctx, driver.Config{Credentials: driver.Values{"api_token": "good", "nope": 1}}); !errors.As(err, &fe) || fe[0].Field != "credentials.nope" {
		t.Errorf("unknown field = %v, want a field error", err)
	}
	if _, err := drivertest.ReadAll(ctx, c, cfg("good"), driver.ReadRequest{Entity: "missing"}); !errors.Is(err, driver.ErrUnknownEntity) {
		t.Errorf("read missing entity = %v, want ErrUnknownEntity", err)
	}

	wrongToken := NewClient(srv.URL, c.Spec(), Options{Token: "other"})
	if err := wrongToken.Check(ctx, cfg("good")); !errors.Is(err, driver.ErrConfig) {
		t.Errorf("wrong bearer token = %v, want ErrConfig", err)
	}

	// Powers come and go with the spec.
	d := c.Driver()
	w, ok := d.(driver.Writer)
	if !ok {
		t.Fatal("the client of a connector that writes is not a driver.Writer")
	}
	res, err := w.Write(ctx, cfg("good"), "items", []driver.WriteRecord{{Key: "1", Op: driver.OpUpsert, Fields: map[string]any{"name": "x"}}, {Key: "zero", Op: driver.OpUpsert}})
	if err != nil || len(res) != 2 || !res[0].OK || res[1].OK || res[1].Error == "" {
		t.Errorf("write = %+v, %v", res, err)
	}
	l, ok := d.(driver.Looker)
	if !ok {
		t.Fatal("not a driver.Looker")
	}
	vals, err := l.Lookup(ctx, cfg("good"), "items", []string{"1", "3"}, []string{"name", "big"})
	if err != nil || vals["1"]["name"] != "x" || fmt.Sprint(vals["3"]["big"]) != fmt.Sprint(int64(1<<62+3)) {
		t.Errorf("lookup = %v, %v (64-bit integers must stay exact)", vals, err)
	}
	readOnly := NewClient(srv.URL, driver.Spec{Name: "mem", Capabilities: driver.Capabilities{Read: true}}, Options{Token: "t0ken-value"})
	if _, ok := readOnly.Driver().(driver.Writer); ok {
		t.Error("a read-only connector's client is a driver.Writer")
	}
}

func TestRetriesTransientThenSucceeds(t *testing.T) {
	calls := 0
	inner := Handler(newMem(3), HandlerOptions{})
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PathDiscover {
			calls++
			if calls < 3 {
				w.Header().Set("Retry-After", "0")
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	c := dial(t, srv.URL, Options{})
	cat, err := c.Discover(t.Context(), driver.Config{Credentials: driver.Values{"api_token": "good"}})
	if err != nil || len(cat.Entities) != 1 || calls != 3 {
		t.Errorf("discover = %v, %v after %d calls", cat, err, calls)
	}
}

func TestIdleTimeout(t *testing.T) {
	srv := serve(t, withRead(newMem(1), func(w http.ResponseWriter) {
		io.WriteString(w, `{"type":"record","key":"1","fields":{}}`+"\n")
		w.(http.Flusher).Flush()
		time.Sleep(2 * time.Second)
	}))
	c := dial(t, srv.URL, Options{IdleTimeout: 200 * time.Millisecond})
	began := time.Now()
	_, err := drivertest.ReadAll(t.Context(), c, driver.Config{Credentials: driver.Values{"api_token": "good"}}, driver.ReadRequest{Entity: "items"})
	if !errors.Is(err, driver.ErrTransient) || !strings.Contains(err.Error(), "no line") {
		t.Errorf("Read = %v, want ErrTransient for a silent connector", err)
	}
	if time.Since(began) > 1500*time.Millisecond {
		t.Errorf("the idle timeout took %s", time.Since(began))
	}
}

func TestCancelledRead(t *testing.T) {
	srv := serve(t, Handler(newMem(3), HandlerOptions{}))
	c := dial(t, srv.URL, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := drivertest.ReadAll(ctx, c, driver.Config{Credentials: driver.Values{"api_token": "good"}}, driver.ReadRequest{Entity: "items"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read = %v, want context.Canceled", err)
	}
}
