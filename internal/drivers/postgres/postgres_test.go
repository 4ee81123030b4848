package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/driver/drivertest"
	"github.com/junction-hub/junction/internal/drivers/sqltable/sqltabletest"
	"github.com/junction-hub/junction/internal/testdb"
)

// newDB creates a fresh database and returns a handle on it and a config reaching it.
func newDB(tb testing.TB, settings driver.Values) (*sql.DB, driver.Config) {
	tb.Helper()
	dbURL, name := testdb.Postgres(tb)
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	u, _ := url.Parse(dbURL)
	port, _ := strconv.Atoi(u.Port())
	creds := driver.Values{"host": u.Hostname(), "port": port, "database": name, "user": u.User.Username()}
	if pw, ok := u.User.Password(); ok {
		creds["password"] = pw
	}
	return db, driver.Config{Credentials: creds, Settings: settings}
}

func valid(tb testing.TB, cfg driver.Config) driver.Config {
	tb.Helper()
	v, err := Spec().Validate(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func TestConformance(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Exec(t, db,
		`CREATE TABLE things (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2), updated_at timestamptz NOT NULL)`,
		`INSERT INTO things VALUES (1, 'a', 1.5, '2024-01-01'), (2, 'b', 2, '2024-01-01'),
			(3, 'c', NULL, '2024-01-02'), (4, 'd', 4.25, '2024-01-03'), (5, 'e', 5, '2024-01-03')`,
	)
	good := passwordRole(t, cfg)
	drivertest.Exercise(t, New(), drivertest.Fixture{
		Good:   good,
		Bad:    sqltabletest.With(good, "credentials", "password", "wrong-password"),
		Entity: "things",
		Mutate: func(ctx context.Context) error {
			_, err := db.ExecContext(ctx, `UPDATE things SET name = 'changed', updated_at = '2030-01-01' WHERE id IN (2, 4);
				INSERT INTO things VALUES (6, 'f', 6, '2030-01-02')`)
			return err
		},
		WriteKey:    "100",
		WriteFields: map[string]any{"name": "written", "price": "9.50", "updated_at": "2031-01-01T00:00:00Z"},
	})
}

func TestCheck(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Exec(t, db, `CREATE TABLE things (id integer PRIMARY KEY)`)
	withPassword := passwordRole(t, cfg)
	tests := []struct {
		name      string
		cfg       driver.Config
		wantField string
	}{
		{"good", cfg, ""},
		{"listed table", sqltabletest.With(cfg, "settings", "tables", "things"), ""},
		{"good password", withPassword, ""},
		{"wrong password", sqltabletest.With(withPassword, "credentials", "password", "wrong-password"), "credentials.password"},
		{"unknown user", sqltabletest.With(cfg, "credentials", "user", "nobody_"+strings.ToLower(testdb.Name("u"))), "credentials.user"},
		{"unknown database", sqltabletest.With(cfg, "credentials", "database", "nope_"+strings.ToLower(testdb.Name("d"))), "credentials.database"},
		{"unreachable port", sqltabletest.With(cfg, "credentials", "port", 1), "credentials.host"},
		{"missing table", sqltabletest.With(cfg, "settings", "tables", "things,nope"), "settings.tables"},
		{"missing schema", sqltabletest.With(cfg, "settings", "schema", "nope"), "settings.schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Check(t.Context(), valid(t, tt.cfg))
			if tt.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe driver.FieldErrors
			if !errors.As(err, &fe) || fe[0].Field != tt.wantField {
				t.Fatalf("Check: %v, want a field error on %s", err, tt.wantField)
			}
			if strings.Contains(err.Error(), "wrong-password") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

// passwordRole returns cfg logged in as the test role that must give a password.
func passwordRole(t *testing.T, cfg driver.Config) driver.Config {
	t.Helper()
	user, password := testdb.PostgresPasswordRole(t, cfg.Credentials.String("database"))
	return sqltabletest.With(sqltabletest.With(cfg, "credentials", "user", user), "credentials", "password", password)
}

// The message for invalid_password names the user, never the password.
func TestConnectErrorPassword(t *testing.T) {
	cfg := valid(t, driver.Config{Credentials: driver.Values{"database": "d", "user": "u", "password": "s3cret"}})
	err := dialect{}.ConnectError(cfg, fmt.Errorf("connect: %w", &pgconn.PgError{Code: "28P01", Message: "password authentication failed"}))
	var fe driver.FieldErrors
	if !errors.As(err, &fe) || fe[0].Field != "credentials.password" || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v", err)
	}
}

func TestDiscover(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Exec(t, db,
		`CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped')`,
		`CREATE TABLE customers (id bigserial PRIMARY KEY, name varchar(40) NOT NULL, vip boolean, born date, meta jsonb,
			photo bytea, balance numeric(10,2), score double precision, tags text[], updated_at timestamp)`,
		`CREATE TABLE orders (id integer PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), status order_status NOT NULL, changed timestamptz)`,
		`CREATE TABLE lines (order_id integer REFERENCES orders(id), line_no integer, PRIMARY KEY (order_id, line_no))`,
		`CREATE TABLE log (line text)`,
	)
	cat, err := New().Discover(t.Context(), valid(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range cat.Entities {
		names = append(names, e.Name)
	}
	if strings.Join(names, ",") != "customers,lines,log,orders" {
		t.Fatalf("entities %v", names)
	}
	customers, _ := cat.Entity("customers")
	wantTypes := []struct{ name, typ, native string }{
		{"id", driver.AttrInteger, "bigint"}, {"name", driver.AttrString, "character varying(40)"},
		{"vip", driver.AttrBoolean, "boolean"}, {"born", driver.AttrDate, "date"}, {"meta", driver.AttrJSON, "jsonb"},
		{"photo", driver.AttrBinary, "bytea"}, {"balance", driver.AttrDecimal, "numeric(10,2)"},
		{"score", driver.AttrNumber, "double precision"}, {"tags", driver.AttrString, "text[]"},
		{"updated_at", driver.AttrDateTime, "timestamp without time zone"},
	}
	for i, w := range wantTypes {
		a := customers.Attributes[i]
		if a.Name != w.name || a.Type != w.typ || a.NativeType != w.native {
			t.Errorf("attribute %d: %+v, want %+v", i, a, w)
		}
	}
	if a, _ := customers.Attribute("id"); !a.Key || !a.Required || customers.Cursor != "updated_at" {
		t.Errorf("customers: %+v cursor %q", a, customers.Cursor)
	}
	orders, _ := cat.Entity("orders")
	if a, _ := orders.Attribute("customer_id"); a.Reference != "customers" {
		t.Errorf("customer_id references %q", a.Reference)
	}
	if a, _ := orders.Attribute("status"); a.ValueList != "order_status" || a.Type != driver.AttrString {
		t.Errorf("status: %+v", a)
	}
	if orders.Cursor != "" {
		t.Errorf("orders cursor %q, want none", orders.Cursor)
	}
	if len(cat.ValueLists) != 1 || cat.ValueLists[0].Name != "order_status" || len(cat.ValueLists[0].Values) != 3 ||
		cat.ValueLists[0].Values[2].ID != "shipped" {
		t.Errorf("value lists %+v", cat.ValueLists)
	}
	lines, _ := cat.Entity("lines")
	if strings.Join(lines.Key, ",") != "order_id,line_no" {
		t.Errorf("lines key %v", lines.Key)
	}
	// With cursor_column set, entities that have it follow it.
	cat, err = New().Discover(t.Context(), valid(t, sqltabletest.With(cfg, "settings", "cursor_column", "changed")))
	if err != nil {
		t.Fatal(err)
	}
	if orders, _ := cat.Entity("orders"); orders.Cursor != "changed" {
		t.Errorf("orders cursor %q, want changed", orders.Cursor)
	}
}

func TestReadValues(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Exec(t, db,
		`CREATE TYPE mood AS ENUM ('ok', 'sad')`,
		`CREATE TABLE v (id integer PRIMARY KEY, vip boolean, born date, meta jsonb, photo bytea, balance numeric(30,10),
			score real, at timestamp(6), atz timestamptz, m mood, big bigint)`,
		`INSERT INTO v VALUES (1, true, '2001-02-03', '{"a":[1,2]}', '\x0102', 12345678901234567890.0123456789, 0.25,
			'2024-03-04 05:06:07.5', '2024-03-04 05:06:07.123456+02', 'sad', 9007199254740993)`,
		`INSERT INTO v (id) VALUES (2)`,
	)
	got, err := drivertest.ReadAll(t.Context(), New(), valid(t, cfg), driver.ReadRequest{Entity: "v"})
	if err != nil {
		t.Fatal(err)
	}
	f := got.Records[0].Fields
	want := map[string]any{"id": int64(1), "vip": true, "born": "2001-02-03", "photo": "AQI=",
		"balance": "12345678901234567890.0123456789", "score": float64(0.25), "at": "2024-03-04T05:06:07.5Z",
		"atz": "2024-03-04T03:06:07.123456Z", "m": "sad", "big": int64(9007199254740993)}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %#v, want %#v", k, f[k], v)
		}
	}
	if m, ok := f["meta"].(map[string]any); !ok || len(m["a"].([]any)) != 2 {
		t.Errorf("meta = %#v", f["meta"])
	}
	for k, v := range got.Records[1].Fields {
		if k != "id" && v != nil {
			t.Errorf("NULL %s = %#v", k, v)
		}
	}
	// Values written in their JSON form come back the same.
	w := New()
	res, err := w.Write(t.Context(), valid(t, cfg), "v", []driver.WriteRecord{{Key: "3", Op: driver.OpCreate, Fields: map[string]any{
		"vip": false, "born": "1999-12-31", "meta": map[string]any{"x": "y"}, "photo": "AQI=", "balance": "0.5",
		"at": "2024-01-01T00:00:00.25Z", "m": "ok"}}})
	if err != nil || !res[0].OK {
		t.Fatalf("write: %v %+v", err, res)
	}
	got, err = drivertest.ReadAll(t.Context(), w, valid(t, cfg), driver.ReadRequest{Entity: "v"})
	if err != nil {
		t.Fatal(err)
	}
	f = got.ByKey()["3"]
	if f["born"] != "1999-12-31" || f["photo"] != "AQI=" || f["balance"] != "0.5000000000" || f["at"] != "2024-01-01T00:00:00.25Z" || f["m"] != "ok" {
		t.Errorf("written values read back as %v", f)
	}
}

func TestScenarios(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Run(t, sqltabletest.Env{Driver: New(), Config: cfg, DB: db, Timestamp: "timestamp(6)"})
}

// BenchmarkRead reads a 10-column table of 200,000 rows ordered by (updated_at, id), the
// way a sync does, and reports rows per second.
func BenchmarkRead(b *testing.B) {
	db, cfg := newDB(b, nil)
	const rows = 200_000
	sqltabletest.Exec(b, db,
		`CREATE TABLE bench (id bigint PRIMARY KEY, sku text NOT NULL, name text NOT NULL, price numeric(10,2),
			qty integer, weight double precision, active boolean, created date, note text, updated_at timestamptz NOT NULL)`,
		fmt.Sprintf(`INSERT INTO bench SELECT i, 'SKU-' || i, 'Product number ' || i, (i %% 1000) / 10.0, i %% 50,
			i / 3.0, i %% 2 = 0, date '2024-01-01' + (i %% 365), CASE WHEN i %% 3 = 0 THEN NULL ELSE 'a note' END,
			timestamptz '2024-01-01' + (i / 7) * interval '1 second'
			FROM generate_series(1, %d) AS i`, rows),
		`CREATE INDEX bench_cursor ON bench (updated_at, id)`,
		`ANALYZE bench`,
	)
	d, cfg := New(), valid(b, cfg)
	b.ResetTimer()
	for b.Loop() {
		var n countEmitter
		if err := d.Read(b.Context(), cfg, driver.ReadRequest{Entity: "bench", Mode: driver.ReadFull}, &n); err != nil {
			b.Fatal(err)
		}
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// countEmitter counts records and keeps nothing, so the benchmark measures the driver.
type countEmitter int

func (c *countEmitter) Record(context.Context, driver.Record) error { *c++; return nil }
func (c *countEmitter) Delete(context.Context, string) error        { return nil }
func (c *countEmitter) Checkpoint(context.Context, string) error    { return nil }
func (c *countEmitter) Log(context.Context, string)                 {}
