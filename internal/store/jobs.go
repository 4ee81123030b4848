package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Job kinds.
const (
	KindCheck = "check"
	KindSync  = "sync"
	KindPurge = "purge"
	KindFlow  = "flow"
)

// Job states, as the Processes view shows them.
const (
	JobPending   = "pending"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// Job is a durable unit of work. River runs it; this row is what people see.
type Job struct {
	ID              int64
	WorkspaceID     int64
	ConnectionID    *int64
	FlowID          *int64 // the flow a flow run belongs to
	Kind            string
	State           string
	Params          string // JSON; sealed where it holds credentials
	Attempts        int
	MaxAttempts     int
	Counters        Counters
	Error           string
	Result          string // JSON outcome, for jobs that answer something (a check)
	RiverID         *int64
	Node            string
	CancelRequested bool
	CreatedAt       time.Time
	StartedAt       *time.Time
	HeartbeatAt     *time.Time
	FinishedAt      *time.Time
}

// Counters are a job's progress.
type Counters struct {
	Read      int64 `json:"read"`
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Gone      int64 `json:"gone"`
	// A flow run counts the records it considered in Read, those it created in Inserted
	// and updated in Updated, and these two:
	Skipped int64 `json:"skipped"`
	Failed  int64 `json:"failed"`
}

// Written is what a page changed in the mirror.
func (c Counters) Written() int64 { return c.Inserted + c.Updated }

// Finished reports whether the job has reached a final state.
func (j Job) Finished() bool {
	return j.State == JobSucceeded || j.State == JobFailed || j.State == JobCancelled
}

const jobColumns = `id, workspace_id, connection_id, kind, state, params, attempts, max_attempts,
	read_count, inserted_count, updated_count, unchanged_count, gone_count, skipped_count, failed_count, error, result, river_id, node,
	cancel_requested, created_at, started_at, heartbeat_at, finished_at, flow_id`

func scanJob(row scanner) (Job, error) {
	var j Job
	var conn, river, flow sql.NullInt64
	var started, heartbeat, finished sql.NullTime
	err := row.Scan(&j.ID, &j.WorkspaceID, &conn, &j.Kind, &j.State, &j.Params, &j.Attempts, &j.MaxAttempts,
		&j.Counters.Read, &j.Counters.Inserted, &j.Counters.Updated, &j.Counters.Unchanged, &j.Counters.Gone,
		&j.Counters.Skipped, &j.Counters.Failed,
		&j.Error, &j.Result, &river, &j.Node, &j.CancelRequested, &j.CreatedAt, &started, &heartbeat, &finished, &flow)
	if err != nil {
		return j, err
	}
	if conn.Valid {
		j.ConnectionID = &conn.Int64
	}
	if river.Valid {
		j.RiverID = &river.Int64
	}
	if flow.Valid {
		j.FlowID = &flow.Int64
	}
	j.CreatedAt = j.CreatedAt.UTC()
	j.StartedAt, j.HeartbeatAt, j.FinishedAt = nullTime(started), nullTime(heartbeat), nullTime(finished)
	return j, nil
}

func insertJob(ctx context.Context, tx *sql.Tx, j *Job) error {
	j.State, j.CreatedAt = JobPending, now()
	if j.Params == "" {
		j.Params = "{}"
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO jobs (workspace_id, connection_id, kind, state, params, max_attempts, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		j.WorkspaceID, j.ConnectionID, j.Kind, j.State, j.Params, j.MaxAttempts, j.CreatedAt).Scan(&j.ID)
	if err != nil {
		return fmt.Errorf("insert %s job: %w", j.Kind, err)
	}
	return nil
}

// CreateJob stores a pending job.
func (s *Store) CreateJob(ctx context.Context, j *Job) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return insertJob(ctx, tx, j) })
}

// CreateJobUnlessActive stores a pending job of the kind for the connection unless one is
// pending or running already; then it returns that one and false.
func (s *Store) CreateJobUnlessActive(ctx context.Context, j *Job) (Job, bool, error) {
	var got Job
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		got, created, err = s.createJobUnlessActiveTx(ctx, tx, j)
		return err
	})
	if err != nil {
		return Job{}, false, fmt.Errorf("create %s job: %w", j.Kind, err)
	}
	return got, created, nil
}

// auditedAction names the audited action that starting a job of the kind is: a sync, or
// the deletion of a connection; "" for jobs nobody needs to answer for (checks).
func auditedAction(kind string) string {
	switch kind {
	case KindSync:
		return "sync"
	case KindPurge:
		return "delete"
	}
	return ""
}

// createJobUnlessActiveTx is CreateJobUnlessActive inside the caller's transaction. On
// PostgreSQL it first locks the connection's row, so that two nodes asking at the same
// moment cannot both find no active job and both insert one; SQLite has a single writer,
// so its write transactions never overlap.
func (s *Store) createJobUnlessActiveTx(ctx context.Context, tx *sql.Tx, j *Job) (Job, bool, error) {
	if s.dialect == Postgres && j.ConnectionID != nil {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM connections WHERE id = $1 FOR UPDATE`, *j.ConnectionID); err != nil {
			return Job{}, false, fmt.Errorf("lock connection %d: %w", *j.ConnectionID, err)
		}
	}
	e, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE connection_id = $1 AND kind = $2 AND state IN ('pending', 'running') ORDER BY id LIMIT 1`,
		j.ConnectionID, j.Kind))
	if err == nil {
		return e, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Job{}, false, err
	}
	if err := insertJob(ctx, tx, j); err != nil {
		return Job{}, false, err
	}
	if action := auditedAction(j.Kind); action != "" && j.ConnectionID != nil {
		if err := s.auditConnection(ctx, tx, j.WorkspaceID, *j.ConnectionID, action); err != nil {
			return Job{}, false, err
		}
	}
	return *j, true, nil
}

// GetJob returns one job of the workspace.
func (s *Store) GetJob(ctx context.Context, workspaceID, id int64) (Job, error) {
	j, err := scanJob(s.read.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1 AND workspace_id = $2`,
		id, workspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("get job %d: %w", id, err)
	}
	return j, nil
}

// JobByID returns a job whatever its workspace; only workers use it.
func (s *Store) JobByID(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(s.write.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("get job %d: %w", id, err)
	}
	return j, nil
}

// JobFilter narrows ListJobs. Zero values match everything.
type JobFilter struct {
	WorkspaceID  int64
	ConnectionID int64
	State        string
	Kind         string
	BeforeID     int64 // keyset paging, newest first
	Limit        int
	// Viewer, when set, leaves out the jobs of connections it may not see.
	Viewer *Viewer
}

// ListJobs returns jobs newest first.
func (s *Store) ListJobs(ctx context.Context, f JobFilter) ([]Job, error) {
	where := []string{"workspace_id = $1"}
	args := []any{f.WorkspaceID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.ConnectionID != 0 {
		add("connection_id = $%d", f.ConnectionID)
	}
	if f.State != "" {
		add("state = $%d", f.State)
	}
	if f.Kind != "" {
		add("kind = $%d", f.Kind)
	}
	if f.BeforeID != 0 {
		add("id < $%d", f.BeforeID)
	}
	if f.Viewer != nil && !f.Viewer.SeesAll {
		args = append(args, f.Viewer.UserID)
		where = append(where, jobVisibleCond(len(args)))
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return scanAll(rows, scanJob)
}

// UnqueuedJobs lists pending jobs that were stored but never handed to River (the process
// stopped between the two), older than the given age.
func (s *Store) UnqueuedJobs(ctx context.Context, olderThan time.Duration) ([]Job, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE state = 'pending' AND river_id IS NULL AND created_at < $1 ORDER BY id LIMIT 100`, now().Add(-olderThan))
	if err != nil {
		return nil, fmt.Errorf("list unqueued jobs: %w", err)
	}
	return scanAll(rows, scanJob)
}

// SetJobRiverID remembers the River job that runs this job.
func (s *Store) SetJobRiverID(ctx context.Context, id, riverID int64) error {
	_, err := s.write.ExecContext(ctx, `UPDATE jobs SET river_id = $1 WHERE id = $2`, riverID, id)
	return err
}

// StartJob marks a job running on node for the given attempt. It returns false when the job
// has already finished (a duplicate delivery), which the worker then skips.
func (s *Store) StartJob(ctx context.Context, id int64, attempt int, node string) (bool, error) {
	t := now()
	res, err := s.write.ExecContext(ctx, `UPDATE jobs SET state = 'running', attempts = $1, node = $2,
		started_at = COALESCE(started_at, $3), heartbeat_at = $3, error = ''
		WHERE id = $4 AND state IN ('pending', 'running')`, attempt, node, t, id)
	if err != nil {
		return false, fmt.Errorf("start job %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishJob moves a job to a final state, or back to pending when it will be retried. A
// finished job keeps the node that ran it last; a pending one has none.
func (s *Store) FinishJob(ctx context.Context, id int64, state, errMsg string) error {
	var finished *time.Time
	if state != JobPending {
		t := now()
		finished = &t
	}
	_, err := s.write.ExecContext(ctx, `UPDATE jobs SET state = $1, error = $2, finished_at = $3,
		node = CASE WHEN $1 = 'pending' THEN '' ELSE node END WHERE id = $4`, state, errMsg, finished, id)
	if err != nil {
		return fmt.Errorf("finish job %d: %w", id, err)
	}
	return nil
}

// SetJobResult stores a job's JSON outcome.
func (s *Store) SetJobResult(ctx context.Context, id int64, result []byte) error {
	_, err := s.write.ExecContext(ctx, `UPDATE jobs SET result = $1 WHERE id = $2`, string(result), id)
	if err != nil {
		return fmt.Errorf("set result of job %d: %w", id, err)
	}
	return nil
}

// Heartbeat proves the job's worker is alive and tells it whether to stop.
func (s *Store) Heartbeat(ctx context.Context, id int64) (cancelRequested bool, err error) {
	err = s.write.QueryRowContext(ctx, `UPDATE jobs SET heartbeat_at = $1 WHERE id = $2 RETURNING cancel_requested`,
		now(), id).Scan(&cancelRequested)
	if err != nil {
		return false, fmt.Errorf("heartbeat job %d: %w", id, err)
	}
	return cancelRequested, nil
}

// RequestCancel flags a job to stop. A pending job is cancelled at once; a running one
// stops at its next heartbeat. It returns the job as it now is.
func (s *Store) RequestCancel(ctx context.Context, workspaceID, id int64) (Job, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET cancel_requested = TRUE WHERE id = $1 AND workspace_id = $2`, id, workspaceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'cancelled', finished_at = $1 WHERE id = $2 AND state = 'pending'`, now(), id)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Job{}, err
		}
		return Job{}, fmt.Errorf("cancel job %d: %w", id, err)
	}
	return s.GetJob(ctx, workspaceID, id)
}

// CancelConnectionJobs flags every pending or running job of a connection to stop.
func (s *Store) CancelConnectionJobs(ctx context.Context, connectionID int64, kind string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET cancel_requested = TRUE
			WHERE connection_id = $1 AND kind = $2 AND state IN ('pending', 'running')`, connectionID, kind); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'cancelled', finished_at = $1
			WHERE connection_id = $2 AND kind = $3 AND state = 'pending'`, now(), connectionID, kind)
		return err
	})
}

// LostJobs lists running jobs whose worker stopped sending heartbeats before the cutoff.
func (s *Store) LostJobs(ctx context.Context, heartbeatBefore time.Time) ([]Job, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < $1) ORDER BY id`, heartbeatBefore)
	if err != nil {
		return nil, fmt.Errorf("list lost jobs: %w", err)
	}
	return scanAll(rows, scanJob)
}

// RequeueLostJob hands a job whose worker died back to River, so a live worker picks it up
// and resumes from the last checkpoint. River alone would only rescue it after its long
// stuck-job timeout, which a sync of hours cannot use.
func (s *Store) RequeueLostJob(ctx context.Context, j Job, heartbeatBefore time.Time) (bool, error) {
	requeued := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// A worker that died is not the job's fault: the attempt it used is given back, so a
		// job whose node was killed several times still has its retries for real errors.
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'pending', node = '', max_attempts = max_attempts + 1
			WHERE id = $1 AND state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < $2)`, j.ID, heartbeatBefore)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // it came back to life, or another node got there first
		}
		requeued = true
		if j.RiverID == nil {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = `+s.riverNow()+`,
			max_attempts = max_attempts + 1 WHERE id = $1 AND state = 'running'`, *j.RiverID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("requeue job %d: %w", j.ID, err)
	}
	return requeued, nil
}

// StrandedJobs lists pending jobs whose River job a worker took before the cutoff but never
// marked running: its process died between River's fetch and StartJob, or between storing
// a retry and River recording it. They never sent a heartbeat, so LostJobs does not see
// them, and River would leave them running until its stuck-job timeout of days. Only the
// runner calls it: it needs River's tables.
func (s *Store) StrandedJobs(ctx context.Context, fetchedBefore time.Time) ([]Job, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE state = 'pending' AND river_id IN
		(SELECT id FROM river_job WHERE state = 'running' AND attempted_at < $1) ORDER BY id`, s.riverTime(fetchedBefore))
	if err != nil {
		return nil, fmt.Errorf("list stranded jobs: %w", err)
	}
	return scanAll(rows, scanJob)
}

// RequeueStrandedJob makes a stranded job's River job available again, unless a worker
// started the job meanwhile or another node got there first.
func (s *Store) RequeueStrandedJob(ctx context.Context, j Job, fetchedBefore time.Time) (bool, error) {
	if j.RiverID == nil {
		return false, nil
	}
	// As for a lost job, the attempt the dead worker used is given back.
	requeued := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = `+s.riverNow()+`,
			max_attempts = max_attempts + 1 WHERE id = $1 AND state = 'running' AND attempted_at < $2
			AND EXISTS (SELECT 1 FROM jobs WHERE jobs.id = $3 AND jobs.state = 'pending')`,
			*j.RiverID, s.riverTime(fetchedBefore), j.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		requeued = true
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET max_attempts = max_attempts + 1 WHERE id = $1`, j.ID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("requeue stranded job %d: %w", j.ID, err)
	}
	return requeued, nil
}

// riverNow is the SQL for "now" in the form River stores it.
func (s *Store) riverNow() string {
	if s.dialect == SQLite {
		return "datetime('now', 'subsec')"
	}
	return "now()"
}

// riverTime is t as River stores times: timestamptz on PostgreSQL, and on SQLite text in
// the one format that compares correctly.
func (s *Store) riverTime(t time.Time) any {
	if s.dialect == SQLite {
		return t.UTC().Format("2006-01-02 15:04:05.000")
	}
	return t
}

// LogLine is one line of a job's log.
type LogLine struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
}

// AppendJobLog adds a line to a job's log. Callers scrub secrets first.
func (s *Store) AppendJobLog(ctx context.Context, jobID int64, level, message string) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO job_logs (job_id, at, level, message) VALUES ($1, $2, $3, $4)`,
		jobID, now(), level, message)
	if err != nil {
		return fmt.Errorf("log job %d: %w", jobID, err)
	}
	return nil
}

// JobLog returns a job's log lines after the given id, oldest first.
func (s *Store) JobLog(ctx context.Context, jobID, afterID int64, limit int) ([]LogLine, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, at, level, message FROM job_logs WHERE job_id = $1 AND id > $2
		ORDER BY id LIMIT `+fmt.Sprint(limit), jobID, afterID)
	if err != nil {
		return nil, fmt.Errorf("read log of job %d: %w", jobID, err)
	}
	defer rows.Close()
	var out []LogLine
	for rows.Next() {
		var l LogLine
		if err := rows.Scan(&l.ID, &l.At, &l.Level, &l.Message); err != nil {
			return nil, err
		}
		l.At = l.At.UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}

// JobStateCounts counts jobs by state across all workspaces, for /metrics.
func (s *Store) JobStateCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT state, COUNT(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}
