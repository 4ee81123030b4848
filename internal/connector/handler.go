package connector

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
)

// HandlerOptions tune Handler.
type HandlerOptions struct {
	// Token, when set, must come as "Authorization: Bearer TOKEN" on every request.
	Token string
	// Logger receives one line per failed request (never a secret); nil discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body (a write batch is the largest); 0 means 64 MiB.
	MaxBodyBytes int64
	// DefaultPageSize is used when a read asks for no page size; 0 means 1000.
	DefaultPageSize int
}

// Handler serves d over connector protocol v1. It validates every request's credentials and
// settings against d's spec first (a wrong field is a 422 with field_errors, as Junction
// itself answers), so d sees the same normalised Config as when it runs built in.
func Handler(d driver.Driver, opts HandlerOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 64 << 20
	}
	if opts.DefaultPageSize == 0 {
		opts.DefaultPageSize = 1000
	}
	h := &handler{d: d, spec: d.Spec(), opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathSpec, h.serveSpec)
	mux.HandleFunc("POST "+PathCheck, h.serveCheck)
	mux.HandleFunc("POST "+PathDiscover, h.serveDiscover)
	mux.HandleFunc("POST "+PathRead, h.serveRead)
	mux.HandleFunc("POST "+PathWrite, h.serveWrite)
	mux.HandleFunc("POST "+PathLookup, h.serveLookup)
	return h.authorize(mux)
}

type handler struct {
	d    driver.Driver
	spec driver.Spec
	opts HandlerOptions
}

func (h *handler) authorize(next http.Handler) http.Handler {
	if h.opts.Token == "" {
		return next
	}
	want := []byte("Bearer " + h.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			h.problem(w, r, problem{Status: http.StatusUnauthorized, Kind: KindConfig,
				Detail: "missing or wrong bearer token"}, nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handler) serveSpec(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.spec)
}

func (h *handler) serveCheck(w http.ResponseWriter, r *http.Request) {
	var req configRequest
	cfg, ok := h.decode(w, r, &req, func() driver.Config { return req.config() })
	if !ok {
		return
	}
	err := h.d.Check(r.Context(), cfg)
	resp := checkResponse{OK: err == nil, FieldErrors: driver.FieldErrors{}}
	var fe driver.FieldErrors
	switch {
	case err == nil:
	case errors.As(err, &fe):
		resp.FieldErrors, resp.Message = fe, scrub(err.Error(), h.spec.SecretValues(cfg))
	case driver.IsConfig(err):
		resp.Message = scrub(err.Error(), h.spec.SecretValues(cfg))
	default:
		// Transient and system failures are not answers about the config: they are errors.
		h.problem(w, r, problemFor(err), h.spec.SecretValues(cfg))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) serveDiscover(w http.ResponseWriter, r *http.Request) {
	var req configRequest
	cfg, ok := h.decode(w, r, &req, func() driver.Config { return req.config() })
	if !ok {
		return
	}
	cat, err := h.d.Discover(r.Context(), cfg)
	if err != nil {
		h.problem(w, r, problemFor(err), h.spec.SecretValues(cfg))
		return
	}
	if cat.Entities == nil {
		cat.Entities = []driver.Entity{}
	}
	if cat.ValueLists == nil {
		cat.ValueLists = []driver.ValueList{}
	}
	writeJSON(w, http.StatusOK, cat)
}

func (h *handler) serveWrite(w http.ResponseWriter, r *http.Request) {
	var req writeRequest
	cfg, ok := h.decode(w, r, &req, func() driver.Config { return req.config() })
	if !ok {
		return
	}
	wr, can := h.d.(driver.Writer)
	if !can || !h.spec.Capabilities.Write {
		h.problem(w, r, problem{Status: http.StatusNotImplemented, Kind: KindConfig, Detail: "this connector cannot write"}, nil)
		return
	}
	results, err := wr.Write(r.Context(), cfg, req.Entity, req.Records)
	if err != nil {
		h.problem(w, r, problemFor(fmt.Errorf("write %s: %w", req.Entity, err)), h.spec.SecretValues(cfg))
		return
	}
	if results == nil {
		results = []driver.WriteResult{}
	}
	writeJSON(w, http.StatusOK, writeResponse{Results: results})
}

func (h *handler) serveLookup(w http.ResponseWriter, r *http.Request) {
	var req lookupRequest
	cfg, ok := h.decode(w, r, &req, func() driver.Config { return req.config() })
	if !ok {
		return
	}
	lk, can := h.d.(driver.Looker)
	if !can || !h.spec.Capabilities.Lookup {
		h.problem(w, r, problem{Status: http.StatusNotImplemented, Kind: KindConfig, Detail: "this connector cannot look up values"}, nil)
		return
	}
	values, err := lk.Lookup(r.Context(), cfg, req.Entity, req.Keys, req.Fields)
	if err != nil {
		h.problem(w, r, problemFor(fmt.Errorf("lookup %s: %w", req.Entity, err)), h.spec.SecretValues(cfg))
		return
	}
	if values == nil {
		values = map[string]map[string]any{}
	}
	writeJSON(w, http.StatusOK, lookupResponse{Values: values})
}

// serveRead streams the read as NDJSON. Nothing is written until the driver emits its first
// line, so an error before that (an unknown entity, bad credentials) is still a proper
// problem+json answer; an error after it becomes an error line, and the end line is only
// written when the driver returned nil, which is how the client tells a finished read from a
// cut one. Each write blocks while the client is slow, so memory stays bounded here too.
func (h *handler) serveRead(w http.ResponseWriter, r *http.Request) {
	var req readRequest
	cfg, ok := h.decode(w, r, &req, func() driver.Config { return req.config() })
	if !ok {
		return
	}
	if req.Mode == "" {
		req.Mode = driver.ReadFull
	}
	if req.Mode != driver.ReadFull && req.Mode != driver.ReadIncremental {
		h.problem(w, r, problem{Status: http.StatusBadRequest, Kind: KindSystem,
			Detail: fmt.Sprintf("mode must be full or incremental, not %q", req.Mode)}, nil)
		return
	}
	if req.PageSize <= 0 {
		req.PageSize = h.opts.DefaultPageSize
	}
	s := &stream{w: w, rc: http.NewResponseController(w)}
	err := h.d.Read(r.Context(), cfg, driver.ReadRequest{
		Entity: req.Entity, Mode: req.Mode, Cursor: req.Cursor, PageSize: req.PageSize,
	}, s)
	secrets := h.spec.SecretValues(cfg)
	switch {
	case err != nil && !s.started:
		h.problem(w, r, problemFor(fmt.Errorf("read %s: %w", req.Entity, err)), secrets)
		return
	case err != nil:
		if r.Context().Err() != nil || s.broken != nil {
			return // the client went away; nobody is listening
		}
		p := problemFor(err)
		h.opts.Logger.Warn("read failed mid-stream", "entity", req.Entity, "kind", p.Kind, "error", scrub(err.Error(), secrets))
		_ = s.line(line{Type: lineError, Kind: p.Kind, Message: scrub(fmt.Sprintf("read %s: %v", req.Entity, err), secrets)})
	default:
		_ = s.line(line{Type: lineEnd})
	}
	_ = s.flush()
}

// stream is the driver.Emitter of a served read.
type stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	buf     *bufio.Writer
	started bool
	broken  error // a write to the client failed; the read must end
}

func (s *stream) line(l line) error {
	if s.broken != nil {
		return s.broken
	}
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", contentNDJSON)
		s.w.Header().Set("Cache-Control", "no-store")
		s.w.WriteHeader(http.StatusOK)
		s.buf = bufio.NewWriterSize(s.w, 32<<10)
	}
	b, err := jsonLine(l)
	if err != nil {
		return fmt.Errorf("encode %s line: %w", l.Type, err)
	}
	if _, err := s.buf.Write(b); err != nil {
		s.broken = fmt.Errorf("send to client: %w", err)
		return s.broken
	}
	return nil
}

// flush pushes everything written so far to the client, so a checkpoint is on the wire
// before the driver reads the next page.
func (s *stream) flush() error {
	if s.buf == nil || s.broken != nil {
		return s.broken
	}
	if err := s.buf.Flush(); err != nil {
		s.broken = fmt.Errorf("send to client: %w", err)
		return s.broken
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.broken = fmt.Errorf("send to client: %w", err)
		return s.broken
	}
	return nil
}

func (s *stream) Record(ctx context.Context, r driver.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key := r.Key
	return s.line(line{Type: lineRecord, Key: &key, Fields: r.Fields, UpdatedAt: r.UpdatedAt})
}

func (s *stream) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.line(line{Type: lineDelete, Key: &key})
}

func (s *stream) Checkpoint(ctx context.Context, cursor string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.line(line{Type: lineCheckpoint, Cursor: &cursor}); err != nil {
		return err
	}
	return s.flush()
}

func (s *stream) Log(ctx context.Context, message string) {
	_ = s.line(line{Type: lineLog, Message: message})
}

// decode reads a JSON body into req and validates its config against the spec.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, req any, cfg func() driver.Config) (driver.Config, bool) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	dec.UseNumber() // keep 64-bit integers exact
	if err := dec.Decode(req); err != nil {
		h.problem(w, r, problem{Status: http.StatusBadRequest, Kind: KindSystem,
			Detail: "the request body is not the JSON this call takes: " + err.Error()}, nil)
		return driver.Config{}, false
	}
	valid, err := h.spec.Validate(cfg())
	if err != nil {
		h.problem(w, r, problemFor(err), nil)
		return driver.Config{}, false
	}
	return valid, true
}

// problem answers with a problem+json document, scrubbed of the request's secret values.
func (h *handler) problem(w http.ResponseWriter, r *http.Request, p problem, secrets []string) {
	p.Detail = scrub(p.Detail, secrets)
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	h.opts.Logger.Info("connector call failed", "path", r.URL.Path, "status", p.Status, "kind", p.Kind, "detail", p.Detail)
	w.Header().Set("Content-Type", contentProblem)
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// scrub replaces secret values in a message: drivers must not put them in errors, and this
// makes sure a slip never leaves the connector.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, driver.Mask)
		}
	}
	return msg
}
