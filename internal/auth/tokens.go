// Package auth issues and verifies API tokens and passwords, and decides who a request acts
// as: a user, in one workspace, with the role their membership there gives them.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/junction-hub/junction/internal/store"
)

// tokenPrefix marks Junction tokens, so a leaked one is easy to recognise in a scan.
const tokenPrefix = "jct_"

// NewToken makes a random token. Only its hash is ever stored.
func NewToken() (plain, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	plain = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return plain, Hash(plain), nil
}

// Hash is how tokens are stored. Tokens carry 256 random bits, so a plain SHA-256 is
// enough; a slow password hash would only slow every request.
func Hash(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// Roles in a workspace, from least to most.
const (
	RoleMember = "member"
	RoleAdmin  = "admin"
	RoleOwner  = "owner"
)

// AtLeast says whether role is need or more (member < admin < owner).
func AtLeast(role, need string) bool { return rank(role) >= rank(need) && rank(need) > 0 }

func rank(role string) int {
	switch role {
	case RoleMember:
		return 1
	case RoleAdmin:
		return 2
	case RoleOwner:
		return 3
	}
	return 0
}

// WorkspaceHeader chooses the workspace a request acts in; without it, the token's own.
const WorkspaceHeader = "X-Junction-Workspace"

// Identity is who a request acts as. UserID is 0 only for a token made before users
// existed that the server has not attached to a user yet; it acts as Role in its workspace.
type Identity struct {
	TokenID     int64
	TokenKind   string // store.TokenPersonal or store.TokenIntegration
	UserID      int64
	UserName    string
	ServerAdmin bool
	WorkspaceID int64
	Role        string // the user's role in WorkspaceID
	Grants      Grants // an integration token's grants; nil for other tokens
}

// Can says whether the identity's role is at least need. An integration token acts only
// through its grants, never through its user's role.
func (id Identity) Can(need string) bool { return !id.Integration() && AtLeast(id.Role, need) }

// Integration says whether the request carries an integration token.
func (id Identity) Integration() bool { return id.TokenKind == store.TokenIntegration }

// Viewer is what the store needs to hide connections outside the identity's scope.
func (id Identity) Viewer() store.Viewer {
	return store.Viewer{WorkspaceID: id.WorkspaceID, UserID: id.UserID, SeesAll: id.Can(RoleAdmin)}
}

// Actor is who the audit log names for changes made with this identity.
func (id Identity) Actor() store.Actor {
	return store.Actor{UserID: id.UserID, UserName: id.UserName, TokenID: id.TokenID}
}

// ErrUnauthenticated means the request carries no valid token.
var ErrUnauthenticated = errors.New("a valid bearer token is required")

// ErrNoWorkspace means the chosen workspace does not exist or the user is no member of it;
// the API answers 404 either way, so that nobody learns which workspaces exist.
var ErrNoWorkspace = errors.New("no such workspace")

// Authenticate resolves an Authorization header value and the workspace header's value
// ("" for the token's own workspace).
func Authenticate(ctx context.Context, st *store.Store, header, workspace string) (Identity, error) {
	plain, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(plain) == "" {
		return Identity{}, ErrUnauthenticated
	}
	t, err := st.TokenByHash(ctx, Hash(strings.TrimSpace(plain)))
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, ErrUnauthenticated
	}
	if err != nil {
		return Identity{}, err
	}
	id := Identity{TokenID: t.ID, TokenKind: t.Kind, WorkspaceID: t.WorkspaceID, Role: t.Role}
	if t.Kind == store.TokenIntegration {
		if id.Grants, err = ParseGrants(t.Grants); err != nil {
			return Identity{}, err
		}
		if workspace != "" && workspace != strconv.FormatInt(t.WorkspaceID, 10) {
			// An integration token is made for one workspace and reaches no other.
			return Identity{}, ErrNoWorkspace
		}
	}
	ws := t.WorkspaceID
	if workspace = strings.TrimSpace(workspace); workspace != "" {
		n, err := strconv.ParseInt(workspace, 10, 64)
		if err != nil || n <= 0 {
			return Identity{}, ErrNoWorkspace
		}
		ws = n
	}
	if t.UserID == nil {
		if ws != t.WorkspaceID {
			return Identity{}, ErrNoWorkspace
		}
		_ = st.TouchToken(ctx, t.ID)
		return id, nil
	}
	m, err := st.UserInWorkspace(ctx, ws, *t.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound) && ws != t.WorkspaceID:
		return Identity{}, ErrNoWorkspace
	case errors.Is(err, store.ErrNotFound):
		// The user has left the token's own workspace: the token opens nothing there.
		return Identity{}, ErrUnauthenticated
	case err != nil:
		return Identity{}, err
	}
	if m.DisabledAt != nil {
		return Identity{}, ErrUnauthenticated
	}
	_ = st.TouchToken(ctx, t.ID)
	id.UserID, id.UserName, id.ServerAdmin = m.ID, m.Name, m.ServerAdmin
	id.WorkspaceID, id.Role = ws, m.Role
	return id, nil
}
