package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Connection scopes: who in the workspace sees a connection.
const (
	ScopeEveryone   = "everyone"   // every member
	ScopeRestricted = "restricted" // the users and groups in Connection.Scope, and admins
)

// Scope says who sees a connection besides the workspace's admins and owners.
type Scope struct {
	Mode     string  // ScopeEveryone or ScopeRestricted
	UserIDs  []int64 // with ScopeRestricted: these users
	GroupIDs []int64 // with ScopeRestricted: the members of these groups
}

// Viewer is who looks at connections and what hangs off them (jobs, records, catalogs).
// A connection restricted to some users and groups is invisible to everyone else, as if
// it did not exist; admins and owners see them all.
type Viewer struct {
	WorkspaceID int64
	UserID      int64
	SeesAll     bool
}

// visibleCond is the SQL condition "the viewer may see connection <col>"; the viewer's
// user id is the argument $<arg>.
func visibleCond(col string, arg int) string {
	return fmt.Sprintf(`(EXISTS (SELECT 1 FROM connections vc WHERE vc.id = %[1]s AND vc.scope = 'everyone')
		OR EXISTS (SELECT 1 FROM connection_scope vs WHERE vs.connection_id = %[1]s AND (vs.user_id = $%[2]d
			OR vs.group_id IN (SELECT gm.group_id FROM group_members gm WHERE gm.user_id = $%[2]d))))`, col, arg)
}

// ListVisibleConnections returns the workspace's connections the viewer may see, by name.
func (s *Store) ListVisibleConnections(ctx context.Context, v Viewer) ([]Connection, error) {
	q := `SELECT ` + connectionColumns + ` FROM connections c WHERE workspace_id = $1`
	args := []any{v.WorkspaceID}
	if !v.SeesAll {
		q += ` AND ` + visibleCond("c.id", 2)
		args = append(args, v.UserID)
	}
	rows, err := s.read.QueryContext(ctx, q+` ORDER BY name, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	out, err := scanAll(rows, scanConnection)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	return out, s.fillScopes(ctx, v.WorkspaceID, out)
}

// GetVisibleConnection returns one connection the viewer may see; ErrNotFound otherwise.
func (s *Store) GetVisibleConnection(ctx context.Context, v Viewer, id int64) (Connection, error) {
	c, err := s.GetConnection(ctx, v.WorkspaceID, id)
	if err != nil {
		return c, err
	}
	ok, err := s.canSeeConnection(ctx, v, id)
	if err != nil {
		return c, err
	}
	if !ok {
		return Connection{}, ErrNotFound
	}
	list := []Connection{c}
	if err := s.fillScopes(ctx, v.WorkspaceID, list); err != nil {
		return c, err
	}
	return list[0], nil
}

// canSeeConnection says whether the viewer may see the connection (false for one of
// another workspace or none at all).
func (s *Store) canSeeConnection(ctx context.Context, v Viewer, id int64) (bool, error) {
	q := `SELECT COUNT(*) FROM connections c WHERE c.id = $1 AND c.workspace_id = $2`
	args := []any{id, v.WorkspaceID}
	if !v.SeesAll {
		q += ` AND ` + visibleCond("c.id", 3)
		args = append(args, v.UserID)
	}
	var n int
	if err := s.read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return false, fmt.Errorf("connection %d visible: %w", id, err)
	}
	return n > 0, nil
}

// fillScopes loads the users and groups of the restricted connections in list.
func (s *Store) fillScopes(ctx context.Context, workspaceID int64, list []Connection) error {
	at := map[int64]int{}
	for i, c := range list {
		if c.Scope.Mode == ScopeRestricted {
			at[c.ID] = i
		}
	}
	if len(at) == 0 {
		return nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT s.connection_id, s.user_id, s.group_id FROM connection_scope s
		JOIN connections c ON c.id = s.connection_id WHERE c.workspace_id = $1 AND c.scope = 'restricted'
		ORDER BY s.connection_id, s.user_id, s.group_id`, workspaceID)
	if err != nil {
		return fmt.Errorf("connection scopes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var conn int64
		var user, group sql.NullInt64
		if err := rows.Scan(&conn, &user, &group); err != nil {
			return fmt.Errorf("connection scopes: %w", err)
		}
		i, ok := at[conn]
		if !ok {
			continue
		}
		if user.Valid {
			list[i].Scope.UserIDs = append(list[i].Scope.UserIDs, user.Int64)
		}
		if group.Valid {
			list[i].Scope.GroupIDs = append(list[i].Scope.GroupIDs, group.Int64)
		}
	}
	return rows.Err()
}

// writeScope replaces a connection's scope inside the caller's transaction. Users must be
// members of the workspace and groups its own: ErrInvalidScope otherwise.
func writeScope(ctx context.Context, tx *sql.Tx, workspaceID, connID int64, sc Scope) error {
	if sc.Mode == "" {
		sc.Mode = ScopeEveryone
	}
	if sc.Mode != ScopeEveryone && sc.Mode != ScopeRestricted {
		return fmt.Errorf("%w: mode must be everyone or restricted", ErrInvalidScope)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE connections SET scope = $1 WHERE id = $2`, sc.Mode, connID); err != nil {
		return fmt.Errorf("set scope of connection %d: %w", connID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM connection_scope WHERE connection_id = $1`, connID); err != nil {
		return fmt.Errorf("set scope of connection %d: %w", connID, err)
	}
	if sc.Mode == ScopeEveryone {
		return nil
	}
	for _, u := range uniqueIDs(sc.UserIDs) {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND user_id = $2`,
			workspaceID, u).Scan(&n); err != nil {
			return fmt.Errorf("set scope of connection %d: %w", connID, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: user %d is not a member of this workspace", ErrInvalidScope, u)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO connection_scope (connection_id, user_id) VALUES ($1, $2)`, connID, u); err != nil {
			return fmt.Errorf("set scope of connection %d: %w", connID, err)
		}
	}
	for _, g := range uniqueIDs(sc.GroupIDs) {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_groups WHERE workspace_id = $1 AND id = $2`,
			workspaceID, g).Scan(&n); err != nil {
			return fmt.Errorf("set scope of connection %d: %w", connID, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: group %d is not a group of this workspace", ErrInvalidScope, g)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO connection_scope (connection_id, group_id) VALUES ($1, $2)`, connID, g); err != nil {
			return fmt.Errorf("set scope of connection %d: %w", connID, err)
		}
	}
	return nil
}

// ErrInvalidScope means a scope names a user or group outside the workspace.
var ErrInvalidScope = errors.New("invalid scope")

func uniqueIDs(ids []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// jobVisibleCond is the SQL condition "the viewer may see job row jobs": a job of no
// connection, or of one the viewer may see; a flow run also needs its target visible.
// The viewer's user id is the argument $<arg>.
func jobVisibleCond(arg int) string {
	return `(jobs.connection_id IS NULL OR (` + visibleCond("jobs.connection_id", arg) + ` AND (jobs.flow_id IS NULL OR
		EXISTS (SELECT 1 FROM flows vf WHERE vf.id = jobs.flow_id AND ` + visibleCond("vf.target_connection_id", arg) + `))))`
}

// GetVisibleJob returns a job of the viewer's workspace the viewer may see; ErrNotFound
// otherwise. Admins see every job, those of deleted connections too.
func (s *Store) GetVisibleJob(ctx context.Context, v Viewer, id int64) (Job, error) {
	j, err := s.GetJob(ctx, v.WorkspaceID, id)
	if err != nil || v.SeesAll {
		return j, err
	}
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE id = $1 AND `+jobVisibleCond(2), id, v.UserID).Scan(&n); err != nil {
		return Job{}, fmt.Errorf("job %d visible: %w", id, err)
	}
	if n == 0 {
		return Job{}, ErrNotFound
	}
	return j, nil
}
