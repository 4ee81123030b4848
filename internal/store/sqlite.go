package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // registers "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// openSQLite opens the file with WAL (readers never wait for the writer), a busy timeout,
// and two pools: one connection that writes, several that read.
func openSQLite(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite store: %w", err)
		}
	}
	params := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "foreign_keys(1)"} {
		params.Add("_pragma", p)
	}
	params.Set("_time_format", "sqlite")
	writeDSN := "file:" + path + "?" + params.Encode() + "&_txlock=immediate"
	readDSN := "file:" + path + "?" + params.Encode()

	write, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	write.SetMaxOpenConns(1)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", readDSN)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	read.SetMaxOpenConns(4)
	return &Store{dialect: SQLite, read: read, write: write, dsn: path}, nil
}

// isSQLiteUnique recognises SQLite's unique-constraint error by its extended code.
func isSQLiteUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// knownRecordsSQLite looks keys up with IN lists; SQLite always uses the primary key here.
func knownRecordsSQLite(ctx context.Context, tx *sql.Tx, connID int64, entity string, keys []string) (map[string]knownRecord, error) {
	known := make(map[string]knownRecord, len(keys))
	const chunk = 500
	for start := 0; start < len(keys); start += chunk {
		end := min(start+chunk, len(keys))
		args := []any{connID, entity}
		for _, k := range keys[start:end] {
			args = append(args, k)
		}
		// Plain ? parameters: SQLite looks $N names up one by one, which is quadratic here.
		rows, err := tx.QueryContext(ctx, `SELECT key, hash, state FROM records WHERE connection_id = ? AND entity = ?
			AND key IN (`+questionMarks(end-start)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read known records: %w", err)
		}
		for rows.Next() {
			var r knownRecord
			if err := rows.Scan(&r.ref, &r.hash, &r.state); err != nil {
				rows.Close()
				return nil, err
			}
			known[r.ref] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return known, nil
}

func touchRecordsSQLite(ctx context.Context, tx *sql.Tx, connID int64, entity string, keys []string, t time.Time, jobID int64) error {
	const chunk = 500
	for start := 0; start < len(keys); start += chunk {
		end := min(start+chunk, len(keys))
		args := []any{t, jobID, connID, entity}
		for _, k := range keys[start:end] {
			args = append(args, k)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE records SET last_seen = ?, seen_job = ? WHERE connection_id = ?
			AND entity = ? AND key IN (`+questionMarks(end-start)+`)`, args...); err != nil {
			return fmt.Errorf("mark records seen: %w", err)
		}
	}
	return nil
}

// upsertRecordsSQLite writes new and changed records, a hundred per statement. The
// statement for a full chunk is prepared once per page; ? parameters keep binding cheap.
func upsertRecordsSQLite(ctx context.Context, tx *sql.Tx, p Page, recs []PageRecord, t time.Time) error {
	const perRow, chunk = 10, 100
	row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, 'live', ?)"
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, chunk*perRow)
	for start := 0; start < len(recs); start += chunk {
		batch := recs[start:min(start+chunk, len(recs))]
		args = args[:0]
		for _, r := range batch {
			args = append(args, p.WorkspaceID, p.ConnectionID, p.Entity, r.Key, string(r.Fields), r.Hash, r.UpdatedAt, t, t, p.JobID)
		}
		query := insertRecords + strings.TrimSuffix(strings.Repeat(row+", ", len(batch)), ", ") + upsertRecordsConflict
		var err error
		if len(batch) == chunk {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, query); err != nil {
					return fmt.Errorf("store records of %s: %w", p.Entity, err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, query, args...)
		}
		if err != nil {
			return fmt.Errorf("store records of %s: %w", p.Entity, err)
		}
	}
	return nil
}

// questionMarks returns "?, ?, …" n times.
func questionMarks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
