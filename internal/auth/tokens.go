// Package auth issues and verifies API tokens. Workspaces, users, groups and scopes build
// on it later; for now every token acts for the workspace it belongs to.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
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

// Identity is who a request acts as.
type Identity struct {
	TokenID     int64
	WorkspaceID int64
	Role        string
}

// ErrUnauthenticated means the request carries no valid token.
var ErrUnauthenticated = errors.New("a valid bearer token is required")

// Authenticate resolves an Authorization header value.
func Authenticate(ctx context.Context, st *store.Store, header string) (Identity, error) {
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
	_ = st.TouchToken(ctx, t.ID)
	return Identity{TokenID: t.ID, WorkspaceID: t.WorkspaceID, Role: t.Role}, nil
}
