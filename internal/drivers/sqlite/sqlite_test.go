package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/driver/drivertest"
	"github.com/junction-hub/junction/internal/drivers/sqltable/sqltabletest"
)

// newDB creates an empty database file for one test and returns its path and a handle.
func newDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	return path, db
}

func config(path string, settings driver.Values) driver.Config {
	return driver.Config{Credentials: driver.Values{"path": path}, Settings: settings}
}

func TestConformance(t *testing.T) {
	path, db := newDB(t)
	sqltabletest.Exec(t, db,
		`CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DECIMAL(10,2), updated_at DATETIME NOT NULL)`,
		`INSERT INTO things VALUES (1, 'a', 1.5, '2024-01-01 00:00:00'), (2, 'b', 2, '2024-01-01 00:00:00'),
			(3, 'c', NULL, '2024-01-02 00:00:00'), (4, 'd', 4.25, '2024-01-03 00:00:00'), (5, 'e', 5, '2024-01-03 00:00:00')`,
	)
	drivertest.Exercise(t, New(), drivertest.Fixture{
		Good:   config(path, nil),
		Bad:    config(filepath.Join(t.TempDir(), "missing.db"), nil),
		Entity: "things",
		Mutate: func(ctx context.Context) error {
			_, err := db.ExecContext(ctx, `UPDATE things SET name = 'changed', updated_at = '2030-01-01 00:00:00' WHERE id IN (2, 4);
				INSERT INTO things VALUES (6, 'f', 6, '2030-01-02 00:00:00')`)
			return err
		},
		WriteKey:    "100",
		WriteFields: map[string]any{"name": "written", "price": "9.5", "updated_at": "2031-01-01T00:00:00Z"},
	})
}

func TestCheck(t *testing.T) {
	path, db := newDB(t)
	sqltabletest.Exec(t, db, `CREATE TABLE things (id INTEGER PRIMARY KEY)`)
	notDB := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notDB, []byte("this is not a database, just some text that is long enough to have a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	tests := []struct {
		name      string
		cfg       driver.Config
		wantField string // "" means Check passes
	}{
		{"good", config(path, nil), ""},
		{"listed tables exist", config(path, driver.Values{"tables": "things"}), ""},
		{"missing file", config(missing, nil), "credentials.path"},
		{"not a database", config(notDB, nil), "credentials.path"},
		{"missing table", config(path, driver.Values{"tables": "things, nope"}), "settings.tables"},
		{"missing cursor column", config(path, driver.Values{"tables": "things", "cursor_column": "changed"}), "settings.cursor_column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Spec().Validate(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = New().Check(t.Context(), cfg)
			checkField(t, err, tt.wantField)
		})
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Check created %s", missing)
	}
}

func checkField(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		return
	}
	var fe driver.FieldErrors
	if !errors.As(err, &fe) || fe[0].Field != want {
		t.Fatalf("Check: %v, want a field error on %s", err, want)
	}
}

func TestDiscover(t *testing.T) {
	path, db := newDB(t)
	sqltabletest.Exec(t, db,
		`CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, vip BOOLEAN, born DATE, meta JSON, photo BLOB, balance NUMERIC(10,2), score REAL, updated_at TIMESTAMP)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), note TEXT)`,
		`CREATE TABLE log (line TEXT)`,
	)
	cat, err := New().Discover(t.Context(), config(path, nil))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range cat.Entities {
		names = append(names, e.Name)
	}
	if got := names; len(got) != 3 || got[0] != "customers" || got[1] != "log" || got[2] != "orders" {
		t.Fatalf("entities %v", got)
	}
	customers, _ := cat.Entity("customers")
	if customers.Cursor != "updated_at" || len(customers.Key) != 1 || customers.Key[0] != "id" {
		t.Errorf("customers: key %v cursor %q", customers.Key, customers.Cursor)
	}
	wantTypes := map[string]string{
		"id": driver.AttrInteger, "name": driver.AttrString, "vip": driver.AttrBoolean, "born": driver.AttrDate,
		"meta": driver.AttrJSON, "photo": driver.AttrBinary, "balance": driver.AttrDecimal, "score": driver.AttrNumber,
		"updated_at": driver.AttrDateTime,
	}
	for i, a := range customers.Attributes {
		if a.Type != wantTypes[a.Name] {
			t.Errorf("%s: type %s, want %s", a.Name, a.Type, wantTypes[a.Name])
		}
		if i == 0 && a.Name != "id" {
			t.Errorf("attributes not in column order: %s first", a.Name)
		}
	}
	if a, _ := customers.Attribute("name"); !a.Required || a.NativeType != "VARCHAR(40)" {
		t.Errorf("name: %+v", a)
	}
	orders, _ := cat.Entity("orders")
	if a, _ := orders.Attribute("customer_id"); a.Reference != "customers" {
		t.Errorf("orders.customer_id references %q, want customers", a.Reference)
	}
	if log, _ := cat.Entity("log"); len(log.Key) != 0 || log.Cursor != "" {
		t.Errorf("log: %+v", log)
	}
	only, err := New().Discover(t.Context(), config(path, driver.Values{"tables": "orders"}))
	if err != nil || len(only.Entities) != 1 {
		t.Fatalf("discover listed tables: %v %v", only, err)
	}
}

func TestReadValues(t *testing.T) {
	path, db := newDB(t)
	sqltabletest.Exec(t, db,
		`CREATE TABLE v (id INTEGER PRIMARY KEY, vip BOOLEAN, born DATE, meta JSON, photo BLOB, balance NUMERIC(10,2), score REAL, at DATETIME)`,
		`INSERT INTO v VALUES (1, 1, '2001-02-03', '{"a":[1,2]}', x'0102', '12.50', 0.25, '2024-03-04 05:06:07.5'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	)
	got, err := drivertest.ReadAll(t.Context(), New(), config(path, nil), driver.ReadRequest{Entity: "v"})
	if err != nil {
		t.Fatal(err)
	}
	f := got.Records[0].Fields
	want := map[string]any{"id": int64(1), "vip": true, "born": "2001-02-03", "photo": "AQI=", "balance": "12.5", // NUMERIC affinity stores a REAL

		"score": 0.25, "at": "2024-03-04T05:06:07.5Z"}
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
}

func TestScenarios(t *testing.T) {
	path, db := newDB(t)
	sqltabletest.Run(t, sqltabletest.Env{Driver: New(), Config: config(path, nil), DB: db, Timestamp: "DATETIME"})
}
