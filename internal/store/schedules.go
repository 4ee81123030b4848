package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// dueBatch bounds one DueConnections answer; the scheduler asks again on its next tick.
const dueBatch = 100

// dbTime is how a scheduled time is stored: UTC, microseconds (what PostgreSQL keeps), like
// now(). ClaimScheduledSync compares the stored value for equality, which only works when
// what was written is exactly what is read back; on SQLite the time is kept as text, and
// UTC with one precision also makes the text order the time order.
func dbTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// DueConnections lists active connections, of every workspace, whose scheduled sync is
// due at now, the most overdue first, at most dueBatch of them.
func (s *Store) DueConnections(ctx context.Context, now time.Time) ([]Connection, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+connectionColumns+` FROM connections
		WHERE status = 'active' AND next_sync_at IS NOT NULL AND next_sync_at <= $1
		ORDER BY next_sync_at, id LIMIT `+fmt.Sprint(dueBatch), dbTime(&now))
	if err != nil {
		return nil, fmt.Errorf("list due connections: %w", err)
	}
	out, err := scanAll(rows, scanConnection)
	if err != nil {
		return nil, fmt.Errorf("list due connections: %w", err)
	}
	return out, nil
}

// ClaimScheduledSync takes the scheduled run of conn that was due at expectedNext: in one
// transaction it moves next_sync_at to newNext, but only if it still is expectedNext and
// the connection is still active, then stores job as its sync unless one is pending or
// running already. When several nodes race for the same run, exactly one moves
// next_sync_at; the others change nothing. It reports whether it stored job, which the
// caller then hands to the runner. A won claim with a sync already under way stores no
// job: that run is skipped, not queued behind the running one.
func (s *Store) ClaimScheduledSync(ctx context.Context, conn Connection, expectedNext, newNext time.Time, job *Job) (bool, error) {
	job.WorkspaceID, job.ConnectionID = conn.WorkspaceID, &conn.ID
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connections SET next_sync_at = $1
			WHERE id = $2 AND status = 'active' AND next_sync_at = $3`, dbTime(&newNext), conn.ID, dbTime(&expectedNext))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // another node claimed it, or the schedule changed meanwhile
		}
		_, created, err = s.createJobUnlessActiveTx(ctx, tx, job)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim scheduled sync of connection %d: %w", conn.ID, err)
	}
	return created, nil
}
