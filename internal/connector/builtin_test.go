package connector

import (
	"context"
	"database/sql"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/driver/drivertest"
	mysqldrv "github.com/junction-hub/junction/internal/drivers/mysql"
	"github.com/junction-hub/junction/internal/drivers/postgres"
	"github.com/junction-hub/junction/internal/drivers/sqlite"
	"github.com/junction-hub/junction/internal/testdb"
)

// Every built-in driver, served by Handler, passes the conformance kit through the
// network, and the in-process driver suite (which can change the data, so it also checks
// that an incremental read returns exactly the changes) through a Client.

const thingsRows = `INSERT INTO things VALUES (1, 'a', 1.5, '2024-01-01'), (2, 'b', 2, '2024-01-01'),
	(3, 'c', NULL, '2024-01-02'), (4, 'd', 4.25, '2024-01-03'), (5, 'e', 5, '2024-01-03')`

func mutateThings(db *sql.DB) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if _, err := db.ExecContext(ctx, `UPDATE things SET name = 'changed', updated_at = '2030-01-01 00:00:00' WHERE id IN (2, 4)`); err != nil {
			return err
		}
		_, err := db.ExecContext(ctx, `INSERT INTO things VALUES (6, 'f', 6, '2030-01-02 00:00:00')`)
		return err
	}
}

func exercise(t *testing.T, d driver.Driver, good, bad driver.Config, db *sql.DB) {
	t.Helper()
	srv := serve(t, Handler(d, HandlerOptions{Token: "kit-token"}))
	t.Run("kit", func(t *testing.T) {
		results := Conformance(t.Context(), srv.URL, KitFixture{
			Credentials: good.Credentials, Settings: good.Settings, BadCredentials: bad.Credentials,
			Entity:   "things",
			WriteKey: "100", WriteFields: map[string]any{"name": "written", "updated_at": "2020-01-01T00:00:00Z"},
		}, Options{Token: "kit-token"})
		expectRows(t, results)
	})
	t.Run("suite through a client", func(t *testing.T) {
		c := dial(t, srv.URL, Options{Token: "kit-token"})
		drivertest.Exercise(t, c.Driver(), drivertest.Fixture{
			Good: good, Bad: bad, Entity: "things", Mutate: mutateThings(db),
			WriteKey: "101", WriteFields: map[string]any{"name": "again", "updated_at": "2031-01-01T00:00:00Z"},
		})
	})
}

func TestBuiltinSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		`CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DECIMAL(10,2), updated_at DATETIME NOT NULL)`,
		thingsRows,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	exercise(t, sqlite.New(),
		driver.Config{Credentials: driver.Values{"path": path}},
		driver.Config{Credentials: driver.Values{"path": filepath.Join(t.TempDir(), "missing.db")}}, db)
}

func TestBuiltinPostgres(t *testing.T) {
	dbURL, name := testdb.Postgres(t)
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		`CREATE TABLE things (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2), updated_at timestamptz NOT NULL)`,
		thingsRows,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := url.Parse(dbURL)
	port, _ := strconv.Atoi(u.Port())
	creds := driver.Values{"host": u.Hostname(), "port": port, "database": name, "user": u.User.Username()}
	if pw, ok := u.User.Password(); ok {
		creds["password"] = pw
	}
	bad := driver.Values{}
	for k, v := range creds {
		bad[k] = v
	}
	bad["database"] = "nope_" + name
	exercise(t, postgres.New(), driver.Config{Credentials: creds}, driver.Config{Credentials: bad}, db)
}

func TestBuiltinMySQL(t *testing.T) {
	dsn, name := testdb.MySQL(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		`CREATE TABLE things (id int PRIMARY KEY, name varchar(50) NOT NULL, price decimal(10,2), updated_at datetime(6) NOT NULL)`,
		thingsRows,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(mc.Addr)
	p, _ := strconv.Atoi(port)
	creds := driver.Values{"host": host, "port": p, "database": name, "user": mc.User}
	if mc.Passwd != "" {
		creds["password"] = mc.Passwd
	}
	bad := driver.Values{}
	for k, v := range creds {
		bad[k] = v
	}
	bad["database"] = "nope_" + name
	exercise(t, mysqldrv.New(), driver.Config{Credentials: creds}, driver.Config{Credentials: bad}, db)
}
