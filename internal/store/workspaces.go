package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Workspace is a tenant; everything else belongs to one.
type Workspace struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an API token; only its hash is stored.
type Token struct {
	ID          int64
	WorkspaceID int64
	Name        string
	Role        string
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
}

// EnsureWorkspace returns the workspace with the given name, creating it if needed.
func (s *Store) EnsureWorkspace(ctx context.Context, name string) (Workspace, error) {
	w := Workspace{Name: name}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM workspaces WHERE name = $1`, name).Scan(&w.ID, &w.CreatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			w.CreatedAt = now()
			return tx.QueryRowContext(ctx, `INSERT INTO workspaces (name, created_at) VALUES ($1, $2) RETURNING id`,
				name, w.CreatedAt).Scan(&w.ID)
		}
		return err
	})
	if err != nil {
		return Workspace{}, fmt.Errorf("ensure workspace %q: %w", name, err)
	}
	return w, nil
}

// CountTokens says how many tokens exist, so the first start can bootstrap an admin.
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_tokens`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

// CreateToken stores a token by its hash.
func (s *Store) CreateToken(ctx context.Context, workspaceID int64, name, hash, role string, expires *time.Time) (Token, error) {
	t := Token{WorkspaceID: workspaceID, Name: name, Role: role, ExpiresAt: expires}
	err := s.write.QueryRowContext(ctx, `INSERT INTO api_tokens (workspace_id, name, token_hash, role, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, workspaceID, name, hash, role, now(), expires).Scan(&t.ID)
	if err != nil {
		return Token{}, fmt.Errorf("create token: %w", err)
	}
	return t, nil
}

// TokenByHash finds a token that is neither revoked nor expired.
func (s *Store) TokenByHash(ctx context.Context, hash string) (Token, error) {
	var t Token
	var expires, revoked sql.NullTime
	err := s.read.QueryRowContext(ctx, `SELECT id, workspace_id, name, role, expires_at, revoked_at
		FROM api_tokens WHERE token_hash = $1`, hash).Scan(&t.ID, &t.WorkspaceID, &t.Name, &t.Role, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("find token: %w", err)
	}
	t.ExpiresAt, t.RevokedAt = nullTime(expires), nullTime(revoked)
	if t.RevokedAt != nil || (t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now())) {
		return Token{}, ErrNotFound
	}
	return t, nil
}

// TouchToken records that a token was used.
func (s *Store) TouchToken(ctx context.Context, id int64) error {
	_, err := s.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, now(), id)
	return err
}
