package store

import (
	"context"
	"database/sql"
	"errors"

	"fmt"
	"github.com/jackc/pgx/v5/pgconn"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// openPostgres opens one pool for reads and writes; PostgreSQL has many writers.
func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	db.SetMaxOpenConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	return &Store{dialect: Postgres, read: db, write: db, dsn: dsn}, nil
}

// isPostgresUnique recognises PostgreSQL's unique_violation.
func isPostgresUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
