package mysql

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/driver/drivertest"
	"github.com/junction-hub/junction/internal/drivers/sqltable/sqltabletest"
	"github.com/junction-hub/junction/internal/testdb"
)

// newDB creates a fresh database and returns a handle on it and a config reaching it.
func newDB(tb testing.TB, settings driver.Values) (*sql.DB, driver.Config) {
	tb.Helper()
	dsn, name := testdb.MySQL(tb)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(mc.Addr)
	p, _ := strconv.Atoi(port)
	creds := driver.Values{"host": host, "port": p, "database": name, "user": mc.User}
	if mc.Passwd != "" {
		creds["password"] = mc.Passwd
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

// passwordUser creates a user with a password allowed on the test database and returns
// a config that logs in as that user.
func passwordUser(t *testing.T, db *sql.DB, cfg driver.Config) driver.Config {
	t.Helper()
	user := testdb.Name("u")
	sqltabletest.Exec(t, db,
		"CREATE USER '"+user+"'@'%' IDENTIFIED BY 'right-password'",
		"GRANT ALL ON `"+cfg.Credentials.String("database")+"`.* TO '"+user+"'@'%'",
	)
	t.Cleanup(func() { _, _ = db.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
	cfg = sqltabletest.With(cfg, "credentials", "user", user)
	return sqltabletest.With(cfg, "credentials", "password", "right-password")
}

func TestConformance(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Exec(t, db,
		`CREATE TABLE things (id int PRIMARY KEY, name varchar(50) NOT NULL, price decimal(10,2), updated_at datetime(6) NOT NULL)`,
		`INSERT INTO things VALUES (1, 'a', 1.5, '2024-01-01'), (2, 'b', 2, '2024-01-01'),
			(3, 'c', NULL, '2024-01-02'), (4, 'd', 4.25, '2024-01-03'), (5, 'e', 5, '2024-01-03')`,
	)
	good := passwordUser(t, db, cfg)
	drivertest.Exercise(t, New(), drivertest.Fixture{
		Good:   good,
		Bad:    sqltabletest.With(good, "credentials", "password", "wrong-password"),
		Entity: "things",
		Mutate: func(ctx context.Context) error {
			if _, err := db.ExecContext(ctx, `UPDATE things SET name = 'changed', updated_at = '2030-01-01' WHERE id IN (2, 4)`); err != nil {
				return err
			}
			_, err := db.ExecContext(ctx, `INSERT INTO things VALUES (6, 'f', 6, '2030-01-02')`)
			return err
		},
		WriteKey:    "100",
		WriteFields: map[string]any{"name": "written", "price": "9.50", "updated_at": "2031-01-01T00:00:00Z"},
	})
}

func TestCheck(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Exec(t, db, `CREATE TABLE things (id int PRIMARY KEY)`)
	withPassword := passwordUser(t, db, cfg)
	tests := []struct {
		name      string
		cfg       driver.Config
		wantField string
	}{
		{"good", cfg, ""},
		{"good with password", withPassword, ""},
		{"listed table", sqltabletest.With(cfg, "settings", "tables", "things"), ""},
		{"wrong password", sqltabletest.With(withPassword, "credentials", "password", "wrong-password"), "credentials.password"},
		{"unknown database", sqltabletest.With(cfg, "credentials", "database", "nope_"+testdb.Name("d")), "credentials.database"},
		{"unreachable port", sqltabletest.With(cfg, "credentials", "port", 1), "credentials.host"},
		{"missing table", sqltabletest.With(cfg, "settings", "tables", "things,nope"), "settings.tables"},
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
			if strings.Contains(err.Error(), "password") && strings.Contains(err.Error(), "wrong-password") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Exec(t, db,
		"CREATE TABLE customers (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL, vip boolean, born date, "+
			"photo varbinary(10), balance decimal(10,2), score double, updated_at datetime(6))",
		"CREATE TABLE orders (id int PRIMARY KEY, customer_id bigint NOT NULL, status enum('new','paid','it''s shipped') NOT NULL, "+
			"FOREIGN KEY (customer_id) REFERENCES customers(id))",
		"CREATE TABLE `lines` (order_id int, line_no int, PRIMARY KEY (order_id, line_no), FOREIGN KEY (order_id) REFERENCES orders(id))",
		"CREATE TABLE log (line text)",
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
		{"id", driver.AttrInteger, "bigint(20)"}, {"name", driver.AttrString, "varchar(40)"},
		{"vip", driver.AttrBoolean, "tinyint(1)"}, {"born", driver.AttrDate, "date"},
		{"photo", driver.AttrBinary, "varbinary(10)"}, {"balance", driver.AttrDecimal, "decimal(10,2)"},
		{"score", driver.AttrNumber, "double"}, {"updated_at", driver.AttrDateTime, "datetime(6)"},
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
	if a, _ := orders.Attribute("status"); a.ValueList != "orders.status" {
		t.Errorf("status: %+v", a)
	}
	if len(cat.ValueLists) != 1 || cat.ValueLists[0].Name != "orders.status" || len(cat.ValueLists[0].Values) != 3 ||
		cat.ValueLists[0].Values[2].ID != "it's shipped" {
		t.Errorf("value lists %+v", cat.ValueLists)
	}
	lines, _ := cat.Entity("lines")
	if strings.Join(lines.Key, ",") != "order_id,line_no" {
		t.Errorf("lines key %v", lines.Key)
	}
	if a, _ := lines.Attribute("order_id"); a.Reference != "orders" {
		t.Errorf("lines.order_id references %q", a.Reference)
	}
}

func TestReadValues(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Exec(t, db,
		`CREATE TABLE v (id int PRIMARY KEY, vip boolean, born date, photo varbinary(10), balance decimal(30,10),
			score float, at datetime(6), ts timestamp(6) NULL, big bigint unsigned, s enum('a','b'))`,
		`INSERT INTO v VALUES (1, true, '2001-02-03', x'0102', 12345678901234567890.0123456789, 0.25,
			'2024-03-04 05:06:07.5', '2024-03-04 05:06:07.123456', 9007199254740993, 'b')`,
		`INSERT INTO v (id) VALUES (2)`,
	)
	got, err := drivertest.ReadAll(t.Context(), New(), valid(t, cfg), driver.ReadRequest{Entity: "v"})
	if err != nil {
		t.Fatal(err)
	}
	f := got.Records[0].Fields
	want := map[string]any{"id": int64(1), "vip": true, "born": "2001-02-03", "photo": "AQI=",
		"balance": "12345678901234567890.0123456789", "score": float64(0.25), "at": "2024-03-04T05:06:07.5Z",
		"ts": "2024-03-04T05:06:07.123456Z", "big": int64(9007199254740993), "s": "b"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %#v (%T), want %#v", k, f[k], f[k], v)
		}
	}
	for k, v := range got.Records[1].Fields {
		if k != "id" && v != nil {
			t.Errorf("NULL %s = %#v", k, v)
		}
	}
}

func TestScenarios(t *testing.T) {
	db, cfg := newDB(t, nil)
	sqltabletest.Run(t, sqltabletest.Env{Driver: New(), Config: cfg, DB: db, Timestamp: "datetime(6)"})
}
