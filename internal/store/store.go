// Package store persists Junction's state: workspaces, tokens, connections, catalogs, the
// mirrored records, sync cursors and jobs, on SQLite (the default) or PostgreSQL.
//
// The SQL is written once with $N placeholders, which both dialects accept; what differs
// lives in sqlite.go and postgres.go. Migrations are embedded, one folder per dialect.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the database behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrNotFound means no row matched (or it belongs to another workspace).
var ErrNotFound = errors.New("not found")

// ErrConflict means a unique name is taken or the row is in the wrong state for the change.
var ErrConflict = errors.New("conflict")

// Store is the one handle on the database. Reads may run in parallel; on SQLite, writes go
// through a single connection (SQLite has one writer), which River shares.
type Store struct {
	dialect Dialect
	read    *sql.DB
	write   *sql.DB
	dsn     string
}

// Open connects to the database named by dsn ("postgres://…" for PostgreSQL, otherwise a
// SQLite file path) and applies the embedded migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var s *Store
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s, err = openPostgres(ctx, dsn)
	} else {
		s, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	gd := goose.DialectSQLite3
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, s.write, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Dialect says which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// DSN is what the store was opened with (River opens its own pool on PostgreSQL).
func (s *Store) DSN() string { return s.dsn }

// WriteDB is the pool that writes; River uses it on SQLite so there is one writer.
func (s *Store) WriteDB() *sql.DB { return s.write }

// Close releases the pools.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		if e := s.read.Close(); err == nil {
			err = e
		}
	}
	return err
}

// inTx runs fn in a write transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// now is the store's clock: UTC, microseconds (what PostgreSQL keeps), so values read back
// compare equal to values written.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// nullTime turns a NULL timestamp into nil.
func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// isUniqueViolation recognises a unique-constraint error of either dialect.
func isUniqueViolation(err error) bool { return isSQLiteUnique(err) || isPostgresUnique(err) }

// scanner is a *sql.Row or *sql.Rows: what the scan functions read one row from.
type scanner interface{ Scan(dest ...any) error }

// scanAll reads every row with scan and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
