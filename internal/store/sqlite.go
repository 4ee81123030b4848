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

// upsertRecordsSQLite writes new and changed records with one prepared statement: SQLite
// has no round trips to save, and parsing a long multi-row statement costs more.
func upsertRecordsSQLite(ctx context.Context, tx *sql.Tx, p Page, recs []PageRecord, t time.Time) error {
	if len(recs) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, insertRecords+"($1, $2, $3, $4, $5, $6, $7, $8, $8, 'live', $9)"+upsertRecordsConflict)
	if err != nil {
		return fmt.Errorf("store records of %s: %w", p.Entity, err)
	}
	defer stmt.Close()
	for _, r := range recs {
		if _, err := stmt.ExecContext(ctx, p.WorkspaceID, p.ConnectionID, p.Entity, r.Key, string(r.Fields), r.Hash,
			r.UpdatedAt, t, p.JobID); err != nil {
			return fmt.Errorf("store record %s/%s: %w", p.Entity, r.Key, err)
		}
	}
	return nil
}

// questionMarks returns "?, ?, …" n times.
func questionMarks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
