// Package postgres is the built-in driver for PostgreSQL databases: each table of the
// configured schema is an entity. The shared table logic lives in sqltable.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers database/sql driver "pgx"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/sqltable"
)

func init() { driver.Register(New()) }

// New returns the PostgreSQL driver.
func New() *sqltable.Driver { return sqltable.New(Spec(), dialect{}) }

// Spec declares the driver's fields.
func Spec() driver.Spec {
	return driver.Spec{
		Name:        "postgres",
		Label:       "PostgreSQL",
		Description: "Reads and writes the tables of a PostgreSQL schema.",
		Credentials: sqltable.ServerCredentials(5432),
		Settings: append([]driver.Field{
			{Name: "tls_mode", Label: "TLS", Type: driver.TypeSelect, Default: "disable",
				Options: []string{"disable", "require", "verify-ca", "verify-full"},
				Help:    "PostgreSQL sslmode."},
			{Name: "schema", Label: "Schema", Type: driver.TypeText, Default: "public"},
		}, sqltable.TableSettings()...),
		Capabilities: driver.Capabilities{Read: true, Write: true},
	}
}

type dialect struct{}

func (dialect) Open(cfg driver.Config) (*sql.DB, error) {
	c := cfg.Credentials
	u := url.URL{
		Scheme: "postgres",
		Host:   net.JoinHostPort(c.String("host"), strconv.FormatInt(c.Int("port"), 10)),
		Path:   "/" + c.String("database"),
	}
	if pw := c.String("password"); pw != "" {
		u.User = url.UserPassword(c.String("user"), pw)
	} else {
		u.User = url.User(c.String("user"))
	}
	q := url.Values{}
	q.Set("sslmode", cfg.Settings.String("tls_mode"))
	q.Set("connect_timeout", "10")
	u.RawQuery = q.Encode()
	return sql.Open("pgx", u.String())
}

func (dialect) Quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func (d dialect) Table(cfg driver.Config, name string) string {
	return d.Quote(schema(cfg)) + "." + d.Quote(name)
}

func (dialect) Param(i int) string { return "$" + strconv.Itoa(i) }

func (d dialect) SelectColumn(name string) string { return d.Quote(name) }

func (d dialect) Upsert(key, update []string) string {
	return sqltable.OnConflict(d.Quote, key, update)
}

// ConnectError recognises PostgreSQL's error codes and network failures.
func (dialect) ConnectError(cfg driver.Config, err error) error {
	c := cfg.Credentials
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01": // invalid_password
			return driver.CredentialError("password", "password authentication failed for user "+c.String("user"))
		case "28000": // invalid_authorization_specification: unknown role, or no pg_hba entry
			return driver.CredentialError("user", "user "+c.String("user")+" may not connect to this database")
		case "3D000": // invalid_catalog_name
			return driver.CredentialError("database", "database "+c.String("database")+" does not exist")
		case "3F000": // invalid_schema_name
			return driver.SettingError("schema", "schema "+cfg.Settings.String("schema")+" does not exist")
		}
		return nil
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		addr := net.JoinHostPort(c.String("host"), strconv.FormatInt(c.Int("port"), 10))
		return driver.CredentialError("host", fmt.Sprintf("%s cannot be reached", addr))
	}
	return nil
}

func schema(cfg driver.Config) string {
	if s := cfg.Settings.String("schema"); s != "" {
		return s
	}
	return "public"
}
