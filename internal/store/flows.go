package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Flow is a stored flow. Definition is the validated JSON of its mapping and rules
// (internal/flow owns its shape); the other fields are what queries select by.
type Flow struct {
	ID                 int64
	WorkspaceID        int64
	Name               string
	SourceConnectionID int64
	SourceEntity       string
	TargetConnectionID int64
	TargetEntity       string
	Trigger            string // automatic, schedule or manual
	Schedule           string
	NextRunAt          *time.Time
	Definition         string
	LastRunJobID       *int64
	LastRunAt          *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

const flowColumns = `id, workspace_id, name, source_connection_id, source_entity, target_connection_id, target_entity,
	trigger_kind, schedule, next_run_at, definition, last_run_job_id, last_run_at, created_at, updated_at`

func scanFlow(row scanner) (Flow, error) {
	var f Flow
	var next, lastAt sql.NullTime
	var lastJob sql.NullInt64
	err := row.Scan(&f.ID, &f.WorkspaceID, &f.Name, &f.SourceConnectionID, &f.SourceEntity, &f.TargetConnectionID,
		&f.TargetEntity, &f.Trigger, &f.Schedule, &next, &f.Definition, &lastJob, &lastAt, &f.CreatedAt, &f.UpdatedAt)
	if err != nil {
		return f, err
	}
	f.NextRunAt, f.LastRunAt = nullTime(next), nullTime(lastAt)
	if lastJob.Valid {
		f.LastRunJobID = &lastJob.Int64
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return f, nil
}

// CreateFlow stores a new flow. A name already used in the workspace is ErrConflict.
func (s *Store) CreateFlow(ctx context.Context, f *Flow) error {
	t := now()
	f.CreatedAt, f.UpdatedAt = t, t
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO flows (workspace_id, name, source_connection_id, source_entity,
			target_connection_id, target_entity, trigger_kind, schedule, next_run_at, definition, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			f.WorkspaceID, f.Name, f.SourceConnectionID, f.SourceEntity, f.TargetConnectionID, f.TargetEntity, f.Trigger,
			f.Schedule, dbTime(f.NextRunAt), f.Definition, t, t).Scan(&f.ID)
		if isUniqueViolation(err) {
			return ErrConflict
		}
		if err != nil {
			return fmt.Errorf("create flow %q: %w", f.Name, err)
		}
		return s.audit(ctx, tx, f.WorkspaceID, "create", "flow", f.ID, f.Name, "")
	})
}

// UpdateFlow replaces a flow's definition and the columns derived from it. The links it
// made stay: they say which target records the source records already became. Records
// the old condition left out are forgotten, so the next run judges them by the new one.
func (s *Store) UpdateFlow(ctx context.Context, f *Flow) error {
	f.UpdatedAt = now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE flows SET name = $1, source_connection_id = $2, source_entity = $3,
			target_connection_id = $4, target_entity = $5, trigger_kind = $6, schedule = $7, next_run_at = $8, definition = $9,
			updated_at = $10 WHERE id = $11 AND workspace_id = $12`,
			f.Name, f.SourceConnectionID, f.SourceEntity, f.TargetConnectionID, f.TargetEntity, f.Trigger, f.Schedule,
			dbTime(f.NextRunAt), f.Definition, f.UpdatedAt, f.ID, f.WorkspaceID)
		if isUniqueViolation(err) {
			return ErrConflict
		}
		if err != nil {
			return fmt.Errorf("update flow %d: %w", f.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM flow_links WHERE flow_id = $1 AND state = 'skipped'`, f.ID); err != nil {
			return fmt.Errorf("update flow %d: %w", f.ID, err)
		}
		return s.audit(ctx, tx, f.WorkspaceID, "update", "flow", f.ID, f.Name, "")
	})
}

// GetFlow returns one flow of the workspace.
func (s *Store) GetFlow(ctx context.Context, workspaceID, id int64) (Flow, error) {
	f, err := scanFlow(s.read.QueryRowContext(ctx, `SELECT `+flowColumns+` FROM flows WHERE id = $1 AND workspace_id = $2`,
		id, workspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	if err != nil {
		return f, fmt.Errorf("get flow %d: %w", id, err)
	}
	return f, nil
}

// ListFlows returns the workspace's flows by name.
func (s *Store) ListFlows(ctx context.Context, workspaceID int64) ([]Flow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+flowColumns+` FROM flows WHERE workspace_id = $1 ORDER BY name, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	return scanAll(rows, scanFlow)
}

// FlowsOfConnection lists the flows that read from or write to a connection, with the
// given trigger ("" for any).
func (s *Store) FlowsOfConnection(ctx context.Context, connID int64, trigger string) ([]Flow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+flowColumns+` FROM flows
		WHERE (source_connection_id = $1 OR target_connection_id = $1) AND ($2 = '' OR trigger_kind = $2) ORDER BY id`,
		connID, trigger)
	if err != nil {
		return nil, fmt.Errorf("list flows of connection %d: %w", connID, err)
	}
	return scanAll(rows, scanFlow)
}

// DeleteFlow removes a flow with its links and failed records. Its jobs stay, as history.
func (s *Store) DeleteFlow(ctx context.Context, workspaceID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM flows WHERE id = $1 AND workspace_id = $2`, id, workspaceID).Scan(&name); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("delete flow %d: %w", id, err)
		}
		if err := s.audit(ctx, tx, workspaceID, "delete", "flow", id, name, ""); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM flows WHERE id = $1 AND workspace_id = $2`, id, workspaceID)
		if err != nil {
			return fmt.Errorf("delete flow %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		for _, q := range []string{`DELETE FROM flow_links WHERE flow_id = $1`, `DELETE FROM flow_failures WHERE flow_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete flow %d: %w", id, err)
			}
		}
		return nil
	})
}

// CreateFlowJob stores a run of the flow. With unlessPending, a run of the flow that is
// still pending is returned instead (false): it has not started, so it will see whatever
// asked for this one.
func (s *Store) CreateFlowJob(ctx context.Context, f Flow, j *Job, unlessPending bool) (Job, bool, error) {
	var got Job
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		got, created, err = s.createFlowJobTx(ctx, tx, f, j, unlessPending)
		return err
	})
	if err != nil {
		return Job{}, false, fmt.Errorf("create run of flow %d: %w", f.ID, err)
	}
	return got, created, nil
}

func (s *Store) createFlowJobTx(ctx context.Context, tx *sql.Tx, f Flow, j *Job, unlessPending bool) (Job, bool, error) {
	j.WorkspaceID, j.Kind = f.WorkspaceID, KindFlow
	j.ConnectionID = &f.SourceConnectionID
	if unlessPending {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM flows WHERE id = $1 FOR UPDATE`, f.ID); err != nil {
				return Job{}, false, err
			}
		}
		e, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE flow_id = $1 AND state = 'pending'
			AND cancel_requested = FALSE ORDER BY id LIMIT 1`, f.ID))
		if err == nil {
			return e, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Job{}, false, err
		}
	}
	if err := insertJob(ctx, tx, j); err != nil {
		return Job{}, false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET flow_id = $1 WHERE id = $2`, f.ID, j.ID); err != nil {
		return Job{}, false, err
	}
	if err := s.audit(ctx, tx, f.WorkspaceID, "run", "flow", f.ID, f.Name, fmt.Sprintf("job %d", j.ID)); err != nil {
		return Job{}, false, err
	}
	return *j, true, nil
}

// ClaimFlowRun makes job the one run of the flow under way. It fails (false) while another
// job of the flow is running; a job that a dead worker left running counts as running
// until the runner hands it back. Runs of one flow never overlap, so two of them cannot
// both decide to create the same record.
func (s *Store) ClaimFlowRun(ctx context.Context, flowID, jobID int64) (bool, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE flows SET run_job_id = $1 WHERE id = $2 AND (run_job_id IS NULL
		OR run_job_id = $1 OR NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = flows.run_job_id AND jobs.state = 'running'))`,
		jobID, flowID)
	if err != nil {
		return false, fmt.Errorf("claim run of flow %d: %w", flowID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseFlowRun ends job's claim on the flow and remembers it as the flow's last run.
func (s *Store) ReleaseFlowRun(ctx context.Context, flowID, jobID int64) error {
	_, err := s.write.ExecContext(ctx, `UPDATE flows SET run_job_id = NULL, last_run_job_id = $1, last_run_at = $2
		WHERE id = $3 AND run_job_id = $1`, jobID, now(), flowID)
	if err != nil {
		return fmt.Errorf("release run of flow %d: %w", flowID, err)
	}
	return nil
}

// DueFlows lists scheduled flows, of every workspace, whose run is due at now.
func (s *Store) DueFlows(ctx context.Context, now time.Time) ([]Flow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+flowColumns+` FROM flows
		WHERE next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at, id LIMIT `+fmt.Sprint(dueBatch), dbTime(&now))
	if err != nil {
		return nil, fmt.Errorf("list due flows: %w", err)
	}
	return scanAll(rows, scanFlow)
}

// ClaimScheduledFlowRun takes the scheduled run of f due at expectedNext, as
// ClaimScheduledSync does for syncs: it moves next_run_at to newNext only if it is still
// expectedNext, and then stores job unless a run of the flow is pending.
func (s *Store) ClaimScheduledFlowRun(ctx context.Context, f Flow, expectedNext, newNext time.Time, j *Job) (bool, error) {
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE flows SET next_run_at = $1 WHERE id = $2 AND next_run_at = $3`,
			dbTime(&newNext), f.ID, dbTime(&expectedNext))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, created, err = s.createFlowJobTx(ctx, tx, f, j, true)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim scheduled run of flow %d: %w", f.ID, err)
	}
	return created, nil
}

// Link states.
const (
	LinkPending = "pending" // a write was sent; it may have landed
	LinkLinked  = "linked"
	LinkSkipped = "skipped" // the condition left the record out, at SourceHash
	LinkRemoved = "removed" // the source record went and the removal policy was applied
)

// Link is what a flow remembers about one source record.
type Link struct {
	FlowID           int64     `json:"-"`
	SourceKey        string    `json:"source_key"`
	TargetKey        string    `json:"target_key,omitempty"`
	State            string    `json:"state"`
	SourceHash       string    `json:"source_hash,omitempty"`
	TargetHash       string    `json:"target_hash,omitempty"` // the target mirror's hash write-back last looked at
	Written          string    `json:"-"`                     // JSON of the fields last written
	Reason           string    `json:"reason,omitempty"`
	ActionState      string    `json:"action_state,omitempty"`      // "", pending or done: the on-success action
	WritebackValue   string    `json:"writeback_value,omitempty"`   // JSON of what write-back last set
	WritebackPending string    `json:"writeback_pending,omitempty"` // JSON of a write-back sent but not confirmed
	JobID            *int64    `json:"job_id,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

const linkColumns = `flow_id, source_key, target_key, state, source_hash, target_hash, written, reason, action_state,
	writeback_value, writeback_pending, job_id, created_at, updated_at`

func scanLink(row scanner) (Link, error) {
	var l Link
	var job sql.NullInt64
	err := row.Scan(&l.FlowID, &l.SourceKey, &l.TargetKey, &l.State, &l.SourceHash, &l.TargetHash, &l.Written, &l.Reason,
		&l.ActionState, &l.WritebackValue, &l.WritebackPending, &job, &l.CreatedAt, &l.UpdatedAt)
	if job.Valid {
		l.JobID = &job.Int64
	}
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, err
}

// SaveLinks writes links in one transaction (insert or replace by flow and source key).
// The flow calls it with pending links before it writes to the target, so that a crash
// after the write leaves a trace of it.
func (s *Store) SaveLinks(ctx context.Context, links []Link) error {
	if len(links) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error { return saveLinksTx(ctx, tx, links) })
	if err != nil {
		return fmt.Errorf("save links: %w", err)
	}
	return nil
}

func saveLinksTx(ctx context.Context, tx *sql.Tx, links []Link) error {
	t := now()
	for _, l := range links {
		if l.Written == "" {
			l.Written = "{}"
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO flow_links (`+linkColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
			ON CONFLICT (flow_id, source_key) DO UPDATE SET target_key = excluded.target_key, state = excluded.state,
			source_hash = excluded.source_hash, target_hash = excluded.target_hash, written = excluded.written,
			reason = excluded.reason, action_state = excluded.action_state, writeback_value = excluded.writeback_value,
			writeback_pending = excluded.writeback_pending, job_id = excluded.job_id, updated_at = excluded.updated_at`,
			l.FlowID, l.SourceKey, l.TargetKey, l.State, l.SourceHash, l.TargetHash, l.Written, l.Reason, l.ActionState,
			l.WritebackValue, l.WritebackPending, l.JobID, t)
		if err != nil {
			return fmt.Errorf("link %s: %w", l.SourceKey, err)
		}
	}
	return nil
}

// Failure is a source record a flow could not write, and why.
type Failure struct {
	FlowID        int64     `json:"-"`
	SourceKey     string    `json:"source_key"`
	SourceHash    string    `json:"-"`
	Reason        string    `json:"reason"`
	Attempts      int64     `json:"attempts"`
	JobID         *int64    `json:"job_id,omitempty"`
	FirstFailedAt time.Time `json:"first_failed_at"`
	LastFailedAt  time.Time `json:"last_failed_at"`
}

// FlowBatch is what a flow run commits after writing a batch: the links as they now are,
// the failures, the keys that no longer fail, and the counters, in one transaction.
type FlowBatch struct {
	FlowID   int64
	JobID    int64
	Links    []Link
	Unlink   []string // source keys whose pending link is dropped: the write surely did not land
	Failures []Failure
	Cleared  []string // source keys written (or left out) this time: no longer failed
	Counters Counters
}

// CommitFlowBatch stores a batch's outcome.
func (s *Store) CommitFlowBatch(ctx context.Context, b FlowBatch) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := saveLinksTx(ctx, tx, b.Links); err != nil {
			return err
		}
		for _, k := range b.Unlink {
			if _, err := tx.ExecContext(ctx, `DELETE FROM flow_links WHERE flow_id = $1 AND source_key = $2 AND state = 'pending'`,
				b.FlowID, k); err != nil {
				return err
			}
		}
		for _, k := range b.Cleared {
			if _, err := tx.ExecContext(ctx, `DELETE FROM flow_failures WHERE flow_id = $1 AND source_key = $2`, b.FlowID, k); err != nil {
				return err
			}
		}
		t := now()
		for _, f := range b.Failures {
			if _, err := tx.ExecContext(ctx, `INSERT INTO flow_failures (flow_id, source_key, source_hash, reason, attempts,
				job_id, first_failed_at, last_failed_at) VALUES ($1, $2, $3, $4, 1, $5, $6, $6)
				ON CONFLICT (flow_id, source_key) DO UPDATE SET source_hash = excluded.source_hash, reason = excluded.reason,
				attempts = flow_failures.attempts + 1, job_id = excluded.job_id, last_failed_at = excluded.last_failed_at`,
				b.FlowID, f.SourceKey, f.SourceHash, f.Reason, b.JobID, t); err != nil {
				return fmt.Errorf("failure of %s: %w", f.SourceKey, err)
			}
		}
		return addFlowCounters(ctx, tx, b.JobID, b.Counters)
	})
	if err != nil {
		return fmt.Errorf("commit batch of flow %d: %w", b.FlowID, err)
	}
	return nil
}

func addFlowCounters(ctx context.Context, tx *sql.Tx, jobID int64, c Counters) error {
	if jobID == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE jobs SET read_count = read_count + $1, inserted_count = inserted_count + $2,
		updated_count = updated_count + $3, skipped_count = skipped_count + $4, failed_count = failed_count + $5,
		gone_count = gone_count + $6 WHERE id = $7`, c.Read, c.Inserted, c.Updated, c.Skipped, c.Failed, c.Gone, jobID)
	if err != nil {
		return fmt.Errorf("count progress of job %d: %w", jobID, err)
	}
	return nil
}

// Links returns a flow's links with the given keys (all states).
func (s *Store) Links(ctx context.Context, flowID int64, keys []string) (map[string]Link, error) {
	out := map[string]Link{}
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		args := []any{flowID}
		marks := make([]string, len(chunk))
		for i, k := range chunk {
			args = append(args, k)
			marks[i] = fmt.Sprintf("$%d", i+2)
		}
		rows, err := s.read.QueryContext(ctx, `SELECT `+linkColumns+` FROM flow_links WHERE flow_id = $1 AND source_key IN (`+
			strings.Join(marks, ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read links of flow %d: %w", flowID, err)
		}
		for rows.Next() {
			l, err := scanLink(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("read links of flow %d: %w", flowID, err)
			}
			out[l.SourceKey] = l
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LinkFilter narrows ListLinks; paging is by source key.
type LinkFilter struct {
	FlowID   int64
	State    string
	AfterKey string
	Limit    int
	// ActionPending keeps links whose on-success action was sent but not confirmed.
	ActionPending bool
	// NoTargetKey keeps links whose target key is not known yet (a target that makes its
	// own keys and did not report one).
	NoTargetKey bool
}

// ListLinks returns a page of a flow's links in source-key order.
func (s *Store) ListLinks(ctx context.Context, f LinkFilter) ([]Link, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := `SELECT ` + linkColumns + ` FROM flow_links WHERE flow_id = $1 AND source_key > $2 AND ($3 = '' OR state = $3)`
	if f.ActionPending {
		q += ` AND action_state = 'pending'`
	}
	if f.NoTargetKey {
		q += ` AND target_key = ''`
	}
	rows, err := s.read.QueryContext(ctx, q+fmt.Sprintf(` ORDER BY source_key LIMIT %d`, f.Limit), f.FlowID, f.AfterKey, f.State)
	if err != nil {
		return nil, fmt.Errorf("list links of flow %d: %w", f.FlowID, err)
	}
	out, err := scanAll(rows, scanLink)
	if err != nil {
		return nil, fmt.Errorf("list links of flow %d: %w", f.FlowID, err)
	}
	return out, nil
}

// ListFailures returns a flow's failed records in source-key order.
func (s *Store) ListFailures(ctx context.Context, flowID int64, afterKey string, limit int) ([]Failure, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.read.QueryContext(ctx, `SELECT flow_id, source_key, source_hash, reason, attempts, job_id, first_failed_at,
		last_failed_at FROM flow_failures WHERE flow_id = $1 AND source_key > $2 ORDER BY source_key LIMIT `+fmt.Sprint(limit),
		flowID, afterKey)
	if err != nil {
		return nil, fmt.Errorf("list failures of flow %d: %w", flowID, err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var f Failure
		var job sql.NullInt64
		if err := rows.Scan(&f.FlowID, &f.SourceKey, &f.SourceHash, &f.Reason, &f.Attempts, &job, &f.FirstFailedAt,
			&f.LastFailedAt); err != nil {
			return nil, fmt.Errorf("list failures of flow %d: %w", flowID, err)
		}
		if job.Valid {
			f.JobID = &job.Int64
		}
		f.FirstFailedAt, f.LastFailedAt = f.FirstFailedAt.UTC(), f.LastFailedAt.UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}

// Candidate is a source record a flow run looks at.
type Candidate struct {
	Key       string
	Fields    string // JSON object
	Hash      string
	State     string // live or gone
	UpdatedAt time.Time
}

// FlowCandidates returns, in key order after afterKey, the source records a run must look
// at: live records the flow has not handled at their current hash (no link, a pending
// link, or a link or skip made at another hash), unless they failed at that very hash
// (those wait for a retry); and gone records that are still linked. It reads the mirror
// only, so a run needs no call to the source system.
func (s *Store) FlowCandidates(ctx context.Context, f Flow, afterKey string, limit int) ([]Candidate, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT r.key, r.fields, r.hash, r.state, r.remote_updated_at, r.last_seen
		FROM records r
		LEFT JOIN flow_links l ON l.flow_id = $1 AND l.source_key = r.key
		LEFT JOIN flow_failures x ON x.flow_id = $1 AND x.source_key = r.key
		WHERE r.connection_id = $2 AND r.entity = $3 AND r.key > $4 AND (
			(r.state = 'live' AND (l.source_key IS NULL OR l.state = 'pending' OR l.source_hash <> r.hash)
				AND (x.source_key IS NULL OR x.source_hash <> r.hash))
			OR (r.state = 'gone' AND l.state IN ('linked', 'pending')))
		ORDER BY r.key LIMIT `+fmt.Sprint(limit), f.ID, f.SourceConnectionID, f.SourceEntity, afterKey)
	if err != nil {
		return nil, fmt.Errorf("find records for flow %d: %w", f.ID, err)
	}
	return scanAll(rows, scanCandidate)
}

func scanCandidate(row scanner) (Candidate, error) {
	var c Candidate
	var remote sql.NullTime
	if err := row.Scan(&c.Key, &c.Fields, &c.Hash, &c.State, &remote, &c.UpdatedAt); err != nil {
		return c, err
	}
	if remote.Valid { // when the system says it changed the record; else when the mirror saw it
		c.UpdatedAt = remote.Time
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}

// RecordsByKeys returns the mirrored records of an entity with the given keys, in key order.
func (s *Store) RecordsByKeys(ctx context.Context, connID int64, entity string, keys []string) ([]Candidate, error) {
	var out []Candidate
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		args := []any{connID, entity}
		marks := make([]string, len(chunk))
		for i, k := range chunk {
			args = append(args, k)
			marks[i] = fmt.Sprintf("$%d", i+3)
		}
		rows, err := s.read.QueryContext(ctx, `SELECT key, fields, hash, state, remote_updated_at, last_seen FROM records
			WHERE connection_id = $1 AND entity = $2 AND key IN (`+strings.Join(marks, ", ")+`) ORDER BY key`, args...)
		if err != nil {
			return nil, fmt.Errorf("read records of %s: %w", entity, err)
		}
		got, err := scanAll(rows, scanCandidate)
		if err != nil {
			return nil, fmt.Errorf("read records of %s: %w", entity, err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// RecordsByField returns the live mirrored records of an entity whose field (compared as
// text) is one of values, in key order: the lines of a batch of orders, say.
func (s *Store) RecordsByField(ctx context.Context, connID int64, entity, field string, values []string) ([]Candidate, error) {
	var out []Candidate
	expr := `CAST(json_extract(fields, $3) AS TEXT)`
	path := `$."` + strings.ReplaceAll(field, `"`, `\"`) + `"`
	if s.dialect == Postgres {
		expr, path = `(fields::jsonb ->> $3::text)`, field
	}
	for start := 0; start < len(values); start += 500 {
		chunk := values[start:min(start+500, len(values))]
		args := []any{connID, entity, path}
		marks := make([]string, len(chunk))
		for i, v := range chunk {
			args = append(args, v)
			marks[i] = fmt.Sprintf("$%d", i+4)
		}
		rows, err := s.read.QueryContext(ctx, `SELECT key, fields, hash, state, remote_updated_at, last_seen FROM records
			WHERE connection_id = $1 AND entity = $2 AND state = 'live' AND `+expr+` IN (`+strings.Join(marks, ", ")+`)
			ORDER BY key`, args...)
		if err != nil {
			return nil, fmt.Errorf("read %s by %s: %w", entity, field, err)
		}
		got, err := scanAll(rows, scanCandidate)
		if err != nil {
			return nil, fmt.Errorf("read %s by %s: %w", entity, field, err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// WritebackCandidate is a linked record whose target changed since write-back last looked.
type WritebackCandidate struct {
	Link   Link
	Fields string // the target record's JSON fields, from the mirror
	Hash   string
}

// WritebackCandidates returns, after afterKey, the flow's linked records whose target
// record in the mirror has changed since write-back last looked at it, or whose write-back
// was sent but not confirmed.
func (s *Store) WritebackCandidates(ctx context.Context, f Flow, afterKey string, limit int) ([]WritebackCandidate, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+prefixed("l.", linkColumns)+`, r.fields, r.hash FROM flow_links l
		JOIN records r ON r.connection_id = $2 AND r.entity = $3 AND r.key = l.target_key
		WHERE l.flow_id = $1 AND l.state = 'linked' AND l.source_key > $4 AND (l.target_hash <> r.hash OR l.writeback_pending <> '')
		ORDER BY l.source_key LIMIT `+fmt.Sprint(limit), f.ID, f.TargetConnectionID, f.TargetEntity, afterKey)
	if err != nil {
		return nil, fmt.Errorf("find write-backs of flow %d: %w", f.ID, err)
	}
	defer rows.Close()
	var out []WritebackCandidate
	for rows.Next() {
		var c WritebackCandidate
		var job sql.NullInt64
		l := &c.Link
		if err := rows.Scan(&l.FlowID, &l.SourceKey, &l.TargetKey, &l.State, &l.SourceHash, &l.TargetHash, &l.Written,
			&l.Reason, &l.ActionState, &l.WritebackValue, &l.WritebackPending, &job, &l.CreatedAt, &l.UpdatedAt,
			&c.Fields, &c.Hash); err != nil {
			return nil, fmt.Errorf("find write-backs of flow %d: %w", f.ID, err)
		}
		if job.Valid {
			l.JobID = &job.Int64
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// AddFlowCounters adds to a flow run's counters outside a batch.
func (s *Store) AddFlowCounters(ctx context.Context, jobID int64, c Counters) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return addFlowCounters(ctx, tx, jobID, c) })
}

// CountFailures returns how many of a flow's records are failed now, for the console's
// flows list.
func (s *Store) CountFailures(ctx context.Context, flowID int64) (int64, error) {
	var n int64
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM flow_failures WHERE flow_id = $1`, flowID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count failures of flow %d: %w", flowID, err)
	}
	return n, nil
}
