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
func Postgres(tb testing.TB) (dsn, name string) {
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
	return dbURL(tb, name), name
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

// PasswordRole is the PostgreSQL role that must log in with a password: scripts/services.sh
// puts a scram-sha-256 rule for it in front of the machine's trust rules.
const (
	PasswordRole     = "junction_auth"
	PasswordRolePass = "junction-test-password"
)

// PostgresPasswordRole makes sure PasswordRole exists and may use database name fully, so
// tests can log in with a right and a wrong password.
func PostgresPasswordRole(tb testing.TB, name string) (user, password string) {
	tb.Helper()
	admin := openOrFail(tb, "pgx", PostgresAdminURL())
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rules int
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_hba_file_rules
		WHERE $1 = ANY(user_name) AND auth_method IN ('scram-sha-256', 'md5')`, PasswordRole).Scan(&rules); err != nil || rules == 0 {
		tb.Fatalf("testdb: PostgreSQL does not ask %s for a password; run scripts/services.sh (%v)", PasswordRole, err)
	}
	// Tests in several packages run at once; creating the role may race, so retry.
	var err error
	for range 5 {
		_, err = admin.ExecContext(ctx, `DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '`+PasswordRole+`') THEN
				CREATE ROLE `+PasswordRole+` LOGIN PASSWORD '`+PasswordRolePass+`';
			END IF; END $$`)
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("testdb: create role: %v", err)
	}
	db := openOrFail(tb, "pgx", dbURL(tb, name))
	defer db.Close()
	for _, q := range []string{
		"GRANT ALL ON DATABASE " + name + " TO " + PasswordRole,
		"GRANT ALL ON SCHEMA public TO " + PasswordRole,
		"GRANT ALL ON ALL TABLES IN SCHEMA public TO " + PasswordRole,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO " + PasswordRole,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			tb.Fatalf("testdb: %s: %v", q, err)
		}
	}
	return PasswordRole, PasswordRolePass
}

func dbURL(tb testing.TB, name string) string {
	u, err := url.Parse(PostgresAdminURL())
	if err != nil {
		tb.Fatalf("testdb: JUNCTION_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
