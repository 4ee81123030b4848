package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"fmt"
	"github.com/jackc/pgx/v5/pgconn"
	"strings"

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

// knownRecordsPostgres probes the primary key once per key. The OFFSET 0 fence keeps the
// planner from turning the probes into a scan of the whole entity, which it otherwise does
// while a new connection's entity has no statistics yet (every sync would go quadratic).
func knownRecordsPostgres(ctx context.Context, tx *sql.Tx, connID int64, entity string, keys []string) (map[string]knownRecord, error) {
	rows, err := tx.QueryContext(ctx, `SELECT k.key, r.hash, r.state, r.ctid::text FROM unnest($3::text[]) AS k(key)
		CROSS JOIN LATERAL (SELECT hash, state, ctid FROM records
			WHERE connection_id = $1 AND entity = $2 AND key = k.key OFFSET 0) r`, connID, entity, keys)
	if err != nil {
		return nil, fmt.Errorf("read known records: %w", err)
	}
	defer rows.Close()
	known := make(map[string]knownRecord, len(keys))
	for rows.Next() {
		var key string
		var r knownRecord
		if err := rows.Scan(&key, &r.hash, &r.state, &r.ref); err != nil {
			return nil, err
		}
		known[key] = r
	}
	return known, rows.Err()
}

// touchRecordsPostgres updates rows by the ctid the lookup found in the same transaction.
func touchRecordsPostgres(ctx context.Context, tx *sql.Tx, ctids []string, t time.Time, jobID int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE records SET last_seen = $1, seen_job = $2 WHERE ctid = ANY($3::tid[])`,
		t, jobID, ctids); err != nil {
		return fmt.Errorf("mark records seen: %w", err)
	}
	return nil
}

// upsertRecordsPostgres writes new and changed records, many per statement (one round trip). first_seen is kept
// for records that exist; a record that was gone is live again.
func upsertRecordsPostgres(ctx context.Context, tx *sql.Tx, p Page, recs []PageRecord, t time.Time) error {
	const perRow, chunk = 9, 200
	for start := 0; start < len(recs); start += chunk {
		batch := recs[start:min(start+chunk, len(recs))]
		args := make([]any, 0, len(batch)*perRow)
		var values strings.Builder
		for i, r := range batch {
			if i > 0 {
				values.WriteString(", ")
			}
			n := i * perRow
			fmt.Fprintf(&values, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, 'live', $%d)",
				n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+8, n+9)
			args = append(args, p.WorkspaceID, p.ConnectionID, p.Entity, r.Key, string(r.Fields), r.Hash, r.UpdatedAt, t, p.JobID)
		}
		_, err := tx.ExecContext(ctx, insertRecords+values.String()+upsertRecordsConflict, args...)
		if err != nil {
			return fmt.Errorf("store records of %s: %w", p.Entity, err)
		}
	}
	return nil
}
