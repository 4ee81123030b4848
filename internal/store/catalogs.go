package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CatalogChange is one dated difference between two discoveries of a connection's catalog.
type CatalogChange struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	JobID  *int64    `json:"job_id,omitempty"`
	Kind   string    `json:"kind"`
	Entity string    `json:"entity,omitempty"`
	Name   string    `json:"name,omitempty"` // the attribute, attribute set or value list
	Detail string    `json:"detail,omitempty"`
}

// SaveCatalog replaces a connection's catalog (a JSON document) and records what changed
// since the last one, in one transaction.
func (s *Store) SaveCatalog(ctx context.Context, workspaceID, connID int64, catalog []byte, changes []CatalogChange, jobID int64) error {
	t := now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO catalogs (connection_id, workspace_id, catalog, discovered_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (connection_id) DO UPDATE SET catalog = excluded.catalog,
			discovered_at = excluded.discovered_at`, connID, workspaceID, string(catalog), t); err != nil {
			return err
		}
		for _, c := range changes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO catalog_changes (workspace_id, connection_id, job_id, at, kind,
				entity, name, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				workspaceID, connID, jobID, t, c.Kind, c.Entity, c.Name, c.Detail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save catalog of connection %d: %w", connID, err)
	}
	return nil
}

// CatalogChanges lists a connection's catalog changes, newest first, before the given id.
func (s *Store) CatalogChanges(ctx context.Context, workspaceID, connID, beforeID int64, limit int) ([]CatalogChange, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if beforeID <= 0 {
		beforeID = 1 << 62
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, at, job_id, kind, entity, name, detail FROM catalog_changes
		WHERE workspace_id = $1 AND connection_id = $2 AND id < $3 ORDER BY id DESC LIMIT `+fmt.Sprint(limit),
		workspaceID, connID, beforeID)
	if err != nil {
		return nil, fmt.Errorf("list catalog changes: %w", err)
	}
	defer rows.Close()
	var out []CatalogChange
	for rows.Next() {
		var c CatalogChange
		var job sql.NullInt64
		if err := rows.Scan(&c.ID, &c.At, &job, &c.Kind, &c.Entity, &c.Name, &c.Detail); err != nil {
			return nil, fmt.Errorf("list catalog changes: %w", err)
		}
		c.At = c.At.UTC()
		if job.Valid {
			c.JobID = &job.Int64
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetCatalog returns a connection's catalog document and when it was discovered.
func (s *Store) GetCatalog(ctx context.Context, workspaceID, connID int64) ([]byte, time.Time, error) {
	var doc string
	var at time.Time
	err := s.read.QueryRowContext(ctx, `SELECT catalog, discovered_at FROM catalogs WHERE connection_id = $1 AND workspace_id = $2`,
		connID, workspaceID).Scan(&doc, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("get catalog of connection %d: %w", connID, err)
	}
	return []byte(doc), at.UTC(), nil
}
