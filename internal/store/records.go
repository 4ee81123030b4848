package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Record states.
const (
	RecordLive = "live"
	RecordGone = "gone"
)

// Record is one remote object as mirrored.
type Record struct {
	ConnectionID    int64      `json:"connection_id"`
	Entity          string     `json:"entity"`
	Key             string     `json:"key"`
	Fields          string     `json:"-"` // JSON object
	Hash            string     `json:"hash"`
	RemoteUpdatedAt *time.Time `json:"remote_updated_at,omitempty"`
	FirstSeen       time.Time  `json:"first_seen"`
	LastSeen        time.Time  `json:"last_seen"`
	State           string     `json:"state"`
	GoneAt          *time.Time `json:"gone_at,omitempty"`
}

// PageRecord is a record ready to store: fields already encoded and hashed by the syncer.
type PageRecord struct {
	Key       string
	Fields    []byte
	Hash      string
	UpdatedAt *time.Time
}

// Page is what one checkpoint commits: the records read since the last checkpoint, keys
// deleted upstream, and the cursor to resume from. It commits in one transaction with the
// job's counters, so a crash either keeps all of it or none.
type Page struct {
	WorkspaceID  int64
	ConnectionID int64
	JobID        int64
	Entity       string
	Records      []PageRecord
	Deletes      []string
	Cursor       string
}

// ApplyPage stores a page and returns what it changed. Records whose hash is unchanged are
// not rewritten, only marked seen.
func (s *Store) ApplyPage(ctx context.Context, p Page) (Counters, error) {
	var c Counters
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c = Counters{Read: int64(len(p.Records))}
		t := now()
		known, err := s.knownRecords(ctx, tx, p.ConnectionID, p.Entity, p.Records)
		if err != nil {
			return err
		}
		var changed []PageRecord
		var unchanged []string
		at := map[string]int{} // index in changed, so a key repeated in a page is written once
		for _, r := range p.Records {
			prev, ok := known[r.Key]
			switch {
			case !ok:
				c.Inserted++
			case prev.hash != r.Hash || prev.state != RecordLive:
				c.Updated++
			default:
				if prev.ref != "" { // "" means written by this page, so already seen
					unchanged = append(unchanged, prev.ref)
				}
				c.Unchanged++
				continue
			}
			if i, dup := at[r.Key]; dup {
				changed[i] = r
			} else {
				at[r.Key] = len(changed)
				changed = append(changed, r)
			}
			known[r.Key] = knownRecord{hash: r.Hash, state: RecordLive} // a key repeated in one page counts once as new
		}
		upsert := upsertRecordsSQLite
		if s.dialect == Postgres {
			upsert = upsertRecordsPostgres
		}
		if err := upsert(ctx, tx, p, changed, t); err != nil {
			return err
		}
		if err := s.touchRecords(ctx, tx, p.ConnectionID, p.Entity, unchanged, t, p.JobID); err != nil {
			return err
		}
		for _, key := range p.Deletes {
			res, err := tx.ExecContext(ctx, `UPDATE records SET state = 'gone', gone_at = $1
				WHERE connection_id = $2 AND entity = $3 AND key = $4 AND state = 'live'`, t, p.ConnectionID, p.Entity, key)
			if err != nil {
				return fmt.Errorf("mark %s/%s gone: %w", p.Entity, key, err)
			}
			n, _ := res.RowsAffected()
			c.Gone += n
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sync_states SET run_cursor = $1 WHERE connection_id = $2 AND entity = $3`,
			p.Cursor, p.ConnectionID, p.Entity); err != nil {
			return fmt.Errorf("save cursor: %w", err)
		}
		return addCounters(ctx, tx, p.JobID, c)
	})
	if err != nil {
		return Counters{}, fmt.Errorf("apply page of %s: %w", p.Entity, err)
	}
	return c, nil
}

// The upsert both dialects use: first_seen is kept for records that exist, and a record
// that was gone is live again.
const (
	insertRecords = `INSERT INTO records (workspace_id, connection_id, entity, key, fields, hash,
		remote_updated_at, first_seen, last_seen, state, seen_job) VALUES `
	upsertRecordsConflict = ` ON CONFLICT (connection_id, entity, key) DO UPDATE SET fields = excluded.fields,
		hash = excluded.hash, remote_updated_at = excluded.remote_updated_at, last_seen = excluded.last_seen,
		state = 'live', gone_at = NULL, seen_job = excluded.seen_job`
)

// knownRecord is what a page needs to know about a record already mirrored.
type knownRecord struct {
	hash, state string
	ref         string // how to touch it: its ctid on PostgreSQL, its key on SQLite
}

// knownRecords looks up the page's keys that are already mirrored.
func (s *Store) knownRecords(ctx context.Context, tx *sql.Tx, connID int64, entity string, recs []PageRecord) (map[string]knownRecord, error) {
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = r.Key
	}
	if s.dialect == Postgres {
		return knownRecordsPostgres(ctx, tx, connID, entity, keys)
	}
	return knownRecordsSQLite(ctx, tx, connID, entity, keys)
}

// touchRecords marks unchanged records as seen by this job.
func (s *Store) touchRecords(ctx context.Context, tx *sql.Tx, connID int64, entity string, refs []string, t time.Time, jobID int64) error {
	if len(refs) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		return touchRecordsPostgres(ctx, tx, refs, t, jobID)
	}
	return touchRecordsSQLite(ctx, tx, connID, entity, refs, t, jobID)
}

func addCounters(ctx context.Context, tx *sql.Tx, jobID int64, c Counters) error {
	_, err := tx.ExecContext(ctx, `UPDATE jobs SET read_count = read_count + $1, inserted_count = inserted_count + $2,
		updated_count = updated_count + $3, unchanged_count = unchanged_count + $4, gone_count = gone_count + $5
		WHERE id = $6`, c.Read, c.Inserted, c.Updated, c.Unchanged, c.Gone, jobID)
	if err != nil {
		return fmt.Errorf("count progress of job %d: %w", jobID, err)
	}
	return nil
}

// SyncRun is where an entity's sync stands.
type SyncRun struct {
	Mode    string // "full" or "incremental"
	Cursor  string // resume from here
	Resumed bool   // the job had started this entity before (a retry after a crash)
	// KeyAttrs and CursorAttr are what the last finished sync of the entity was keyed and
	// ordered by ("" before the first).
	KeyAttrs   string
	CursorAttr string
}

// BeginEntitySync starts, or resumes when the same job started it before, an entity's sync.
// A full sync starts from an empty cursor, an incremental one from the last finished cursor.
// An incremental sync becomes a full one when there is no cursor yet, or when the last full
// sync finished before fullIfBefore (zero: never forced).
func (s *Store) BeginEntitySync(ctx context.Context, connID int64, entity string, jobID int64, mode string, fullIfBefore time.Time) (SyncRun, error) {
	var run SyncRun
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var cursor, runCursor, runMode, keyAttrs, cursorAttr string
		var runJob sql.NullInt64
		var fullAt sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT cursor, run_job_id, run_mode, run_cursor, key_attrs, cursor_attr, full_synced_at
			FROM sync_states WHERE connection_id = $1 AND entity = $2`, connID, entity).Scan(
			&cursor, &runJob, &runMode, &runCursor, &keyAttrs, &cursorAttr, &fullAt)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sync_states (connection_id, entity) VALUES ($1, $2)`, connID, entity); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if runJob.Valid && runJob.Int64 == jobID {
			run = SyncRun{Mode: runMode, Cursor: runCursor, Resumed: true, KeyAttrs: keyAttrs, CursorAttr: cursorAttr}
			return nil
		}
		if mode == "incremental" && (cursor == "" || !fullAt.Valid || fullAt.Time.Before(fullIfBefore)) {
			mode = "full"
		}
		run = SyncRun{Mode: mode, KeyAttrs: keyAttrs, CursorAttr: cursorAttr}
		if mode == "incremental" {
			run.Cursor = cursor
		}
		_, err = tx.ExecContext(ctx, `UPDATE sync_states SET run_job_id = $1, run_mode = $2, run_cursor = $3, run_started_at = $4
			WHERE connection_id = $5 AND entity = $6`, jobID, run.Mode, run.Cursor, now(), connID, entity)
		return err
	})
	if err != nil {
		return SyncRun{}, fmt.Errorf("begin sync of %s: %w", entity, err)
	}
	return run, nil
}

// FinishEntitySync closes an entity's sync: after a full read, records this job did not see
// are marked gone (kept, with the time they went); the run's cursor becomes the cursor the
// next incremental sync starts from, and the key and cursor attributes it used are kept
// to compare the next catalog with. It returns how many went.
func (s *Store) FinishEntitySync(ctx context.Context, connID int64, entity string, jobID int64, keyAttrs, cursorAttr string) (int64, error) {
	var gone int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var mode string
		if err := tx.QueryRowContext(ctx, `SELECT run_mode FROM sync_states WHERE connection_id = $1 AND entity = $2 AND run_job_id = $3`,
			connID, entity, jobID).Scan(&mode); err != nil {
			return err
		}
		t := now()
		if mode == "full" {
			if _, err := tx.ExecContext(ctx, `UPDATE sync_states SET full_synced_at = $1 WHERE connection_id = $2 AND entity = $3`,
				t, connID, entity); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE records SET state = 'gone', gone_at = $1
				WHERE connection_id = $2 AND entity = $3 AND state = 'live' AND seen_job <> $4`, t, connID, entity, jobID)
			if err != nil {
				return err
			}
			gone, _ = res.RowsAffected()
			if err := addCounters(ctx, tx, jobID, Counters{Gone: gone}); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE sync_states SET cursor = run_cursor, run_job_id = NULL, run_mode = '',
			run_cursor = '', run_started_at = NULL, synced_at = $1, key_attrs = $2, cursor_attr = $3
			WHERE connection_id = $4 AND entity = $5`, t, keyAttrs, cursorAttr, connID, entity)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("finish sync of %s: %w", entity, err)
	}
	return gone, nil
}

// RecordFilter narrows ListRecords; paging is by (entity, key) after the given position.
type RecordFilter struct {
	WorkspaceID  int64
	ConnectionID int64
	Entity       string
	State        string
	AfterEntity  string
	AfterKey     string
	Limit        int
	Keys         []string // only these keys (an integration grant's records); nil: all
	// Search keeps records whose key or any field's text contains it, case-insensitive
	// (the console's data hub search). Unindexed: a scan of the connection's records.
	Search string
}

// ListRecords returns a page of mirrored records in (entity, key) order.
func (s *Store) ListRecords(ctx context.Context, f RecordFilter) ([]Record, error) {
	where := []string{"workspace_id = $1", "connection_id = $2"}
	args := []any{f.WorkspaceID, f.ConnectionID}
	if f.Entity != "" {
		args = append(args, f.Entity)
		where = append(where, fmt.Sprintf("entity = $%d", len(args)))
	}
	if f.State != "" {
		args = append(args, f.State)
		where = append(where, fmt.Sprintf("state = $%d", len(args)))
	}
	if f.Keys != nil {
		marks := make([]string, len(f.Keys))
		for i, k := range f.Keys {
			args = append(args, k)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		if len(marks) == 0 {
			marks = []string{"NULL"}
		}
		where = append(where, "key IN ("+strings.Join(marks, ", ")+")")
	}
	if q := strings.TrimSpace(f.Search); q != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q))+"%")
		where = append(where, fmt.Sprintf(`(LOWER(key) LIKE $%[1]d ESCAPE '\' OR LOWER(fields) LIKE $%[1]d ESCAPE '\')`, len(args)))
	}
	if f.AfterEntity != "" || f.AfterKey != "" {
		args = append(args, f.AfterEntity, f.AfterKey)
		where = append(where, fmt.Sprintf("(entity > $%d OR (entity = $%d AND key > $%d))", len(args)-1, len(args)-1, len(args)))
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	recs, err := s.queryRecords(ctx, strings.Join(where, " AND "), args, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	return recs, nil
}

// GetRecord returns one mirrored record by entity and remote key; ErrNotFound when the
// connection (in that workspace) has none.
func (s *Store) GetRecord(ctx context.Context, workspaceID, connID int64, entity, key string) (Record, error) {
	recs, err := s.queryRecords(ctx, `workspace_id = $1 AND connection_id = $2 AND entity = $3 AND key = $4`,
		[]any{workspaceID, connID, entity, key}, 1)
	if err != nil {
		return Record{}, fmt.Errorf("get record %s/%s: %w", entity, key, err)
	}
	if len(recs) == 0 {
		return Record{}, ErrNotFound
	}
	return recs[0], nil
}

func (s *Store) queryRecords(ctx context.Context, where string, args []any, limit int) ([]Record, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT connection_id, entity, key, fields, hash, remote_updated_at, first_seen,
		last_seen, state, gone_at FROM records WHERE `+where+fmt.Sprintf(" ORDER BY entity, key LIMIT %d", limit), args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanRecord)
}

func scanRecord(row scanner) (Record, error) {
	var r Record
	var updated, gone sql.NullTime
	if err := row.Scan(&r.ConnectionID, &r.Entity, &r.Key, &r.Fields, &r.Hash, &updated, &r.FirstSeen, &r.LastSeen,
		&r.State, &gone); err != nil {
		return r, err
	}
	r.RemoteUpdatedAt, r.GoneAt = nullTime(updated), nullTime(gone)
	r.FirstSeen, r.LastSeen = r.FirstSeen.UTC(), r.LastSeen.UTC()
	return r, nil
}

// escapeLike makes s match literally inside a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountRecords counts a connection's records, by entity and state when given.
func (s *Store) CountRecords(ctx context.Context, connID int64, entity, state string) (int64, error) {
	q := `SELECT COUNT(*) FROM records WHERE connection_id = $1`
	args := []any{connID}
	if entity != "" {
		args = append(args, entity)
		q += fmt.Sprintf(" AND entity = $%d", len(args))
	}
	if state != "" {
		args = append(args, state)
		q += fmt.Sprintf(" AND state = $%d", len(args))
	}
	var n int64
	if err := s.read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count records: %w", err)
	}
	return n, nil
}

// MarkEntityGone marks every live record of an entity gone, for an entity the system no
// longer has, and counts them on the job. It returns how many went.
func (s *Store) MarkEntityGone(ctx context.Context, connID int64, entity string, jobID int64) (int64, error) {
	var gone int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE records SET state = 'gone', gone_at = $1
			WHERE connection_id = $2 AND entity = $3 AND state = 'live'`, now(), connID, entity)
		if err != nil {
			return err
		}
		gone, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `DELETE FROM sync_states WHERE connection_id = $1 AND entity = $2`, connID, entity); err != nil {
			return err
		}
		return addCounters(ctx, tx, jobID, Counters{Gone: gone})
	})
	if err != nil {
		return 0, fmt.Errorf("mark records of %s gone: %w", entity, err)
	}
	return gone, nil
}
