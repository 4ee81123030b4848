package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is a person or an integration. Users are global; memberships put them into
// workspaces with a role.
type User struct {
	ID           int64
	Name         string
	DisplayName  string
	PasswordHash string // empty: cannot log in with a password
	ServerAdmin  bool   // may create workspaces
	Kind         string // UserPerson or UserIntegration
	CreatedAt    time.Time
	DisabledAt   *time.Time
}

// User kinds.
const (
	UserPerson      = "person"
	UserIntegration = "integration"
)

// Member is a user with their role in one workspace.
type Member struct {
	User
	Role string
}

// WorkspaceRole is a workspace with the role one user has in it.
type WorkspaceRole struct {
	Workspace
	Role string
}

// ErrLastOwner means the change would leave a workspace without an owner.
var ErrLastOwner = fmt.Errorf("%w: a workspace keeps at least one owner", ErrConflict)

const userColumns = `u.id, u.name, u.display_name, u.password_hash, u.server_admin, u.kind, u.created_at, u.disabled_at`

func scanUser(row scanner, extra ...any) (User, error) {
	var u User
	var disabled sql.NullTime
	dest := append([]any{&u.ID, &u.Name, &u.DisplayName, &u.PasswordHash, &u.ServerAdmin, &u.Kind, &u.CreatedAt, &disabled}, extra...)
	if err := row.Scan(dest...); err != nil {
		return User{}, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	u.DisabledAt = nullTime(disabled)
	return u, nil
}

// CreateUser stores a new user and sets u.ID; ErrConflict when the name is taken.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if u.Kind == "" {
		u.Kind = UserPerson
	}
	u.CreatedAt = now()
	err := s.write.QueryRowContext(ctx, `INSERT INTO users (name, display_name, password_hash, server_admin, kind, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		u.Name, u.DisplayName, u.PasswordHash, u.ServerAdmin, u.Kind, u.CreatedAt).Scan(&u.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("create user %q: %w: the name is taken", u.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return nil
}

// GetUser finds a user by id.
func (s *Store) GetUser(ctx context.Context, id int64) (User, error) {
	return s.oneUser(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id)
}

// UserByName finds a user by name.
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	return s.oneUser(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name = $1`, name)
}

func (s *Store) oneUser(ctx context.Context, q string, arg any) (User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

// UserChange is what UpdateUser changes; nil fields stay.
type UserChange struct {
	DisplayName  *string
	PasswordHash *string
}

// UpdateUser changes a user's display name or password hash.
func (s *Store) UpdateUser(ctx context.Context, id int64, ch UserChange) error {
	res, err := s.write.ExecContext(ctx, `UPDATE users SET
		display_name = COALESCE($1, display_name), password_hash = COALESCE($2, password_hash) WHERE id = $3`,
		ch.DisplayName, ch.PasswordHash, id)
	if err != nil {
		return fmt.Errorf("update user %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// UserInWorkspace returns a user with their role in the workspace; ErrNotFound when the
// user does not exist or is no member.
func (s *Store) UserInWorkspace(ctx context.Context, workspaceID, userID int64) (Member, error) {
	var m Member
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+`, m.role
		FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.workspace_id = $1 AND u.id = $2`,
		workspaceID, userID), &m.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, ErrNotFound
	}
	if err != nil {
		return Member{}, fmt.Errorf("find member: %w", err)
	}
	m.User = u
	return m, nil
}

// ListMembers lists the users of a workspace with their roles, by name.
func (s *Store) ListMembers(ctx context.Context, workspaceID int64) ([]Member, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+`, m.role
		FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.workspace_id = $1 ORDER BY u.name`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		u, err := scanUser(rows, &m.Role)
		if err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		m.User = u
		out = append(out, m)
	}
	return out, rows.Err()
}

// AddMember puts a user into a workspace; ErrConflict when they are in it already.
func (s *Store) AddMember(ctx context.Context, workspaceID, userID int64, role string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO memberships (workspace_id, user_id, role, created_at)
			VALUES ($1, $2, $3, $4)`, workspaceID, userID, role, now())
		if isUniqueViolation(err) {
			return fmt.Errorf("add member: %w: the user is a member already", ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("add member: %w", err)
		}
		return s.auditUser(ctx, tx, workspaceID, "add", userID, "role "+role)
	})
}

// auditUser audits an action on a user's membership, naming the user.
func (s *Store) auditUser(ctx context.Context, tx *sql.Tx, workspaceID int64, action string, userID int64, detail string) error {
	if _, ok := ActorFrom(ctx); !ok {
		return nil
	}
	var name string
	if err := tx.QueryRowContext(ctx, `SELECT name FROM users WHERE id = $1`, userID).Scan(&name); err != nil {
		return fmt.Errorf("audit %s member %d: %w", action, userID, err)
	}
	return s.audit(ctx, tx, workspaceID, action, "member", userID, name, detail)
}

// SetRole changes a member's role; ErrLastOwner when it would demote the last owner.
func (s *Store) SetRole(ctx context.Context, workspaceID, userID int64, role string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.keepAnOwner(ctx, tx, workspaceID, userID, role != "owner"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE memberships SET role = $1 WHERE workspace_id = $2 AND user_id = $3`,
			role, workspaceID, userID)
		if err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return s.auditUser(ctx, tx, workspaceID, "update", userID, "role "+role)
	})
}

// RemoveMember takes a user out of a workspace and its groups; ErrLastOwner for the last owner.
func (s *Store) RemoveMember(ctx context.Context, workspaceID, userID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.keepAnOwner(ctx, tx, workspaceID, userID, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE user_id = $1
			AND group_id IN (SELECT id FROM user_groups WHERE workspace_id = $2)`, userID, workspaceID); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM connection_scope WHERE user_id = $1
			AND connection_id IN (SELECT id FROM connections WHERE workspace_id = $2)`, userID, workspaceID); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if err := s.auditUser(ctx, tx, workspaceID, "remove", userID, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2`,
			workspaceID, userID); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		return nil
	})
}

// keepAnOwner checks that the user is a member, and, when leaving says they stop being
// an owner, that another owner remains. SQLite's single writer serialises the check and
// the change; on PostgreSQL the owners' rows are locked so two demotions cannot both pass.
func (s *Store) keepAnOwner(ctx context.Context, tx *sql.Tx, workspaceID, userID int64, leaving bool) error {
	var role string
	err := tx.QueryRowContext(ctx, `SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2`,
		workspaceID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("find member: %w", err)
	}
	if role != "owner" || !leaving {
		return nil
	}
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, `SELECT user_id FROM memberships WHERE workspace_id = $1 AND role = 'owner'`+lock, workspaceID)
	if err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	owners := 0
	for rows.Next() {
		owners++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if owners <= 1 {
		return ErrLastOwner
	}
	return nil
}

// CreateWorkspace makes a workspace with owner as its first owner; ErrConflict when the
// name is taken.
func (s *Store) CreateWorkspace(ctx context.Context, name string, ownerID int64) (Workspace, error) {
	w := Workspace{Name: name, CreatedAt: now()}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO workspaces (name, created_at) VALUES ($1, $2) RETURNING id`,
			name, w.CreatedAt).Scan(&w.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: a workspace named %q exists", ErrConflict, name)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO memberships (workspace_id, user_id, role, created_at)
			VALUES ($1, $2, 'owner', $3)`, w.ID, ownerID, w.CreatedAt)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, w.ID, "create", "workspace", w.ID, name, "")
	})
	if err != nil {
		return Workspace{}, fmt.Errorf("create workspace %q: %w", name, err)
	}
	return w, nil
}

// WorkspacesOf lists the workspaces a user belongs to, by id.
func (s *Store) WorkspacesOf(ctx context.Context, userID int64) ([]WorkspaceRole, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT w.id, w.name, w.created_at, m.role
		FROM workspaces w JOIN memberships m ON m.workspace_id = w.id WHERE m.user_id = $1 ORDER BY w.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	defer rows.Close()
	var out []WorkspaceRole
	for rows.Next() {
		var w WorkspaceRole
		if err := rows.Scan(&w.ID, &w.Name, &w.CreatedAt, &w.Role); err != nil {
			return nil, fmt.Errorf("list workspaces: %w", err)
		}
		w.CreatedAt = w.CreatedAt.UTC()
		out = append(out, w)
	}
	return out, rows.Err()
}

// AttachOrphanTokens gives every token made before users existed to the user, and makes
// that user a member of each such token's workspace with the token's role, so that those
// tokens keep working as they did. It returns how many tokens it attached.
func (s *Store) AttachOrphanTokens(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT workspace_id, role FROM api_tokens WHERE user_id IS NULL`)
		if err != nil {
			return err
		}
		type wr struct {
			ws   int64
			role string
		}
		var found []wr
		for rows.Next() {
			var x wr
			if err := rows.Scan(&x.ws, &x.role); err != nil {
				rows.Close()
				return err
			}
			found = append(found, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, x := range found {
			var have int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND user_id = $2`,
				x.ws, userID).Scan(&have); err != nil {
				return err
			}
			if have == 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (workspace_id, user_id, role, created_at)
					VALUES ($1, $2, $3, $4)`, x.ws, userID, x.role, now()); err != nil {
					return err
				}
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET user_id = $1 WHERE user_id IS NULL`, userID)
		if err != nil {
			return err
		}
		m, _ := res.RowsAffected()
		n = int(m)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("attach tokens: %w", err)
	}
	return n, nil
}

const tokenColumns = `id, workspace_id, user_id, kind, name, role, created_at, expires_at, last_used_at, revoked_at, grants`

func scanToken(row scanner) (Token, error) {
	var t Token
	var user sql.NullInt64
	var expires, used, revoked sql.NullTime
	if err := row.Scan(&t.ID, &t.WorkspaceID, &user, &t.Kind, &t.Name, &t.Role, &t.CreatedAt, &expires, &used, &revoked, &t.Grants); err != nil {
		return Token{}, err
	}
	if user.Valid {
		t.UserID = &user.Int64
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = nullTime(expires), nullTime(used), nullTime(revoked)
	return t, nil
}

// IssueToken stores a token of a user by its hash and sets t.ID and t.CreatedAt.
func (s *Store) IssueToken(ctx context.Context, t *Token, hash string) error {
	if t.Kind == "" {
		t.Kind = TokenPersonal
	}
	if t.Role == "" {
		t.Role = "member" // unused while the token has a user; kept NOT NULL for old readers
	}
	t.CreatedAt = now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertToken(ctx, tx, t, hash); err != nil {
			return err
		}
		return s.audit(ctx, tx, t.WorkspaceID, "create", "token", t.ID, t.Name, t.Kind)
	})
}

func insertToken(ctx context.Context, tx *sql.Tx, t *Token, hash string) error {
	err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (workspace_id, user_id, kind, name, token_hash, role, created_at, expires_at, grants)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		t.WorkspaceID, t.UserID, t.Kind, t.Name, hash, t.Role, t.CreatedAt, t.ExpiresAt, t.Grants).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("issue %s token: %w", t.Kind, err)
	}
	return nil
}

// TokenFilter chooses tokens; zero fields do not filter.
type TokenFilter struct {
	UserID      int64
	WorkspaceID int64
	Kind        string
}

// ListTokens lists tokens, newest first, revoked and expired ones included.
func (s *Store) ListTokens(ctx context.Context, f TokenFilter) ([]Token, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE ($1 = 0 OR user_id = $1) AND ($2 = 0 OR workspace_id = $2) AND ($3 = '' OR kind = $3)
		ORDER BY id DESC`, f.UserID, f.WorkspaceID, f.Kind)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out, err := scanAll(rows, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// GetToken finds a token by id, whatever its state.
func (s *Store) GetToken(ctx context.Context, id int64) (Token, error) {
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("find token: %w", err)
	}
	return t, nil
}

// RevokeToken revokes a token (again is fine: the first time stays).
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var ws int64
		var name string
		err := tx.QueryRowContext(ctx, `SELECT workspace_id, name FROM api_tokens WHERE id = $1`, id).Scan(&ws, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, now(), id); err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		return s.audit(ctx, tx, ws, "revoke", "token", id, name, "")
	})
}

// CountOrphanTokens says how many tokens belong to no user (made before users existed).
func (s *Store) CountOrphanTokens(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_tokens WHERE user_id IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

// ErrNotIntegration means a name given for an integration user belongs to a person.
var ErrNotIntegration = errors.New("the user is a person; integration tokens belong to integration users")

// IssueIntegrationToken stores an integration token for the integration user userName,
// creating that user (no password: it can never log in) and its membership in the token's
// workspace when needed, all in one transaction. Sets t.ID, t.UserID and t.CreatedAt.
func (s *Store) IssueIntegrationToken(ctx context.Context, userName string, t *Token, hash string) error {
	t.Kind, t.Role, t.CreatedAt = TokenIntegration, "member", now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var userID int64
		var kind string
		err := tx.QueryRowContext(ctx, `SELECT id, kind FROM users WHERE name = $1`, userName).Scan(&userID, &kind)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = tx.QueryRowContext(ctx, `INSERT INTO users (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id`,
				userName, UserIntegration, t.CreatedAt).Scan(&userID)
			if err != nil {
				return fmt.Errorf("create integration user %q: %w", userName, err)
			}
		case err != nil:
			return fmt.Errorf("find user %q: %w", userName, err)
		case kind != UserIntegration:
			return ErrNotIntegration
		}
		var members int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND user_id = $2`,
			t.WorkspaceID, userID).Scan(&members); err != nil {
			return fmt.Errorf("find membership: %w", err)
		}
		if members == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (workspace_id, user_id, role, created_at)
				VALUES ($1, $2, 'member', $3)`, t.WorkspaceID, userID, t.CreatedAt); err != nil {
				return fmt.Errorf("add integration user: %w", err)
			}
		}
		t.UserID = &userID
		if err := insertToken(ctx, tx, t, hash); err != nil {
			return err
		}
		return s.audit(ctx, tx, t.WorkspaceID, "create", "token", t.ID, t.Name, "integration token of "+userName+"; grants "+t.Grants)
	})
}
