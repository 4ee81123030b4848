// Package client is a small Go client for Junction's REST API v1. The CLI uses it, and so
// can any Go program that drives a Junction server.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/driver"
)

// Client speaks API v1 to one server with one token, in one workspace.
type Client struct {
	base      string
	token     string
	workspace string // sent as X-Junction-Workspace; "" for the token's own workspace
	http      *http.Client
}

// New returns a client for the server at baseURL (such as http://127.0.0.1:8080),
// authenticating with token.
func New(baseURL, token string) *Client {
	return &Client{
		base:  strings.TrimRight(baseURL, "/"),
		token: token,
		// No overall timeout: callers bound requests with their context, and a slow
		// check of a remote system can legitimately take a while.
		http: &http.Client{},
	}
}

// InWorkspace returns a client that acts in the workspace with that id (the
// X-Junction-Workspace header); "" means the token's own workspace.
func (c *Client) InWorkspace(id string) *Client {
	cp := *c
	cp.workspace = strings.TrimSpace(id)
	return &cp
}

// Error is an error the server answered, decoded from its problem+json body.
type Error struct {
	Status int
	Title  string
	Detail string
	Fields []FieldError
}

// FieldError names one wrong input field, e.g. Location "credentials.password".
type FieldError struct {
	Location string
	Message  string
}

// Error reads like "422 Unprocessable Entity: credentials.password: authentication failed".
// Field errors are more precise than the detail, so they replace it when present.
func (e *Error) Error() string {
	title := e.Title
	if title == "" {
		title = http.StatusText(e.Status)
	}
	msg := strconv.Itoa(e.Status) + " " + title
	var parts []string
	for _, f := range e.Fields {
		if f.Location == "" {
			parts = append(parts, f.Message)
		} else {
			parts = append(parts, f.Location+": "+f.Message)
		}
	}
	if len(parts) == 0 && e.Detail != "" && e.Detail != title {
		parts = append(parts, e.Detail)
	}
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, "; ")
	}
	return msg
}

// problem is RFC 9457's body as the server sends it. The "value" that huma adds to each
// field error is left out on purpose: it may echo a secret.
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// decodeError turns a non-2xx answer into an *Error, whatever the body holds.
func decodeError(resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &Error{Status: resp.StatusCode}
	var p problem
	if json.Unmarshal(body, &p) == nil && (p.Title != "" || p.Detail != "" || len(p.Errors) > 0) {
		e.Title, e.Detail = p.Title, p.Detail
		for _, fe := range p.Errors {
			e.Fields = append(e.Fields, FieldError{Location: fe.Location, Message: fe.Message})
		}
		return e
	}
	// Not problem+json (a proxy's page, a plain-text panic): keep a short first line.
	e.Title = http.StatusText(resp.StatusCode)
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	e.Detail = line
	return e
}

// do sends one request and decodes a 2xx answer into out (when out is not nil).
// Errors name the method and path, never the token.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.workspace != "" {
		req.Header.Set("X-Junction-Workspace", c.workspace)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func idPath(format string, id int64) string { return fmt.Sprintf(format, id) }

// Drivers lists the drivers the server has, each with its spec.
func (c *Client) Drivers(ctx context.Context) ([]driver.Spec, error) {
	var out struct {
		Drivers []driver.Spec `json:"drivers"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/drivers", nil, nil, &out)
	return out.Drivers, err
}

// Driver returns the spec of the named driver, or an *Error with status 404 when the
// server has no such driver. The API has no route for one driver, so it filters the list.
func (c *Client) Driver(ctx context.Context, name string) (driver.Spec, error) {
	specs, err := c.Drivers(ctx)
	if err != nil {
		return driver.Spec{}, err
	}
	for _, s := range specs {
		if s.Name == name {
			return s, nil
		}
	}
	return driver.Spec{}, &Error{Status: http.StatusNotFound, Title: "Not Found",
		Detail: fmt.Sprintf("no driver named %q", name)}
}

// Connections lists the connections.
func (c *Client) Connections(ctx context.Context) ([]api.Connection, error) {
	var out struct {
		Connections []api.Connection `json:"connections"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/connections", nil, nil, &out)
	return out.Connections, err
}

// CreateConnection checks the credentials, stores the connection and starts its first sync.
func (c *Client) CreateConnection(ctx context.Context, in api.ConnectionInput) (api.ConnectionWithJob, error) {
	var out api.ConnectionWithJob
	err := c.do(ctx, http.MethodPost, "/api/v1/connections", nil, in, &out)
	return out, err
}

// Connection returns one connection, its secrets masked.
func (c *Client) Connection(ctx context.Context, id int64) (api.Connection, error) {
	var out api.Connection
	err := c.do(ctx, http.MethodGet, idPath("/api/v1/connections/%d", id), nil, nil, &out)
	return out, err
}

// UpdateConnection changes the fields set in in; the server re-checks and starts a sync.
func (c *Client) UpdateConnection(ctx context.Context, id int64, in api.ConnectionInput) (api.ConnectionWithJob, error) {
	var out api.ConnectionWithJob
	err := c.do(ctx, http.MethodPatch, idPath("/api/v1/connections/%d", id), nil, in, &out)
	return out, err
}

// CheckConnection tests the stored credentials, or those in in when it is not nil.
func (c *Client) CheckConnection(ctx context.Context, id int64, in *api.CheckInput) (api.CheckResult, error) {
	var out api.CheckResult
	var body any
	if in != nil {
		body = in
	}
	err := c.do(ctx, http.MethodPost, idPath("/api/v1/connections/%d/check", id), nil, body, &out)
	return out, err
}

// SyncConnection starts a sync, or returns the one already pending or running.
func (c *Client) SyncConnection(ctx context.Context, id int64) (api.JobRef, error) {
	var out api.JobRef
	err := c.do(ctx, http.MethodPost, idPath("/api/v1/connections/%d/sync", id), nil, nil, &out)
	return out, err
}

// EnableConnection makes a connection active again.
func (c *Client) EnableConnection(ctx context.Context, id int64) (api.ConnectionWithJob, error) {
	var out api.ConnectionWithJob
	err := c.do(ctx, http.MethodPost, idPath("/api/v1/connections/%d/enable", id), nil, nil, &out)
	return out, err
}

// DisableConnection makes a connection inactive, which stops its syncs and allows deleting it.
func (c *Client) DisableConnection(ctx context.Context, id int64) (api.ConnectionWithJob, error) {
	var out api.ConnectionWithJob
	err := c.do(ctx, http.MethodPost, idPath("/api/v1/connections/%d/disable", id), nil, nil, &out)
	return out, err
}

// BulkConnections applies one action to several connections; each id gets its own result.
func (c *Client) BulkConnections(ctx context.Context, in api.BulkInput) ([]api.BulkResult, error) {
	var out struct {
		Results []api.BulkResult `json:"results"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/connections/bulk", nil, in, &out)
	return out.Results, err
}

// DeleteConnection starts the purge of an inactive connection.
func (c *Client) DeleteConnection(ctx context.Context, id int64) (api.JobRef, error) {
	var out api.JobRef
	err := c.do(ctx, http.MethodDelete, idPath("/api/v1/connections/%d", id), nil, nil, &out)
	return out, err
}

// Catalog returns a connection's mirrored data model.
func (c *Client) Catalog(ctx context.Context, id int64) (api.Catalog, error) {
	var out api.Catalog
	err := c.do(ctx, http.MethodGet, idPath("/api/v1/connections/%d/catalog", id), nil, nil, &out)
	return out, err
}

// RecordQuery selects a page of mirrored records; zero fields are left to the server.
type RecordQuery struct {
	Entity string
	State  string // live or gone
	Limit  int
	After  string // RecordPage.Next of the previous page
}

// Records returns one page of a connection's mirrored records.
func (c *Client) Records(ctx context.Context, id int64, q RecordQuery) (api.RecordPage, error) {
	v := url.Values{}
	setIf(v, "entity", q.Entity)
	setIf(v, "state", q.State)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	setIf(v, "after", q.After)
	var out api.RecordPage
	err := c.do(ctx, http.MethodGet, idPath("/api/v1/connections/%d/records", id), v, nil, &out)
	return out, err
}

// JobQuery selects jobs, newest first; zero fields are left to the server.
type JobQuery struct {
	Connection int64
	State      string
	Kind       string
	Limit      int
	Before     string // JobPage.Next of the previous page
}

// JobPage is one page of jobs; pass Next as JobQuery.Before for the next one.
type JobPage struct {
	Jobs []api.Job
	Next string
}

// Jobs lists jobs.
func (c *Client) Jobs(ctx context.Context, q JobQuery) (JobPage, error) {
	v := url.Values{}
	if q.Connection != 0 {
		v.Set("connection", strconv.FormatInt(q.Connection, 10))
	}
	setIf(v, "state", q.State)
	setIf(v, "kind", q.Kind)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	setIf(v, "before", q.Before)
	var out struct {
		Jobs []api.Job `json:"jobs"`
		// Next is raw so that both "42" and 42 decode: the cursor is opaque to clients.
		Next json.RawMessage `json:"next"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/jobs", v, nil, &out); err != nil {
		return JobPage{}, err
	}
	next := strings.Trim(string(out.Next), `"`)
	if next == "null" {
		next = ""
	}
	return JobPage{Jobs: out.Jobs, Next: next}, nil
}

// Job returns one job with its log.
func (c *Client) Job(ctx context.Context, id int64) (api.Job, error) {
	var out api.Job
	err := c.do(ctx, http.MethodGet, idPath("/api/v1/jobs/%d", id), nil, nil, &out)
	return out, err
}

// CancelJob asks the server to cancel a job; a running job stops at its next checkpoint.
func (c *Client) CancelJob(ctx context.Context, id int64) (api.Job, error) {
	var out api.Job
	err := c.do(ctx, http.MethodPost, idPath("/api/v1/jobs/%d/cancel", id), nil, nil, &out)
	return out, err
}

// Finished reports whether a job has reached a final state.
func Finished(j api.Job) bool {
	switch j.State {
	case "succeeded", "failed", "cancelled":
		return true
	}
	return false
}

// WaitJob polls a job every interval until it has succeeded, failed or been cancelled, and
// returns it in that state; a failed job is not an error here, callers look at State.
// onProgress, when not nil, sees the job after every poll, the last one included.
// A few failed polls in a row are tolerated, so a server restart does not end the wait.
func (c *Client) WaitJob(ctx context.Context, id int64, every time.Duration, onProgress func(api.Job)) (api.Job, error) {
	const maxFailures = 3
	if every <= 0 {
		every = time.Second
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	failures := 0
	for {
		job, err := c.Job(ctx, id)
		switch {
		case err == nil:
			failures = 0
			if onProgress != nil {
				onProgress(job)
			}
			if Finished(job) {
				return job, nil
			}
		case ctx.Err() != nil:
			return api.Job{}, fmt.Errorf("wait for job %d: %w", id, ctx.Err())
		case retryable(err) && failures < maxFailures:
			failures++
		default:
			return api.Job{}, fmt.Errorf("wait for job %d: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return api.Job{}, fmt.Errorf("wait for job %d: %w", id, ctx.Err())
		case <-ticker.C:
		}
	}
}

// retryable is true for errors a later poll may not see: the network, or the server's side.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500
	}
	return true
}

func setIf(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// Connectors lists the registered remote connectors.
func (c *Client) Connectors(ctx context.Context) ([]api.Connector, error) {
	var out struct {
		Connectors []api.Connector `json:"connectors"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/connectors", nil, nil, &out)
	return out.Connectors, err
}

// RegisterConnector registers the connector at in.URL under in.Name; the server fetches
// its spec first.
func (c *Client) RegisterConnector(ctx context.Context, in api.ConnectorInput) (api.Connector, error) {
	var out api.Connector
	err := c.do(ctx, http.MethodPost, "/api/v1/connectors", nil, in, &out)
	return out, err
}

// RefreshConnector fetches the connector's spec again and re-validates its connections.
func (c *Client) RefreshConnector(ctx context.Context, name string) (api.ConnectorRefresh, error) {
	var out api.ConnectorRefresh
	err := c.do(ctx, http.MethodPost, "/api/v1/connectors/"+url.PathEscape(name)+"/refresh", nil, nil, &out)
	return out, err
}

// RemoveConnector unregisters a connector; the server refuses (409) while connections use it.
func (c *Client) RemoveConnector(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/connectors/"+url.PathEscape(name), nil, nil, nil)
}
