// Package sqltable is the shared core of the built-in SQL database drivers: every table of a
// relational database is an entity, read with keyset pagination and written by primary key.
// What differs per database (connecting, quoting, introspection, upserts) is a Dialect.
package sqltable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/junction-hub/junction/internal/driver"
)

// Dialect is what one database does its own way. The sqltable Driver does the rest.
type Dialect interface {
	// Open returns a handle for cfg. It need not connect yet; Check pings it.
	Open(cfg driver.Config) (*sql.DB, error)
	// Quote quotes an identifier (a column name).
	Quote(name string) string
	// Table returns the quoted, schema-qualified name of a table for use in SQL.
	Table(cfg driver.Config, name string) string
	// Param returns the placeholder of the i-th query argument, counting from 1.
	Param(i int) string
	// SelectColumn returns the select-list expression that reads a column. Usually the
	// quoted name; SQLite wraps it so the driver hands back stored values unconverted.
	SelectColumn(name string) string
	// Introspect describes the tables of the configured database (only those named, when
	// names is not empty; names that do not exist are left out) and the value lists their
	// columns use.
	Introspect(ctx context.Context, db *sql.DB, cfg driver.Config, names []string) ([]Table, []driver.ValueList, error)
	// Upsert returns what follows "INSERT INTO t (cols) VALUES (…)" so that a row whose key
	// exists is updated instead; update lists the non-key columns.
	Upsert(key, update []string) string
	// ConnectError turns an error from opening, pinging or introspecting into field
	// errors (wrong password, unknown database, unreachable host) when it recognises it,
	// and returns nil otherwise.
	ConnectError(cfg driver.Config, err error) error
}

// Table describes one table as a Dialect reports it.
type Table struct {
	Name    string
	Columns []Column // in the table's column order
	Key     []string // primary-key columns in key order; empty when there is none
}

// Column describes one column of a Table.
type Column struct {
	Name       string
	Type       string // a driver.Attr* type
	NativeType string
	NotNull    bool
	Reference  string // referenced table, for single-column foreign keys
	ValueList  string // name of the driver.ValueList its values come from
}

// Column returns the column with the given name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Driver is a driver.Driver and driver.Writer for any Dialect.
type Driver struct {
	spec    driver.Spec
	dialect Dialect
}

var (
	_ driver.Driver = (*Driver)(nil)
	_ driver.Writer = (*Driver)(nil)
)

// New returns a driver with the given spec over the dialect.
func New(spec driver.Spec, dialect Dialect) *Driver {
	return &Driver{spec: spec, dialect: dialect}
}

// Spec returns the driver's spec.
func (d *Driver) Spec() driver.Spec { return d.spec }

// pingTimeout bounds how long Check waits for the database to answer.
const pingTimeout = 10 * time.Second

// DefaultPageSize is the number of rows per page when a ReadRequest does not say.
const DefaultPageSize = 1000

// TableSettings are the settings every SQL driver shares.
func TableSettings() []driver.Field {
	return []driver.Field{
		{Name: "tables", Label: "Tables", Type: driver.TypeText,
			Help: "Comma-separated table names to sync; empty syncs every table."},
		{Name: "cursor_column", Label: "Cursor column", Type: driver.TypeText,
			Help: "Column incremental syncs follow; empty uses updated_at where a table has it."},
	}
}

// ServerCredentials are the credentials of a database server reached over the network.
func ServerCredentials(defaultPort int) []driver.Field {
	return []driver.Field{
		{Name: "host", Label: "Host", Type: driver.TypeText, Default: "127.0.0.1"},
		{Name: "port", Label: "Port", Type: driver.TypeInteger, Default: int64(defaultPort)},
		{Name: "database", Label: "Database", Type: driver.TypeText, Required: true},
		{Name: "user", Label: "User", Type: driver.TypeText, Required: true},
		{Name: "password", Label: "Password", Type: driver.TypePassword},
	}
}

// Check opens the database, pings it and verifies the configured tables and cursor column.
func (d *Driver) Check(ctx context.Context, cfg driver.Config) error {
	db, err := d.dialect.Open(cfg)
	if err != nil {
		return d.connectError(cfg, err)
	}
	defer db.Close()
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		return d.connectError(cfg, err)
	}
	names := cfg.Settings.List("tables")
	tables, _, err := d.dialect.Introspect(pingCtx, db, cfg, names)
	if err != nil {
		return d.connectError(cfg, err)
	}
	if err := missingTables(names, tables); err != nil {
		return err
	}
	if col := cfg.Settings.String("cursor_column"); col != "" && len(names) > 0 {
		for _, t := range tables {
			if _, ok := t.Column(col); !ok {
				return driver.SettingError("cursor_column", fmt.Sprintf("table %s has no column %s", t.Name, col))
			}
		}
	}
	return nil
}

// missingTables reports the first listed table that introspection did not find.
func missingTables(names []string, tables []Table) error {
	found := make(map[string]bool, len(tables))
	for _, t := range tables {
		found[t.Name] = true
	}
	for _, n := range names {
		if !found[n] {
			return driver.SettingError("tables", fmt.Sprintf("table %s does not exist", n))
		}
	}
	return nil
}

// connectError explains a failure to reach the database without ever quoting a secret.
func (d *Driver) connectError(cfg driver.Config, err error) error {
	var already driver.FieldErrors
	if errors.As(err, &already) {
		return already
	}
	if fe := d.dialect.ConnectError(cfg, err); fe != nil {
		return fe
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return d.transientError(cfg, err)
}

// syncError is connectError for Discover and Read, which run in jobs on a connection whose
// credentials were checked when they were saved: a server that cannot be reached then is
// most likely restarting or failing over, so the job retries with backoff instead of
// failing as misconfigured. A wrong password or a missing database stays a field error.
func (d *Driver) syncError(cfg driver.Config, err error) error {
	var netErr net.Error
	if errors.As(err, &netErr) {
		return d.transientError(cfg, err)
	}
	return d.connectError(cfg, err)
}

// transientError wraps err as driver.ErrTransient, without any secret in its message.
func (d *Driver) transientError(cfg driver.Config, err error) error {
	msg := err.Error()
	for _, s := range d.spec.SecretValues(cfg) {
		msg = strings.ReplaceAll(msg, s, driver.Mask)
	}
	return fmt.Errorf("connect to %s: %s: %w", d.spec.Name, msg, driver.ErrTransient)
}

// Discover reports every table (or the listed ones) as an entity.
func (d *Driver) Discover(ctx context.Context, cfg driver.Config) (*driver.Catalog, error) {
	db, err := d.dialect.Open(cfg)
	if err != nil {
		return nil, d.connectError(cfg, err)
	}
	defer db.Close()
	names := cfg.Settings.List("tables")
	tables, lists, err := d.dialect.Introspect(ctx, db, cfg, names)
	if err != nil {
		return nil, fmt.Errorf("discover: %w", d.syncError(cfg, err))
	}
	if err := missingTables(names, tables); err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	cat := &driver.Catalog{Entities: make([]driver.Entity, 0, len(tables)), ValueLists: lists}
	for _, t := range tables {
		cat.Entities = append(cat.Entities, entity(t, cfg))
	}
	sortEntities(cat)
	return cat, nil
}

// entity describes a table as the catalog shows it.
func entity(t Table, cfg driver.Config) driver.Entity {
	e := driver.Entity{Name: t.Name, Key: t.Key, Attributes: make([]driver.Attribute, 0, len(t.Columns))}
	if e.Key == nil {
		e.Key = []string{}
	}
	if c, err := cursorColumn(t, cfg); err == nil {
		e.Cursor = c
	}
	for _, c := range t.Columns {
		e.Attributes = append(e.Attributes, driver.Attribute{
			Name:       c.Name,
			Type:       c.Type,
			NativeType: c.NativeType,
			Required:   c.NotNull,
			Key:        contains(t.Key, c.Name),
			ValueList:  c.ValueList,
			Reference:  c.Reference,
		})
	}
	return e
}

// cursorColumn returns the column a table's reads are ordered by before its key: the
// configured cursor_column (an error wrapping ErrConfig when the table lacks it), else
// updated_at when the table has it, else "".
func cursorColumn(t Table, cfg driver.Config) (string, error) {
	if name := cfg.Settings.String("cursor_column"); name != "" {
		if _, ok := t.Column(name); !ok {
			return "", fmt.Errorf("table %s has no cursor column %s (settings.cursor_column): %w", t.Name, name, driver.ErrConfig)
		}
		return name, nil
	}
	if _, ok := t.Column("updated_at"); ok {
		return "updated_at", nil
	}
	return "", nil
}

// table introspects one table, refusing tables the tables setting leaves out.
func (d *Driver) table(ctx context.Context, db *sql.DB, cfg driver.Config, name string) (Table, error) {
	if listed := cfg.Settings.List("tables"); len(listed) > 0 && !contains(listed, name) {
		return Table{}, fmt.Errorf("table %s is not in settings.tables: %w", name, driver.ErrUnknownEntity)
	}
	tables, _, err := d.dialect.Introspect(ctx, db, cfg, []string{name})
	if err != nil {
		return Table{}, d.syncError(cfg, err)
	}
	for _, t := range tables {
		if t.Name == name {
			return t, nil
		}
	}
	return Table{}, fmt.Errorf("table %s does not exist: %w", name, driver.ErrUnknownEntity)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
