package connector

import (
	"bufio"
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

	"github.com/cenkalti/backoff/v5"

	"github.com/junction-hub/junction/internal/driver"
)

// Options tune a Client. The zero value works.
type Options struct {
	// Token, when set, is sent as "Authorization: Bearer TOKEN".
	Token string
	// HTTPClient makes the requests; nil uses a client with no total timeout (each call sets
	// its own, and reads use IdleTimeout).
	HTTPClient *http.Client
	// Timeout bounds one attempt of spec, check, discover, write and lookup; 0 means 30s.
	Timeout time.Duration
	// RetryFor bounds how long transient failures of those calls (and of opening a read)
	// are retried with exponential backoff; 0 means 30s, negative disables retries.
	RetryFor time.Duration
	// IdleTimeout is the longest a read waits for its next line. A read has no total
	// timeout: a million records may take a while, but a silent connector is a dead one.
	// 0 means 2 minutes.
	IdleTimeout time.Duration
	// MaxLineBytes bounds one NDJSON line, which bounds a read's memory; 0 means 16 MiB.
	MaxLineBytes int
}

func (o Options) withDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.RetryFor == 0 {
		o.RetryFor = 30 * time.Second
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	if o.MaxLineBytes == 0 {
		o.MaxLineBytes = 16 << 20
	}
	return o
}

// Client is a remote connector seen as a driver.Driver. It also has the Write and Lookup
// methods, which refuse when the spec does not declare the power; hand Driver() to code
// that discovers powers by type assertion.
type Client struct {
	url  string
	spec driver.Spec
	opts Options
}

// Dial fetches the connector's spec and returns a client for it.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	c := &Client{url: strings.TrimRight(url, "/"), opts: opts}
	raw, err := c.specDocument(ctx)
	if err != nil {
		return nil, err
	}
	spec, err := parseSpec(raw)
	if err != nil {
		return nil, &ProtocolError{Call: "spec", Msg: err.Error()}
	}
	c.spec = spec
	return c, nil
}

// NewClient returns a client for a connector whose spec is already known (Junction keeps the
// spec it fetched when the connector was registered, so a job needs no extra round trip).
func NewClient(url string, spec driver.Spec, opts Options) *Client {
	return &Client{url: strings.TrimRight(url, "/"), spec: spec, opts: opts.withDefaults()}
}

// FetchSpec fetches and validates a connector's spec.
func FetchSpec(ctx context.Context, url string, opts Options) (driver.Spec, error) {
	c, err := Dial(ctx, url, opts)
	if err != nil {
		return driver.Spec{}, err
	}
	return c.spec, nil
}

// URL is the connector's base URL.
func (c *Client) URL() string { return c.url }

// Spec returns the connector's spec as fetched.
func (c *Client) Spec() driver.Spec { return c.spec }

// Driver returns c as a value that implements driver.Writer and driver.Looker only when
// the spec declares them, so type assertions find exactly the connector's powers.
func (c *Client) Driver() driver.Driver {
	caps := c.spec.Capabilities
	switch {
	case caps.Write && caps.Lookup:
		return struct {
			readOnly
			writeOnly
			lookupOnly
		}{readOnly{c}, writeOnly{c}, lookupOnly{c}}
	case caps.Write:
		return struct {
			readOnly
			writeOnly
		}{readOnly{c}, writeOnly{c}}
	case caps.Lookup:
		return struct {
			readOnly
			lookupOnly
		}{readOnly{c}, lookupOnly{c}}
	}
	return readOnly{c}
}

type readOnly struct{ c *Client }

func (r readOnly) Spec() driver.Spec { return r.c.Spec() }
func (r readOnly) Check(ctx context.Context, cfg driver.Config) error {
	return r.c.Check(ctx, cfg)
}
func (r readOnly) Discover(ctx context.Context, cfg driver.Config) (*driver.Catalog, error) {
	return r.c.Discover(ctx, cfg)
}
func (r readOnly) Read(ctx context.Context, cfg driver.Config, req driver.ReadRequest, out driver.Emitter) error {
	return r.c.Read(ctx, cfg, req, out)
}

type writeOnly struct{ c *Client }

func (w writeOnly) Write(ctx context.Context, cfg driver.Config, entity string, records []driver.WriteRecord) ([]driver.WriteResult, error) {
	return w.c.Write(ctx, cfg, entity, records)
}

type lookupOnly struct{ c *Client }

func (l lookupOnly) Lookup(ctx context.Context, cfg driver.Config, entity string, keys, fields []string) (map[string]map[string]any, error) {
	return l.c.Lookup(ctx, cfg, entity, keys, fields)
}

// Check asks the connector whether cfg reaches the system.
func (c *Client) Check(ctx context.Context, cfg driver.Config) error {
	var resp checkResponse
	if err := c.call(ctx, "check", PathCheck, newConfigRequest(cfg), &resp, true); err != nil {
		return err
	}
	switch {
	case resp.OK:
		return nil
	case len(resp.FieldErrors) > 0:
		return resp.FieldErrors
	case resp.Message == "":
		return fmt.Errorf("check: %w: the connector refused the configuration without saying why", driver.ErrConfig)
	}
	return fmt.Errorf("check: %w: %s", driver.ErrConfig, resp.Message)
}

// Discover asks the connector for the system's data model.
func (c *Client) Discover(ctx context.Context, cfg driver.Config) (*driver.Catalog, error) {
	var cat driver.Catalog
	if err := c.call(ctx, "discover", PathDiscover, newConfigRequest(cfg), &cat, true); err != nil {
		return nil, err
	}
	return &cat, nil
}

// Write sends records and returns the connector's result per record. A batch is retried on
// transient errors only when every operation in it is idempotent (upsert, update, delete):
// a create that timed out may have happened, and sending it again could make a double.
func (c *Client) Write(ctx context.Context, cfg driver.Config, entity string, records []driver.WriteRecord) ([]driver.WriteResult, error) {
	call := "write " + entity
	if !c.spec.Capabilities.Write {
		return nil, fmt.Errorf("%s: %w: the connector's spec does not declare write", call, driver.ErrConfig)
	}
	idempotent := true
	for _, r := range records {
		if r.Op == driver.OpCreate {
			idempotent = false
		}
	}
	var resp writeResponse
	req := writeRequest{configRequest: newConfigRequest(cfg), Entity: entity, Records: records}
	if err := c.call(ctx, call, PathWrite, req, &resp, idempotent); err != nil {
		return nil, err
	}
	if len(resp.Results) != len(records) {
		return nil, &ProtocolError{Call: call, Msg: fmt.Sprintf("%d results for %d records", len(resp.Results), len(records))}
	}
	return resp.Results, nil
}

// Lookup asks the connector for live values.
func (c *Client) Lookup(ctx context.Context, cfg driver.Config, entity string, keys, fields []string) (map[string]map[string]any, error) {
	call := "lookup " + entity
	if !c.spec.Capabilities.Lookup {
		return nil, fmt.Errorf("%s: %w: the connector's spec does not declare lookup", call, driver.ErrConfig)
	}
	var resp lookupResponse
	req := lookupRequest{configRequest: newConfigRequest(cfg), Entity: entity, Keys: keys, Fields: fields}
	if err := c.call(ctx, call, PathLookup, req, &resp, true); err != nil {
		return nil, err
	}
	if resp.Values == nil {
		resp.Values = map[string]map[string]any{}
	}
	return resp.Values, nil
}

// Read streams one entity from the connector into out, line by line: at most one line is in
// memory at a time, and out's methods block the read while the syncer stores a page. Opening
// the stream is retried on transient errors (nothing has been emitted yet); once lines flow,
// any failure ends the read, and the sync resumes from its last checkpoint:
//   - the stream ends without an end line, or the connection drops → ErrTransient (ErrTruncated)
//   - no line arrives for IdleTimeout → ErrTransient
//   - a malformed line → *ProtocolError naming the line (a config error: fix the connector)
//   - an error line → the error its kind says
func (c *Client) Read(ctx context.Context, cfg driver.Config, req driver.ReadRequest, out driver.Emitter) error {
	call := "read " + req.Entity
	body := readRequest{configRequest: newConfigRequest(cfg), Entity: req.Entity, Mode: req.Mode, Cursor: req.Cursor, PageSize: req.PageSize}
	if body.Mode == "" {
		body.Mode = driver.ReadFull
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", call, err)
	}

	// The read's context is cancelled by the idle timer when the connector goes silent.
	readCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errIdle := fmt.Errorf("%s: %w: no line from the connector for %s", call, driver.ErrTransient, c.opts.IdleTimeout)
	idle := time.AfterFunc(c.opts.IdleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()

	resp, err := c.retry(ctx, true, func() (*http.Response, error) {
		idle.Reset(c.opts.IdleTimeout)
		return c.send(readCtx, call, PathRead, payload)
	})
	if err != nil {
		if cause := context.Cause(readCtx); errors.Is(cause, errIdle) {
			return errIdle
		}
		return err
	}
	defer resp.Body.Close()

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), c.opts.MaxLineBytes)
	n := 0
	for {
		idle.Reset(c.opts.IdleTimeout)
		more := sc.Scan()
		idle.Stop()
		if !more {
			break
		}
		n++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		l, err := parseLine(raw)
		if err != nil {
			return &ProtocolError{Call: call, Line: n, Msg: err.Error()}
		}
		switch l.Type {
		case lineRecord:
			r := driver.Record{Key: *l.Key, Fields: l.Fields, UpdatedAt: l.UpdatedAt}
			if r.Fields == nil {
				r.Fields = map[string]any{}
			}
			err = out.Record(ctx, r)
		case lineDelete:
			err = out.Delete(ctx, *l.Key)
		case lineCheckpoint:
			err = out.Checkpoint(ctx, *l.Cursor)
		case lineLog:
			out.Log(ctx, l.Message)
		case lineError:
			return errorFor(call, problem{Kind: l.Kind, Detail: l.Message})
		case lineEnd:
			return nil // whatever follows is not part of the read
		}
		if err != nil {
			return err
		}
	}
	err = sc.Err()
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		return &ProtocolError{Call: call, Line: n + 1, Msg: fmt.Sprintf("longer than %d bytes", c.opts.MaxLineBytes)}
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(context.Cause(readCtx), errIdle):
		return errIdle
	case err != nil:
		return fmt.Errorf("%s: %w: %w: connection lost after line %d: %v", call, driver.ErrTransient, ErrTruncated, n, err)
	}
	return fmt.Errorf("%s: %w: %w (after line %d): the connector stopped or the connection dropped", call, driver.ErrTransient, ErrTruncated, n)
}

// parseLine decodes and checks one NDJSON line of a read.
func parseLine(raw []byte) (line, error) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep 64-bit integers exact, as built-in drivers give them
	if err := dec.Decode(&l); err != nil {
		return l, fmt.Errorf("not a JSON object: %v", err)
	}
	if dec.More() {
		return l, errors.New("more than one JSON value on the line")
	}
	switch l.Type {
	case lineRecord:
		if l.Key == nil || *l.Key == "" {
			return l, errors.New(`record without a "key"`)
		}
	case lineDelete:
		if l.Key == nil || *l.Key == "" {
			return l, errors.New(`delete without a "key"`)
		}
	case lineCheckpoint:
		if l.Cursor == nil {
			return l, errors.New(`checkpoint without a "cursor"`)
		}
	case lineLog, lineEnd:
	case lineError:
		if l.Kind != KindConfig && l.Kind != KindTransient && l.Kind != KindSystem {
			return l, fmt.Errorf("error line with unknown kind %q", l.Kind)
		}
	case "":
		return l, errors.New(`no "type"`)
	default:
		return l, fmt.Errorf("unknown type %q", l.Type)
	}
	return l, nil
}

// call posts a JSON request and decodes a JSON answer, retrying transient failures when
// the call is safe to repeat.
func (c *Client) call(ctx context.Context, name, path string, req, resp any, idempotent bool) error {
	payload, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", name, err)
	}
	_, err = retryValue(ctx, c, idempotent, func() (struct{}, error) {
		attempt, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
		r, err := c.send(attempt, name, path, payload)
		if err != nil {
			return struct{}{}, err
		}
		defer r.Body.Close()
		if err := decodeJSON(r.Body, resp); err != nil {
			if attempt.Err() != nil || isNetError(err) {
				return struct{}{}, fmt.Errorf("%s: %w: reading the answer: %v", name, driver.ErrTransient, err)
			}
			return struct{}{}, &ProtocolError{Call: name, Msg: "the answer is not the JSON this call returns: " + err.Error()}
		}
		return struct{}{}, nil
	})
	return err
}

// specDocument fetches GET /v1/spec as raw JSON, for Dial and the conformance kit.
func (c *Client) specDocument(ctx context.Context) ([]byte, error) {
	return retryValue(ctx, c, true, func() ([]byte, error) {
		attempt, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
		r, err := c.do(attempt, "spec", http.MethodGet, PathSpec, nil)
		if err != nil {
			return nil, err
		}
		defer r.Body.Close()
		b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			return nil, fmt.Errorf("spec: %w: %v", driver.ErrTransient, err)
		}
		return b, nil
	})
}

// parseSpec decodes a spec document and checks it the way built-in specs are checked.
func parseSpec(raw []byte) (driver.Spec, error) {
	var spec driver.Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return spec, fmt.Errorf("not a spec document: %v", err)
	}
	if err := spec.Valid(); err != nil {
		return spec, err
	}
	return spec, nil
}

func (c *Client) send(ctx context.Context, name, path string, payload []byte) (*http.Response, error) {
	return c.do(ctx, name, http.MethodPost, path, payload)
}

// do makes one request and turns every failure into the error a driver would return;
// on success the caller closes the body.
func (c *Client) do(ctx context.Context, name, method, path string, payload []byte) (*http.Response, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: connector URL: %v", name, driver.ErrConfig, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", contentJSON)
	}
	req.Header.Set("Accept", contentJSON+", "+contentNDJSON+", "+contentProblem)
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil && context.Cause(ctx) == context.Canceled {
			return nil, ctx.Err()
		}
		// Refused, reset, timed out, DNS: all may pass.
		return nil, fmt.Errorf("%s: %w: %v", name, driver.ErrTransient, redactURL(err))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	err = errorFromResponse(name, resp)
	if after := retryAfter(resp); after > 0 && errors.Is(err, driver.ErrTransient) {
		return nil, retryAfterError{err: err, after: after}
	}
	return nil, err
}

// errorFromResponse reads a non-2xx answer: problem+json when the connector follows the
// protocol, else whatever the status says.
func errorFromResponse(name string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p problem
	if strings.HasPrefix(resp.Header.Get("Content-Type"), contentProblem) && json.Unmarshal(b, &p) == nil {
		if p.Status == 0 {
			p.Status = resp.StatusCode
		}
		return errorFor(name, p)
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return kindFromStatus(name, resp.StatusCode, msg)
}

// retryAfterError carries a 429/503's Retry-After to the backoff.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e retryAfterError) Error() string { return e.err.Error() }
func (e retryAfterError) Unwrap() error { return e.err }

func retryAfter(resp *http.Response) time.Duration {
	s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || s <= 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, time.Minute)
}

func (c *Client) retry(ctx context.Context, idempotent bool, op func() (*http.Response, error)) (*http.Response, error) {
	return retryValue(ctx, c, idempotent, op)
}

// retryValue runs op until it succeeds, fails with anything but ErrTransient, or RetryFor
// has passed, waiting with exponential backoff (or longer, when the connector's Retry-After
// asks for it) between attempts.
func retryValue[T any](ctx context.Context, c *Client, idempotent bool, op func() (T, error)) (T, error) {
	if c.opts.RetryFor < 0 || !idempotent {
		return op()
	}
	b := &hintedBackOff{ExponentialBackOff: backoff.NewExponentialBackOff()}
	b.InitialInterval = 200 * time.Millisecond
	b.MaxInterval = 5 * time.Second
	return backoff.Retry(ctx, func() (T, error) {
		v, err := op()
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, driver.ErrTransient) || ctx.Err() != nil {
			return v, backoff.Permanent(err)
		}
		var ra retryAfterError
		if errors.As(err, &ra) {
			b.hint = ra.after
		}
		return v, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(c.opts.RetryFor))
}

// hintedBackOff waits at least what the last Retry-After asked for.
type hintedBackOff struct {
	*backoff.ExponentialBackOff
	hint time.Duration
}

func (b *hintedBackOff) NextBackOff() time.Duration {
	d := b.ExponentialBackOff.NextBackOff()
	if d != backoff.Stop && b.hint > d {
		d = b.hint
	}
	b.hint = 0
	return d
}

func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return dec.Decode(v)
}

// isNetError reports whether reading a body failed in transport rather than in decoding.
func isNetError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return !errors.As(err, &se) && !errors.As(err, &te) && !errors.Is(err, io.EOF)
}

// redactURL drops the URL from a transport error: a connector URL may carry a secret in its
// query string, and the operation name says which call failed anyway.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
