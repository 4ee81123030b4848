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

// Token is an API token; only its hash is stored. UserID is nil only for a token made
// before users existed, until the server attaches it to a user at startup.
type Token struct {
	ID          int64
	WorkspaceID int64
	UserID      *int64
	Kind        string // TokenPersonal or TokenIntegration
	Name        string
	Role        string // the role of a token without a user; tokens with one take their membership's
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	LastUsedAt  *time.Time
	RevokedAt   *time.Time
	Grants      string // an integration token's grants as JSON (see package auth); "" for others
}

// Token kinds.
const (
	TokenPersonal    = "personal"
	TokenIntegration = "integration"
)

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
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("find token: %w", err)
	}
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

// GetWorkspace finds a workspace by id.
func (s *Store) GetWorkspace(ctx context.Context, id int64) (Workspace, error) {
	w := Workspace{ID: id}
	err := s.read.QueryRowContext(ctx, `SELECT name, created_at FROM workspaces WHERE id = $1`, id).Scan(&w.Name, &w.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Workspace{}, ErrNotFound
	}
	if err != nil {
		return Workspace{}, fmt.Errorf("find workspace %d: %w", id, err)
	}
	w.CreatedAt = w.CreatedAt.UTC()
	return w, nil
}
