package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a console login: a person in one workspace until it expires or they log out.
// The store knows only a hash of the session id the browser holds.
type Session struct {
	IDHash      string
	UserID      int64
	WorkspaceID int64
	CSRFToken   string // sent back with every console form
	CreatedAt   time.Time
	ExpiresAt   time.Time
	LastSeenAt  time.Time
}

const sessionColumns = `id_hash, user_id, workspace_id, csrf_token, created_at, expires_at, last_seen_at`

// CreateSession stores a new session; CreatedAt and LastSeenAt are set to now.
func (s *Store) CreateSession(ctx context.Context, se *Session) error {
	se.CreatedAt = now()
	se.LastSeenAt = se.CreatedAt
	se.ExpiresAt = se.ExpiresAt.UTC().Truncate(time.Microsecond)
	_, err := s.write.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		se.IDHash, se.UserID, se.WorkspaceID, se.CSRFToken, se.CreatedAt, se.ExpiresAt, se.LastSeenAt)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash finds a session that has not expired; an expired one is deleted and
// answers ErrNotFound, like one that never existed.
func (s *Store) SessionByHash(ctx context.Context, idHash string) (Session, error) {
	var se Session
	err := s.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = $1`, idHash).
		Scan(&se.IDHash, &se.UserID, &se.WorkspaceID, &se.CSRFToken, &se.CreatedAt, &se.ExpiresAt, &se.LastSeenAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("find session: %w", err)
	}
	se.CreatedAt, se.ExpiresAt, se.LastSeenAt = se.CreatedAt.UTC(), se.ExpiresAt.UTC(), se.LastSeenAt.UTC()
	if !se.ExpiresAt.After(time.Now()) {
		if err := s.DeleteSession(ctx, idHash); err != nil {
			return Session{}, err
		}
		return Session{}, ErrNotFound
	}
	return se, nil
}

// TouchSession records that the session was used now.
func (s *Store) TouchSession(ctx context.Context, idHash string) error {
	if _, err := s.write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2`, now(), idHash); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// SetSessionWorkspace moves a session to another workspace; the caller has checked that
// its user is a member there.
func (s *Store) SetSessionWorkspace(ctx context.Context, idHash string, workspaceID int64) error {
	res, err := s.write.ExecContext(ctx, `UPDATE sessions SET workspace_id = $1 WHERE id_hash = $2`, workspaceID, idHash)
	if err != nil {
		return fmt.Errorf("switch session workspace: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteSession ends a session (logout). Deleting one that is gone already is no error.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes every session that expired before now and returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
