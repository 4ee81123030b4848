// Package mysql is the built-in driver for MySQL and MariaDB databases: each table of the
// configured database is an entity. The shared table logic lives in sqltable.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/sqltable"
)

func init() { driver.Register(New()) }

// New returns the MySQL/MariaDB driver.
func New() *sqltable.Driver { return sqltable.New(Spec(), dialect{}) }

// Spec declares the driver's fields.
func Spec() driver.Spec {
	return driver.Spec{
		Name:        "mysql",
		Label:       "MySQL / MariaDB",
		Description: "Reads and writes the tables of a MySQL or MariaDB database.",
		Credentials: sqltable.ServerCredentials(3306),
		Settings: append([]driver.Field{
			{Name: "tls_mode", Label: "TLS", Type: driver.TypeSelect, Default: "false",
				Options: []string{"false", "true", "skip-verify", "preferred"},
				Help:    "false: no TLS; true: TLS with a verified certificate; skip-verify: TLS without verification; preferred: TLS when the server offers it."},
		}, sqltable.TableSettings()...),
		Capabilities: driver.Capabilities{Read: true, Write: true},
	}
}

type dialect struct{}

// Open configures the connection so values come back typed and in UTC, and an UPDATE
// reports the rows it matched (not only those it changed).
func (dialect) Open(cfg driver.Config) (*sql.DB, error) {
	c := cfg.Credentials
	mc := mysql.NewConfig()
	mc.Net = "tcp"
	mc.Addr = address(cfg)
	mc.User = c.String("user")
	mc.Passwd = c.String("password")
	mc.DBName = c.String("database")
	mc.ParseTime = true
	mc.Loc = time.UTC
	mc.Timeout = 10 * time.Second
	mc.ClientFoundRows = true
	mc.TLSConfig = cfg.Settings.String("tls_mode")
	mc.Params = map[string]string{"time_zone": "'+00:00'"}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

func address(cfg driver.Config) string {
	c := cfg.Credentials
	return net.JoinHostPort(c.String("host"), strconv.FormatInt(c.Int("port"), 10))
}

func (dialect) Quote(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

func (d dialect) Table(_ driver.Config, name string) string { return d.Quote(name) }

func (dialect) Param(int) string { return "?" }

func (d dialect) SelectColumn(name string) string { return d.Quote(name) }

func (d dialect) Upsert(key, update []string) string {
	if len(update) == 0 { // nothing but the key: leave the existing row as it is
		return "ON DUPLICATE KEY UPDATE " + d.Quote(key[0]) + " = " + d.Quote(key[0])
	}
	sets := make([]string, len(update))
	for i, c := range update {
		sets[i] = d.Quote(c) + " = VALUES(" + d.Quote(c) + ")"
	}
	return "ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
}

// ConnectError recognises MySQL's error numbers and network failures.
func (dialect) ConnectError(cfg driver.Config, err error) error {
	c := cfg.Credentials
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1045: // ER_ACCESS_DENIED_ERROR
			return driver.CredentialError("password", "access denied for user "+c.String("user")+": check the user and password")
		case 1044, 1049: // ER_DBACCESS_DENIED_ERROR, ER_BAD_DB_ERROR
			return driver.CredentialError("database", "database "+c.String("database")+" does not exist or may not be used by "+c.String("user"))
		}
		return nil
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return driver.CredentialError("host", fmt.Sprintf("%s cannot be reached", address(cfg)))
	}
	return nil
}
