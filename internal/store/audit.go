package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Actor is the person or token on whose behalf a change is made. The API and the console
// put it into the request's context; the store writes an audit entry for every change
// made with one, in the same transaction as the change. Changes without an actor (the
// scheduler, the server's own bootstrap) are not audited: the audit log says what people
// and tokens did.
type Actor struct {
	UserID   int64
	UserName string
	TokenID  int64 // 0 for a console session
}

type actorKey struct{}

// WithActor marks ctx as acting for a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx acts for, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// AuditEntry is one line of the audit log: who did what to which object, when.
type AuditEntry struct {
	ID          int64
	WorkspaceID int64
	At          time.Time
	UserID      *int64
	UserName    string
	TokenID     *int64
	Action      string // create, update, delete, enable, disable, sync, revoke, add, remove, …
	ObjectKind  string // connection, token, user, group, membership, flow, workspace, connector
	ObjectID    *int64
	ObjectName  string
	Detail      string
}

// audit writes an entry inside tx when ctx carries an actor.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, workspaceID int64, action, kind string, id int64, name, detail string) error {
	a, ok := ActorFrom(ctx)
	if !ok {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (workspace_id, at, user_id, user_name, token_id, action,
		object_kind, object_id, object_name, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		workspaceID, now(), nullID(a.UserID), a.UserName, nullID(a.TokenID), action, kind, nullID(id), name, detail)
	if err != nil {
		return fmt.Errorf("audit %s %s %d: %w", action, kind, id, err)
	}
	return nil
}

// auditConnection audits an action on a connection, naming it.
func (s *Store) auditConnection(ctx context.Context, tx *sql.Tx, workspaceID, id int64, action string) error {
	if _, ok := ActorFrom(ctx); !ok {
		return nil
	}
	var name string
	if err := tx.QueryRowContext(ctx, `SELECT name FROM connections WHERE id = $1`, id).Scan(&name); err != nil {
		return fmt.Errorf("audit %s connection %d: %w", action, id, err)
	}
	return s.audit(ctx, tx, workspaceID, action, "connection", id, name, "")
}

// Audit writes an entry on its own, for changes that are a single statement elsewhere.
func (s *Store) Audit(ctx context.Context, workspaceID int64, action, kind string, id int64, name, detail string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.audit(ctx, tx, workspaceID, action, kind, id, name, detail) })
}

// AuditFilter chooses audit entries; zero fields do not filter.
type AuditFilter struct {
	WorkspaceID int64
	ObjectKind  string
	ObjectID    int64
	UserID      int64
	BeforeID    int64 // keyset paging, newest first
	Limit       int
}

// ListAudit returns audit entries newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, workspace_id, at, user_id, user_name, token_id, action,
		object_kind, object_id, object_name, detail FROM audit_log
		WHERE workspace_id = $1 AND ($2 = '' OR object_kind = $2) AND ($3 = 0 OR object_id = $3)
		AND ($4 = 0 OR user_id = $4) AND ($5 = 0 OR id < $5)
		ORDER BY id DESC LIMIT `+fmt.Sprint(f.Limit), f.WorkspaceID, f.ObjectKind, f.ObjectID, f.UserID, f.BeforeID)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var user, token, obj sql.NullInt64
		if err := rows.Scan(&e.ID, &e.WorkspaceID, &e.At, &user, &e.UserName, &token, &e.Action,
			&e.ObjectKind, &obj, &e.ObjectName, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		e.At = e.At.UTC()
		e.UserID, e.TokenID, e.ObjectID = nullInt(user), nullInt(token), nullInt(obj)
		out = append(out, e)
	}
	return out, rows.Err()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullInt(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}
