package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Connector is a remote connector registered by URL: in its workspace it is a driver named
// Name. Spec is the spec document it last served (JSON); AuthSealed the sealed value of the
// Authorization header Junction sends it, "" for none.
type Connector struct {
	ID          int64
	WorkspaceID int64
	Name        string
	URL         string
	AuthSealed  string
	Spec        string
	FetchedAt   time.Time
	CreatedAt   time.Time
}

const connectorColumns = `id, workspace_id, name, url, auth_sealed, spec, fetched_at, created_at`

func scanConnector(row scanner) (Connector, error) {
	var c Connector
	err := row.Scan(&c.ID, &c.WorkspaceID, &c.Name, &c.URL, &c.AuthSealed, &c.Spec, &c.FetchedAt, &c.CreatedAt)
	c.FetchedAt, c.CreatedAt = c.FetchedAt.UTC(), c.CreatedAt.UTC()
	return c, err
}

// CreateConnector registers a connector; a name taken in the workspace is ErrConflict.
func (s *Store) CreateConnector(ctx context.Context, c *Connector) error {
	t := now()
	c.FetchedAt, c.CreatedAt = t, t
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO connectors (workspace_id, name, url, auth_sealed, spec, fetched_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			c.WorkspaceID, c.Name, c.URL, c.AuthSealed, c.Spec, t, t).Scan(&c.ID)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("connector name %q: %w", c.Name, ErrConflict)
			}
			return fmt.Errorf("create connector: %w", err)
		}
		return s.audit(ctx, tx, c.WorkspaceID, "create", "connector", c.ID, c.Name, c.URL)
	})
}

// GetConnector returns the workspace's connector of that name.
func (s *Store) GetConnector(ctx context.Context, workspaceID int64, name string) (Connector, error) {
	c, err := scanConnector(s.read.QueryRowContext(ctx, `SELECT `+connectorColumns+`
		FROM connectors WHERE workspace_id = $1 AND name = $2`, workspaceID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("get connector %q: %w", name, err)
	}
	return c, nil
}

// ListConnectors returns the workspace's connectors by name.
func (s *Store) ListConnectors(ctx context.Context, workspaceID int64) ([]Connector, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+connectorColumns+`
		FROM connectors WHERE workspace_id = $1 ORDER BY name`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	out, err := scanAll(rows, scanConnector)
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	return out, nil
}

// UpdateConnectorSpec stores a freshly fetched spec document.
func (s *Store) UpdateConnectorSpec(ctx context.Context, workspaceID int64, name, spec string) (time.Time, error) {
	t := now()
	res, err := s.write.ExecContext(ctx, `UPDATE connectors SET spec = $1, fetched_at = $2 WHERE workspace_id = $3 AND name = $4`,
		spec, t, workspaceID, name)
	if err != nil {
		return t, fmt.Errorf("update connector %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return t, ErrNotFound
	}
	return t, nil
}

// DeleteConnector unregisters a connector. While any connection of the workspace uses it
// (including one still being purged) it is ErrConflict.
func (s *Store) DeleteConnector(ctx context.Context, workspaceID int64, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM connections WHERE workspace_id = $1 AND driver = $2`,
			workspaceID, name).Scan(&n); err != nil {
			return fmt.Errorf("delete connector %q: %w", name, err)
		}
		if n > 0 {
			return fmt.Errorf("connector %q is used by %d connection(s); delete them first: %w", name, n, ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM connectors WHERE workspace_id = $1 AND name = $2`, workspaceID, name)
		if err != nil {
			return fmt.Errorf("delete connector %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return s.audit(ctx, tx, workspaceID, "delete", "connector", 0, name, "")
	})
}
