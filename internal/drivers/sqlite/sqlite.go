// Package sqlite is the built-in driver for SQLite database files: each table is an
// entity. The shared table logic lives in sqltable.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	sqlitelib "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/sqltable"
)

func init() { driver.Register(New()) }

// New returns the SQLite driver.
func New() *sqltable.Driver { return sqltable.New(Spec(), dialect{}) }

// Spec declares the driver's fields.
func Spec() driver.Spec {
	return driver.Spec{
		Name:        "sqlite",
		Label:       "SQLite",
		Description: "Reads and writes the tables of a SQLite database file.",
		Credentials: []driver.Field{
			{Name: "path", Label: "Database file", Type: driver.TypePath, Required: true,
				Help: "Path of an existing SQLite file on the Junction server."},
		},
		Settings:     sqltable.TableSettings(),
		Capabilities: driver.Capabilities{Read: true, Write: true},
	}
}

type dialect struct{}

// errNoFile marks a path that does not name an existing file; ConnectError turns it
// into a field error.
var errNoFile = errors.New("no such file")

// Open opens an existing file read-write. It never creates one: a wrong path must fail
// Check instead of leaving an empty database behind.
func (dialect) Open(cfg driver.Config) (*sql.DB, error) {
	path := cfg.Credentials.String("path")
	info, err := os.Stat(path)
	if err != nil || info.IsDir() {
		return nil, fmt.Errorf("open %s: %w", path, errNoFile)
	}
	u := url.URL{Scheme: "file", OmitHost: true, Path: path}
	u.RawQuery = "mode=rw&_time_format=sqlite&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer; a read holds its one connection anyway
	return db, nil
}

func (dialect) Quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func (d dialect) Table(_ driver.Config, name string) string { return d.Quote(name) }

func (dialect) Param(int) string { return "?" }

// SelectColumn reads a column through a no-op "+", which hides its declared type from the
// SQLite driver: it then returns timestamps exactly as stored instead of re-parsing them,
// so a cursor built from them compares equal to the stored value.
func (d dialect) SelectColumn(name string) string { return "+" + d.Quote(name) }

func (d dialect) Upsert(key, update []string) string {
	return sqltable.OnConflict(d.Quote, key, update)
}

// ConnectError reports a missing file or a file that is not a database on the path field.
func (dialect) ConnectError(cfg driver.Config, err error) error {
	path := cfg.Credentials.String("path")
	if errors.Is(err, errNoFile) {
		return driver.CredentialError("path", "file "+path+" does not exist")
	}
	var sqlErr *sqlitelib.Error
	if errors.As(err, &sqlErr) {
		switch sqlErr.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB:
			return driver.CredentialError("path", "file "+path+" is not a SQLite database")
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY:
			return driver.CredentialError("path", "file "+path+" cannot be opened for reading and writing")
		}
	}
	return nil
}

// Introspect reads tables from sqlite_schema and columns and keys from the table pragmas.
func (dialect) Introspect(ctx context.Context, db *sql.DB, _ driver.Config, names []string) ([]sqltable.Table, []driver.ValueList, error) {
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, nil, fmt.Errorf("introspect tables: %w", err)
	}
	var tables []sqltable.Table
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("introspect tables: %w", err)
		}
		if len(wanted) == 0 || wanted[name] {
			tables = append(tables, sqltable.Table{Name: name})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("introspect tables: %w", err)
	}
	for i := range tables {
		if err := describe(ctx, db, &tables[i]); err != nil {
			return nil, nil, err
		}
	}
	return tables, nil, nil
}

// describe fills in a table's columns, primary key and single-column foreign keys.
func describe(ctx context.Context, db *sql.DB, t *sqltable.Table) error {
	rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, t.Name)
	if err != nil {
		return fmt.Errorf("introspect %s: %w", t.Name, err)
	}
	defer rows.Close()
	keyPos := map[int]string{}
	for rows.Next() {
		var c sqltable.Column
		var pk int
		if err := rows.Scan(&c.Name, &c.NativeType, &c.NotNull, &pk); err != nil {
			return fmt.Errorf("introspect %s: %w", t.Name, err)
		}
		c.Type = attrType(c.NativeType)
		if pk > 0 {
			keyPos[pk] = c.Name
			c.NotNull = true // SQLite keeps NULL out of keys in practice; the key is required
		}
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("introspect %s: %w", t.Name, err)
	}
	for i := 1; i <= len(keyPos); i++ {
		t.Key = append(t.Key, keyPos[i])
	}
	fks, err := db.QueryContext(ctx, `SELECT id, "table", "from" FROM pragma_foreign_key_list(?)`, t.Name)
	if err != nil {
		return fmt.Errorf("introspect %s foreign keys: %w", t.Name, err)
	}
	defer fks.Close()
	type fk struct {
		table string
		cols  []string
	}
	byID := map[int]*fk{}
	for fks.Next() {
		var id int
		var table, from string
		if err := fks.Scan(&id, &table, &from); err != nil {
			return fmt.Errorf("introspect %s foreign keys: %w", t.Name, err)
		}
		if byID[id] == nil {
			byID[id] = &fk{table: table}
		}
		byID[id].cols = append(byID[id].cols, from)
	}
	if err := fks.Err(); err != nil {
		return fmt.Errorf("introspect %s foreign keys: %w", t.Name, err)
	}
	for _, f := range byID {
		if len(f.cols) != 1 {
			continue
		}
		for i := range t.Columns {
			if t.Columns[i].Name == f.cols[0] {
				t.Columns[i].Reference = f.table
			}
		}
	}
	return nil
}

// attrType maps a declared column type to a catalog attribute type, following SQLite's
// own affinity rules after the names people use for dates, booleans and JSON.
func attrType(declared string) string {
	t := strings.ToUpper(declared)
	switch {
	case strings.Contains(t, "BOOL"):
		return driver.AttrBoolean
	case strings.Contains(t, "DATETIME"), strings.Contains(t, "TIMESTAMP"):
		return driver.AttrDateTime
	case strings.HasPrefix(t, "DATE"):
		return driver.AttrDate
	case strings.Contains(t, "JSON"):
		return driver.AttrJSON
	case strings.Contains(t, "INT"):
		return driver.AttrInteger
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return driver.AttrString
	case strings.Contains(t, "BLOB"):
		return driver.AttrBinary
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return driver.AttrNumber
	case strings.Contains(t, "DEC"), strings.Contains(t, "NUMERIC"):
		return driver.AttrDecimal
	}
	return driver.AttrString
}
