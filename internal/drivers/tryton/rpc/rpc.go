// Package rpc speaks Tryton's JSON-RPC over HTTP: log in to a database, call model
// methods with the user's context, and translate Tryton's typed values (Decimal,
// datetime, date…) to and from plain JSON. The tryton driver and its tests share it.
package rpc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// maxResponse bounds how much of one answer is read, so a wrong URL cannot fill memory.
const maxResponse = 64 << 20

// Failures callers branch on.
var (
	// ErrUnauthorized: Tryton refused the user name or password (or the session ended).
	ErrUnauthorized = errors.New("tryton refused the user name or password")
	// ErrNoDatabase: the database does not exist on the server.
	ErrNoDatabase = errors.New("tryton has no such database")
	// ErrNotTryton: the URL answered, but not as a Tryton server.
	ErrNotTryton = errors.New("the server did not answer as Tryton")
	// ErrForbidden: the method is not callable over RPC (unknown model, method or button).
	ErrForbidden = errors.New("tryton refused the method")
)

// HTTPError is an answer with an unexpected HTTP status (rate limits, server errors).
type HTTPError struct {
	Status int
}

func (e *HTTPError) Error() string { return fmt.Sprintf("tryton answered HTTP %d", e.Status) }

// Error is an error Tryton reported for a call (a user error, a failed constraint…).
type Error struct {
	Kind    string // UserError, UserWarning, ConcurrencyException, or "" for other exceptions
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Kind
	}
	return e.Message
}

// Client calls one Tryton database over one session. Callers may change Context between
// calls, so a Client belongs to one goroutine.
type Client struct {
	base     string // server URL ending in /
	database string
	http     *http.Client
	seq      atomic.Int64

	auth    string         // Authorization header of the session
	Context map[string]any // the user's context, sent with every call
}

// New returns a client for the database at the server URL. It does not connect yet.
func New(serverURL, database string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the URL must be an absolute http or https URL")
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(serverURL, "/") + "/", database: database, http: hc}, nil
}

// Login opens a session (common.db.login) and loads the user's preferences as the context
// of later calls, as Tryton's own clients do.
func (c *Client) Login(ctx context.Context, user, password string) error {
	var session []json.RawMessage
	err := c.post(ctx, "common.db.login", []any{user, map[string]any{"password": password}, "en"}, &session, true)
	if err != nil {
		return err
	}
	if len(session) != 2 {
		return fmt.Errorf("login: %w", ErrNotTryton)
	}
	var userID int64
	var key string
	if json.Unmarshal(session[0], &userID) != nil || json.Unmarshal(session[1], &key) != nil {
		return fmt.Errorf("login: %w", ErrNotTryton)
	}
	token := fmt.Sprintf("%s:%d:%s", user, userID, key)
	c.auth = "Session " + base64.StdEncoding.EncodeToString([]byte(token))
	var prefs map[string]any
	if err := c.post(ctx, "model.res.user.get_preferences", []any{true, map[string]any{}}, &prefs, false); err != nil {
		return fmt.Errorf("read user preferences: %w", err)
	}
	if prefs == nil {
		prefs = map[string]any{}
	}
	c.Context = prefs
	return nil
}

// logoutTimeout bounds the wait for a logout, which nothing depends on.
const logoutTimeout = 5 * time.Second

// Logout ends the session; errors are ignored, as the session expires anyway.
func (c *Client) Logout(ctx context.Context) {
	if c.auth == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, logoutTimeout)
	defer cancel()
	_ = c.post(ctx, "common.db.logout", []any{}, nil, false)
	c.auth = ""
}

// Call calls method (e.g. "model.party.party.search_read") with args followed by the
// user's context, and decodes the result into out (which may be nil). Numbers decode as
// json.Number when out is an *any.
func (c *Client) Call(ctx context.Context, method string, out any, args ...any) error {
	params := append(append([]any{}, args...), c.callContext())
	return c.post(ctx, method, params, out, false)
}

func (c *Client) callContext() map[string]any {
	if c.Context == nil {
		return map[string]any{}
	}
	return c.Context
}

type request struct {
	ID     int64  `json:"id"`
	Method string `json:"method"`
	Params []any  `json:"params"`
}

type response struct {
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// post sends one JSON-RPC request to the database's endpoint. login says the call is
// common.db.login, whose HTTP statuses mean wrong credentials or a missing database.
func (c *Client) post(ctx context.Context, method string, params []any, out any, login bool) error {
	body, err := json.Marshal(request{ID: c.seq.Add(1), Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("%s: encode: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+url.PathEscape(c.database)+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.auth != "" && !login {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", method, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%s: %w", method, ErrUnauthorized)
	case resp.StatusCode == http.StatusNotFound && login:
		return fmt.Errorf("%s: %w", method, ErrNoDatabase)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %w", method, ErrNotTryton)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s: %w", method, ErrForbidden)
	case login && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 && resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: HTTP %d: %w", method, resp.StatusCode, ErrNotTryton)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: %w", method, &HTTPError{Status: resp.StatusCode})
	}
	var r response
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil || (r.Result == nil && r.Error == nil) {
		return fmt.Errorf("%s: %w", method, ErrNotTryton)
	}
	if len(r.Error) > 0 && string(r.Error) != "null" {
		e := parseError(r.Error)
		if login {
			// SQLite servers report a missing database file as an error, not a 404.
			return fmt.Errorf("%s: %w: %s", method, ErrNoDatabase, e.Message)
		}
		return fmt.Errorf("%s: %w", method, e)
	}
	if out == nil {
		return nil
	}
	dec = json.NewDecoder(bytes.NewReader(r.Result))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s: decode result: %w", method, err)
	}
	return nil
}

// parseError reads Tryton's error member: [kind, args] for Tryton's own exceptions
// (UserError args are [message, description, domain]), [text, traceback] otherwise.
func parseError(raw json.RawMessage) *Error {
	var parts []json.RawMessage
	if json.Unmarshal(raw, &parts) != nil || len(parts) == 0 {
		return &Error{Message: string(raw)}
	}
	var first string
	_ = json.Unmarshal(parts[0], &first)
	switch first {
	case "UserError", "UserWarning", "LoginException", "ConcurrencyException":
		e := &Error{Kind: first}
		if len(parts) < 2 {
			return e
		}
		var text string
		if json.Unmarshal(parts[1], &text) == nil {
			e.Message = text
			return e
		}
		var args []any
		_ = json.Unmarshal(parts[1], &args)
		var msgs []string
		if first == "UserWarning" && len(args) > 0 {
			args = args[1:] // the warning's name
		}
		for _, a := range args {
			if s, ok := a.(string); ok && s != "" {
				msgs = append(msgs, s)
			}
		}
		e.Message = strings.Join(msgs, " - ")
		return e
	}
	return &Error{Message: first}
}

// IsError reports whether err is an error Tryton reported for the call itself (as
// opposed to a transport, login or permission failure).
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// Int reads an integer from a decoded value (json.Number, float64 or int64).
func Int(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		return int64(x), x == float64(int64(x))
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}
