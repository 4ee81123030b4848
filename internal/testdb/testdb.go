// Package testdb gives each test its own fresh database on the real PostgreSQL and MariaDB
// servers of the machine, and drops it when the test ends.
//
// Servers are found at JUNCTION_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres)
// and JUNCTION_TEST_MYSQL (default root@tcp(127.0.0.1:3306)/). scripts/test.sh starts them when stopped.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// PostgresAdminURL is the server tests create their databases on.
func PostgresAdminURL() string {
	if u := os.Getenv("JUNCTION_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// MySQLAdminDSN is the server tests create their databases on (go-sql-driver DSN).
func MySQLAdminDSN() string {
	if u := os.Getenv("JUNCTION_TEST_MYSQL"); u != "" {
		return u
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// Name returns a fresh database name with the given prefix.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// Postgres creates a fresh PostgreSQL database for tb, drops it at cleanup, and returns
// its URL and name.
func Postgres(tb testing.TB) (dbURL, name string) {
	tb.Helper()
	name = Name("jt")
	admin := openOrFail(tb, "pgx", PostgresAdminURL())
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testdb: create postgres database: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", PostgresAdminURL())
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(PostgresAdminURL())
	if err != nil {
		tb.Fatalf("testdb: JUNCTION_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String(), name
}

// MySQL creates a fresh MariaDB/MySQL database for tb, drops it at cleanup, and returns
// a DSN for it and its name.
func MySQL(tb testing.TB) (dsn, name string) {
	tb.Helper()
	name = Name("jt")
	admin := openOrFail(tb, "mysql", MySQLAdminDSN())
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testdb: create mysql database: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("mysql", MySQLAdminDSN())
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
	})
	return MySQLAdminDSN() + name + "?parseTime=true&multiStatements=true", name
}

func openOrFail(tb testing.TB, driverName, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(driverName, dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		tb.Fatalf("testdb: %s server not reachable (scripts/test.sh starts it): %v", driverName, fmt.Sprint(err))
	}
	return db
}
