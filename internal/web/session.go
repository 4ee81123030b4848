package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/store"
)

// Session lifetimes: a login lasts at most SessionTTL, and ends sooner after SessionIdle
// without a request.
const (
	SessionTTL  = 12 * time.Hour
	SessionIdle = 2 * time.Hour
)

// Cookie names. The session cookie holds the only copy of the session id; the store keeps
// its hash. The login cookie carries the login form's CSRF token (there is no session yet).
const (
	SessionCookie = "junction_session"
	loginCookie   = "junction_login"
)

// CSRFField is the hidden form field (or X-CSRF-Token header) carrying the session's token.
const CSRFField = "csrf"

// request is one console request of a logged-in person.
type request struct {
	ctx     context.Context // with the audit actor
	id      auth.Identity
	session store.Session
}

// page wraps a handler for logged-in people: it finds the session, builds the identity,
// puts the audit actor into the context, and refuses a POST without the session's CSRF
// token or from another origin.
func (c *Console) page(next func(http.ResponseWriter, *http.Request, *request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := c.session(r)
		if err != nil {
			if !errors.Is(err, errNoSession) {
				c.Logger.Error("console session", "err", err)
			}
			clearCookie(w, r, SessionCookie)
			if r.Method != http.MethodGet || strings.HasSuffix(r.URL.Path, "json") {
				http.Error(w, "log in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) || !validCSRF(r, req.session.CSRFToken) {
				c.render(w, r, req, http.StatusForbidden, "error", view{Title: "Form expired",
					Data: "This form is out of date or did not come from this console. Go back, reload the page and try again."})
				return
			}
		}
		next(w, r, req)
	})
}

var errNoSession = errors.New("no session")

// session resolves the request's session cookie into who is logged in. A person whose
// membership ended, who was disabled or who is an integration user gets no session.
func (c *Console) session(r *http.Request) (*request, error) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, errNoSession
	}
	ctx := r.Context()
	hash := auth.Hash(ck.Value)
	se, err := c.Store.SessionByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if time.Since(se.LastSeenAt) > SessionIdle {
		_ = c.Store.DeleteSession(ctx, hash)
		return nil, errNoSession
	}
	m, err := c.Store.UserInWorkspace(ctx, se.WorkspaceID, se.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (m.DisabledAt != nil || m.Kind != store.UserPerson)) {
		_ = c.Store.DeleteSession(ctx, hash)
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if time.Since(se.LastSeenAt) > time.Minute {
		_ = c.Store.TouchSession(ctx, hash)
	}
	id := auth.Identity{UserID: m.ID, UserName: m.Name, ServerAdmin: m.ServerAdmin, WorkspaceID: se.WorkspaceID, Role: m.Role}
	return &request{ctx: store.WithActor(ctx, id.Actor()), id: id, session: se}, nil
}

// validCSRF compares the form's (or header's) token with the session's in constant time.
func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin refuses a POST whose Origin header names another site (browsers send it on
// every cross-site POST); a missing header is left to the CSRF token.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds())})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	if _, err := r.Cookie(name); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

type loginData struct {
	Name  string
	Next  string
	Error string
	CSRF  string
}

// loginPage shows the login form, with a fresh CSRF token in a cookie and the form.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if req, err := c.session(r); err == nil && req != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, loginData{Next: r.URL.Query().Get("next")})
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	d.CSRF = randomToken()
	setCookie(w, r, loginCookie, d.CSRF, time.Hour)
	c.render(w, r, nil, status, "login", view{Title: "Log in", Data: d})
}

// login checks a person's name and password, rate-limited like the API's login, and
// starts a session in their first workspace.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := strings.TrimSpace(r.PostFormValue("name"))
	d := loginData{Name: name, Next: r.PostFormValue("next")}
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue(CSRFField))) != 1 {
		d.Error = "The login form expired; please try again."
		c.showLogin(w, r, http.StatusForbidden, d)
		return
	}
	if !c.logins.Allow(name, auth.ClientIP(r.RemoteAddr)) {
		d.Error = "Too many login attempts; wait a minute and try again."
		c.showLogin(w, r, http.StatusTooManyRequests, d)
		return
	}
	u, err := c.Store.UserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, nil, err)
		return
	}
	hash := u.PasswordHash
	if err != nil || hash == "" {
		hash = dummyHash() // spend the same time on unknown names
	}
	ok, verr := auth.VerifyPassword(hash, r.PostFormValue("password"))
	if err != nil || u.PasswordHash == "" || verr != nil || !ok || u.DisabledAt != nil {
		d.Error = "Wrong name or password."
		c.showLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	if u.Kind != store.UserPerson {
		d.Error = "Integration users cannot log in to the console; they use integration tokens."
		c.showLogin(w, r, http.StatusForbidden, d)
		return
	}
	wss, err := c.Store.WorkspacesOf(ctx, u.ID)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if len(wss) == 0 {
		d.Error = "You belong to no workspace yet; ask an administrator to add you to one."
		c.showLogin(w, r, http.StatusForbidden, d)
		return
	}
	if _, err := c.Store.DeleteExpiredSessions(ctx); err != nil {
		c.Logger.Warn("delete expired sessions", "err", err)
	}
	plain := randomToken()
	se := store.Session{IDHash: auth.Hash(plain), UserID: u.ID, WorkspaceID: wss[0].ID, CSRFToken: randomToken(),
		ExpiresAt: time.Now().Add(SessionTTL)}
	if err := c.Store.CreateSession(ctx, &se); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	clearCookie(w, r, loginCookie)
	setCookie(w, r, SessionCookie, plain, SessionTTL)
	http.Redirect(w, r, safeNext(d.Next), http.StatusSeeOther)
}

// dummyHash is verified against for unknown names, so a login takes as long either way.
// It is made on first use, not when the package loads.
var dummyHash = sync.OnceValue(func() string {
	h, _ := auth.HashPassword("no user has this password")
	return h
})

// safeNext keeps a redirect after login on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/connections"
	}
	return next
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, req *request) {
	if err := c.Store.DeleteSession(req.ctx, req.session.IDHash); err != nil {
		c.fail(w, r, req, err)
		return
	}
	clearCookie(w, r, SessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// switchWorkspace moves the session to another workspace the user is a member of.
func (c *Console) switchWorkspace(w http.ResponseWriter, r *http.Request, req *request) {
	ws, err := strconv.ParseInt(r.PostFormValue("workspace"), 10, 64)
	if err != nil {
		c.notFound(w, r, req)
		return
	}
	if _, err := c.Store.UserInWorkspace(req.ctx, ws, req.id.UserID); err != nil {
		c.fail(w, r, req, err)
		return
	}
	if err := c.Store.SetSessionWorkspace(req.ctx, req.session.IDHash, ws); err != nil {
		c.fail(w, r, req, err)
		return
	}
	redirect(w, r, "/connections")
}
