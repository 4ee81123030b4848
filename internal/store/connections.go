package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Connection states.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
)

// Health states, set by checks and syncs.
const (
	HealthUnknown = "unknown"
	HealthOK      = "ok"
	HealthFailing = "failing"
)

// Connection is a named instance of a driver in a workspace. Credentials stay sealed here;
// only the service that runs drivers opens them.
type Connection struct {
	ID                int64
	WorkspaceID       int64
	Name              string
	Driver            string
	Description       string
	Status            string
	CredentialsSealed string
	Settings          map[string]any
	Health            string
	HealthMessage     string
	CheckedAt         *time.Time
	LastSyncAt        *time.Time
	LastSyncJobID     *int64
	Schedule          string     // "" (manual only), an interval or a cron expression; see internal/schedule
	NextSyncAt        *time.Time // when the schedule next starts a sync; nil when it never does
	Scope             Scope      // who sees it besides admins
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

const connectionColumns = `id, workspace_id, name, driver, description, status, credentials_sealed, settings,
	health, health_message, checked_at, last_sync_at, last_sync_job_id, created_at, updated_at, schedule, next_sync_at, scope`

func scanConnection(row scanner) (Connection, error) {
	var c Connection
	var settings string
	var checked, lastSync, nextSync sql.NullTime
	var lastJob sql.NullInt64
	err := row.Scan(&c.ID, &c.WorkspaceID, &c.Name, &c.Driver, &c.Description, &c.Status, &c.CredentialsSealed,
		&settings, &c.Health, &c.HealthMessage, &checked, &lastSync, &lastJob, &c.CreatedAt, &c.UpdatedAt,
		&c.Schedule, &nextSync, &c.Scope.Mode)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(settings), &c.Settings); err != nil {
		return c, fmt.Errorf("connection %d settings: %w", c.ID, err)
	}
	c.CheckedAt, c.LastSyncAt, c.NextSyncAt = nullTime(checked), nullTime(lastSync), nullTime(nextSync)
	if lastJob.Valid {
		c.LastSyncJobID = &lastJob.Int64
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// CreateConnection stores a new, checked connection together with its first job, in one
// transaction: a connection never exists without the sync that mirrors it.
func (s *Store) CreateConnection(ctx context.Context, c *Connection, job *Job) error {
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return fmt.Errorf("create connection: %w", err)
	}
	t := now()
	c.CreatedAt, c.UpdatedAt, c.CheckedAt = t, t, &t
	c.Health = HealthOK
	c.NextSyncAt = dbTime(c.NextSyncAt)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO connections (workspace_id, name, driver, description, status,
			credentials_sealed, settings, health, checked_at, created_at, updated_at, schedule, next_sync_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			c.WorkspaceID, c.Name, c.Driver, c.Description, c.Status, c.CredentialsSealed, string(settings),
			c.Health, t, t, t, c.Schedule, c.NextSyncAt).Scan(&c.ID)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("connection name %q: %w", c.Name, ErrConflict)
			}
			return fmt.Errorf("create connection: %w", err)
		}
		if err := writeScope(ctx, tx, c.WorkspaceID, c.ID, c.Scope); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.WorkspaceID, "create", "connection", c.ID, c.Name, ""); err != nil {
			return err
		}
		job.ConnectionID = &c.ID
		return insertJob(ctx, tx, job)
	})
}

// UpdateConnection saves a changed name, description, credentials, settings and schedule,
// and, when job is not nil, inserts it in the same transaction. NextSyncAt is written only
// when the schedule changes, so an edit never undoes a run the scheduler claimed meanwhile.
func (s *Store) UpdateConnection(ctx context.Context, c *Connection, job *Job) error {
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return fmt.Errorf("update connection: %w", err)
	}
	c.UpdatedAt = now()
	c.NextSyncAt = dbTime(c.NextSyncAt)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// The status is not written: it changes only through SetConnectionStatus, so an edit
		// whose check took a while cannot undo a disable that happened meanwhile.
		res, err := tx.ExecContext(ctx, `UPDATE connections SET name = $1, description = $2, credentials_sealed = $3,
			settings = $4, updated_at = $5, schedule = $8,
			next_sync_at = CASE WHEN schedule = $8 THEN next_sync_at ELSE $9 END
			WHERE id = $6 AND workspace_id = $7`,
			c.Name, c.Description, c.CredentialsSealed, string(settings), c.UpdatedAt, c.ID, c.WorkspaceID,
			c.Schedule, c.NextSyncAt)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("connection name %q: %w", c.Name, ErrConflict)
			}
			return fmt.Errorf("update connection %d: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if err := writeScope(ctx, tx, c.WorkspaceID, c.ID, c.Scope); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.WorkspaceID, "update", "connection", c.ID, c.Name, ""); err != nil {
			return err
		}
		if job != nil {
			return insertJob(ctx, tx, job)
		}
		return nil
	})
}

// GetConnection returns one connection of the workspace.
func (s *Store) GetConnection(ctx context.Context, workspaceID, id int64) (Connection, error) {
	c, err := scanConnection(s.read.QueryRowContext(ctx, `SELECT `+connectionColumns+`
		FROM connections WHERE id = $1 AND workspace_id = $2`, id, workspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("get connection %d: %w", id, err)
	}
	list := []Connection{c}
	if err := s.fillScopes(ctx, workspaceID, list); err != nil {
		return c, err
	}
	return list[0], nil
}

// ListConnections returns all the workspace's connections by name.
func (s *Store) ListConnections(ctx context.Context, workspaceID int64) ([]Connection, error) {
	return s.ListVisibleConnections(ctx, Viewer{WorkspaceID: workspaceID, SeesAll: true})
}

// SetConnectionStatus enables or disables a connection and sets when its schedule next runs
// (nil: never, as for a disabled one); with job, the job is inserted in the same
// transaction (enabling starts a sync).
func (s *Store) SetConnectionStatus(ctx context.Context, workspaceID, id int64, status string, nextSync *time.Time, job *Job) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connections SET status = $1, updated_at = $2, next_sync_at = $5
			WHERE id = $3 AND workspace_id = $4`, status, now(), id, workspaceID, dbTime(nextSync))
		if err != nil {
			return fmt.Errorf("set status of connection %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		action := "disable"
		if status == StatusActive {
			action = "enable"
		}
		if err := s.auditConnection(ctx, tx, workspaceID, id, action); err != nil {
			return err
		}
		if job != nil {
			return insertJob(ctx, tx, job)
		}
		return nil
	})
}

// SetHealth records the outcome of a check or sync.
func (s *Store) SetHealth(ctx context.Context, id int64, health, message string) error {
	_, err := s.write.ExecContext(ctx, `UPDATE connections SET health = $1, health_message = $2, checked_at = $3
		WHERE id = $4`, health, message, now(), id)
	if err != nil {
		return fmt.Errorf("set health of connection %d: %w", id, err)
	}
	return nil
}

// SetLastSync records a finished sync.
func (s *Store) SetLastSync(ctx context.Context, id, jobID int64) error {
	_, err := s.write.ExecContext(ctx, `UPDATE connections SET last_sync_at = $1, last_sync_job_id = $2 WHERE id = $3`,
		now(), jobID, id)
	if err != nil {
		return fmt.Errorf("set last sync of connection %d: %w", id, err)
	}
	return nil
}

// PurgeConnection removes a connection and everything mirrored for it. Records go in
// batches so a connection with millions of them never holds one huge transaction; a purge
// killed midway simply runs again.
func (s *Store) PurgeConnection(ctx context.Context, id int64, progress func(deleted int64)) error {
	const batch = 5000
	var total int64
	for {
		var n int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM records WHERE connection_id = $1 AND (entity, key) IN
				(SELECT entity, key FROM records WHERE connection_id = $1 LIMIT `+fmt.Sprint(batch)+`)`, id)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return fmt.Errorf("purge records of connection %d: %w", id, err)
		}
		total += n
		if progress != nil {
			progress(total)
		}
		if n < batch {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM sync_states WHERE connection_id = $1`,
			`DELETE FROM catalogs WHERE connection_id = $1`,
			`DELETE FROM catalog_changes WHERE connection_id = $1`,
			`DELETE FROM connection_scope WHERE connection_id = $1`,
			`DELETE FROM connections WHERE id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("purge connection %d: %w", id, err)
			}
		}
		return nil
	})
}
