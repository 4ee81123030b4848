package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Group is a named set of users of one workspace.
type Group struct {
	ID          int64
	WorkspaceID int64
	Name        string
	CreatedAt   time.Time
	Members     []int64 // user ids, ascending
}

// CreateGroup stores a group; ErrConflict when the workspace has one of that name.
func (s *Store) CreateGroup(ctx context.Context, workspaceID int64, name string) (Group, error) {
	g := Group{WorkspaceID: workspaceID, Name: name, CreatedAt: now(), Members: []int64{}}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO user_groups (workspace_id, name, created_at) VALUES ($1, $2, $3) RETURNING id`,
			workspaceID, name, g.CreatedAt).Scan(&g.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("create group: %w: a group named %q exists", ErrConflict, name)
		}
		if err != nil {
			return fmt.Errorf("create group %q: %w", name, err)
		}
		return s.audit(ctx, tx, workspaceID, "create", "group", g.ID, name, "")
	})
	if err != nil {
		return Group{}, err
	}
	return g, nil
}

// ListGroups lists a workspace's groups by name, with their members.
func (s *Store) ListGroups(ctx context.Context, workspaceID int64) ([]Group, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, workspace_id, name, created_at FROM user_groups
		WHERE workspace_id = $1 ORDER BY name`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	var out []Group
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.ID, &g.WorkspaceID, &g.Name, &g.CreatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list groups: %w", err)
		}
		g.CreatedAt, g.Members = g.CreatedAt.UTC(), []int64{}
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	byID := make(map[int64]*Group, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	mrows, err := s.read.QueryContext(ctx, `SELECT gm.group_id, gm.user_id FROM group_members gm
		JOIN user_groups g ON g.id = gm.group_id WHERE g.workspace_id = $1 ORDER BY gm.group_id, gm.user_id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var gid, uid int64
		if err := mrows.Scan(&gid, &uid); err != nil {
			return nil, fmt.Errorf("list group members: %w", err)
		}
		if g := byID[gid]; g != nil {
			g.Members = append(g.Members, uid)
		}
	}
	return out, mrows.Err()
}

// GetGroup finds a group of the workspace, with its members.
func (s *Store) GetGroup(ctx context.Context, workspaceID, id int64) (Group, error) {
	g := Group{Members: []int64{}}
	err := s.read.QueryRowContext(ctx, `SELECT id, workspace_id, name, created_at FROM user_groups
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id).Scan(&g.ID, &g.WorkspaceID, &g.Name, &g.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Group{}, ErrNotFound
	}
	if err != nil {
		return Group{}, fmt.Errorf("find group %d: %w", id, err)
	}
	g.CreatedAt = g.CreatedAt.UTC()
	rows, err := s.read.QueryContext(ctx, `SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id`, id)
	if err != nil {
		return Group{}, fmt.Errorf("find group %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid int64
		if err := rows.Scan(&uid); err != nil {
			return Group{}, fmt.Errorf("find group %d: %w", id, err)
		}
		g.Members = append(g.Members, uid)
	}
	return g, rows.Err()
}

// RenameGroup changes a group's name; ErrConflict when the name is taken.
func (s *Store) RenameGroup(ctx context.Context, workspaceID, id int64, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE user_groups SET name = $1 WHERE workspace_id = $2 AND id = $3`, name, workspaceID, id)
		if isUniqueViolation(err) {
			return fmt.Errorf("rename group: %w: a group named %q exists", ErrConflict, name)
		}
		if err != nil {
			return fmt.Errorf("rename group %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return s.audit(ctx, tx, workspaceID, "update", "group", id, name, "")
	})
}

// DeleteGroup removes a group and its memberships.
func (s *Store) DeleteGroup(ctx context.Context, workspaceID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id IN
			(SELECT id FROM user_groups WHERE workspace_id = $1 AND id = $2)`, workspaceID, id)
		if err != nil {
			return fmt.Errorf("delete group %d: %w", id, err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM connection_scope WHERE group_id IN
			(SELECT id FROM user_groups WHERE workspace_id = $1 AND id = $2)`, workspaceID, id)
		if err != nil {
			return fmt.Errorf("delete group %d: %w", id, err)
		}
		if err := s.audit(ctx, tx, workspaceID, "delete", "group", id, "", ""); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM user_groups WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
		if err != nil {
			return fmt.Errorf("delete group %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// AddGroupMember puts a member of the workspace into one of its groups (again is fine);
// ErrNotFound when the group or the membership does not exist.
func (s *Store) AddGroupMember(ctx context.Context, workspaceID, groupID, userID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_groups g JOIN memberships m ON m.workspace_id = g.workspace_id
			WHERE g.workspace_id = $1 AND g.id = $2 AND m.user_id = $3`, workspaceID, groupID, userID).Scan(&n)
		if err != nil {
			return fmt.Errorf("add group member: %w", err)
		}
		if n == 0 {
			return ErrNotFound
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2`,
			groupID, userID).Scan(&have); err != nil {
			return fmt.Errorf("add group member: %w", err)
		}
		if have > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, groupID, userID); err != nil {
			return fmt.Errorf("add group member: %w", err)
		}
		return s.audit(ctx, tx, workspaceID, "add member", "group", groupID, "", fmt.Sprintf("user %d", userID))
	})
}

// RemoveGroupMember takes a user out of a group; ErrNotFound when they were not in it.
func (s *Store) RemoveGroupMember(ctx context.Context, workspaceID, groupID, userID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE user_id = $1 AND group_id IN
			(SELECT id FROM user_groups WHERE workspace_id = $2 AND id = $3)`, userID, workspaceID, groupID)
		if err != nil {
			return fmt.Errorf("remove group member: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return s.audit(ctx, tx, workspaceID, "remove member", "group", groupID, "", fmt.Sprintf("user %d", userID))
	})
}
