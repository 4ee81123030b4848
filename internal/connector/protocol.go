// Package connector is connector protocol v1 (docs/connector-protocol.md): Handler serves
// any driver.Driver over HTTP, and Client turns a connector's URL back into a driver.Driver,
// so the syncer uses a remote connector through the same code path as a built-in driver.
package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/junction-hub/junction/internal/driver"
)

// The paths of protocol v1, relative to the connector's base URL.
const (
	PathSpec     = "/v1/spec"
	PathCheck    = "/v1/check"
	PathDiscover = "/v1/discover"
	PathRead     = "/v1/read"
	PathWrite    = "/v1/write"
	PathLookup   = "/v1/lookup"
)

// Media types of the protocol.
const (
	contentJSON    = "application/json"
	contentNDJSON  = "application/x-ndjson"
	contentProblem = "application/problem+json"
)

// Kind says what the caller should do about an error; it travels as problem+json's "kind".
type Kind string

const (
	KindConfig    Kind = "config"    // a person must fix credentials, settings or the connector's registration
	KindTransient Kind = "transient" // the same call may succeed later: retry with backoff
	KindSystem    Kind = "system"    // the connector failed in a way neither retrying nor settings fix
)

// Code refines a problem for the caller; v1 defines one.
const codeUnknownEntity = "unknown_entity"

// ErrSystem marks a `system` problem reported by a connector (a bug or an internal failure
// there). It is neither ErrConfig nor ErrTransient: the job retries a few times, then fails.
var ErrSystem = errors.New("connector system error")

// ErrTruncated marks a read stream that ended without its end line: the connector stopped
// or the connection dropped. Errors carrying it also wrap driver.ErrTransient, because the
// sync retries from its last checkpoint.
var ErrTruncated = errors.New("read stream ended without an end line")

// ProtocolError is a connector breaking the protocol: a malformed NDJSON line, a response
// that is not the JSON it must be. It wraps driver.ErrConfig: the same request would get the
// same answer, so retrying does not help, and a person must fix the connector. The syncer
// then fails the entity at once with this message, and nothing of the page is stored.
type ProtocolError struct {
	Call string // "read products", "discover"
	Line int    // 1-based NDJSON line; 0 when not about a line
	Msg  string
}

func (e *ProtocolError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("connector broke the protocol: %s: line %d: %s", e.Call, e.Line, e.Msg)
	}
	return fmt.Sprintf("connector broke the protocol: %s: %s", e.Call, e.Msg)
}

// Unwrap makes a ProtocolError a configuration error for errors.Is and driver.IsConfig.
func (e *ProtocolError) Unwrap() error { return driver.ErrConfig }

// configRequest is the body of check and discover, and the base of the others.
type configRequest struct {
	Credentials driver.Values `json:"credentials"`
	Settings    driver.Values `json:"settings"`
}

func (r configRequest) config() driver.Config {
	return driver.Config{Credentials: r.Credentials, Settings: r.Settings}
}

func newConfigRequest(cfg driver.Config) configRequest {
	r := configRequest{Credentials: cfg.Credentials, Settings: cfg.Settings}
	if r.Credentials == nil {
		r.Credentials = driver.Values{}
	}
	if r.Settings == nil {
		r.Settings = driver.Values{}
	}
	return r
}

// checkResponse is what POST /v1/check answers with 200.
type checkResponse struct {
	OK          bool               `json:"ok"`
	Message     string             `json:"message,omitempty"`
	FieldErrors driver.FieldErrors `json:"field_errors"`
}

type readRequest struct {
	configRequest
	Entity   string          `json:"entity"`
	Mode     driver.ReadMode `json:"mode"`
	Cursor   string          `json:"cursor"`
	PageSize int             `json:"page_size"`
}

type writeRequest struct {
	configRequest
	Entity  string               `json:"entity"`
	Records []driver.WriteRecord `json:"records"`
}

type writeResponse struct {
	Results []driver.WriteResult `json:"results"`
}

type lookupRequest struct {
	configRequest
	Entity string   `json:"entity"`
	Keys   []string `json:"keys"`
	Fields []string `json:"fields"`
}

type lookupResponse struct {
	Values map[string]map[string]any `json:"values"`
}

// Line types of the read stream.
const (
	lineRecord     = "record"
	lineDelete     = "delete"
	lineCheckpoint = "checkpoint"
	lineLog        = "log"
	lineError      = "error"
	lineEnd        = "end"
)

// line is one NDJSON line of a read. Pointers tell a missing member from an empty one.
type line struct {
	Type      string         `json:"type"`
	Key       *string        `json:"key,omitempty"`
	Fields    map[string]any `json:"fields,omitempty"`
	UpdatedAt *time.Time     `json:"updated_at,omitempty"`
	Cursor    *string        `json:"cursor,omitempty"`
	Message   string         `json:"message,omitempty"`
	Kind      Kind           `json:"kind,omitempty"`
}

// problem is an RFC 9457 problem document with the protocol's extension members.
type problem struct {
	Type        string             `json:"type,omitempty"`
	Title       string             `json:"title"`
	Status      int                `json:"status"`
	Detail      string             `json:"detail,omitempty"`
	Kind        Kind               `json:"kind"`
	Code        string             `json:"code,omitempty"`
	FieldErrors driver.FieldErrors `json:"field_errors,omitempty"`
}

// problemFor turns a driver's error into the problem the connector answers with.
func problemFor(err error) problem {
	var fe driver.FieldErrors
	switch {
	case errors.As(err, &fe):
		return problem{Status: http.StatusUnprocessableEntity, Kind: KindConfig, Detail: err.Error(), FieldErrors: fe}
	case errors.Is(err, driver.ErrUnknownEntity):
		return problem{Status: http.StatusNotFound, Kind: KindConfig, Code: codeUnknownEntity, Detail: err.Error()}
	case errors.Is(err, driver.ErrConfig):
		return problem{Status: http.StatusUnprocessableEntity, Kind: KindConfig, Detail: err.Error()}
	case errors.Is(err, driver.ErrTransient):
		return problem{Status: http.StatusServiceUnavailable, Kind: KindTransient, Detail: err.Error()}
	}
	return problem{Status: http.StatusInternalServerError, Kind: KindSystem, Detail: err.Error()}
}

// errorFor turns a problem (or an error line) back into the error a built-in driver would
// have returned, so callers branch the same way on both.
func errorFor(call string, p problem) error {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if len(p.FieldErrors) > 0 {
		return p.FieldErrors
	}
	switch p.Kind {
	case KindConfig:
		if p.Code == codeUnknownEntity {
			return fmt.Errorf("%s: %w: %s", call, driver.ErrUnknownEntity, msg)
		}
		return fmt.Errorf("%s: %w: %s", call, driver.ErrConfig, msg)
	case KindTransient:
		return fmt.Errorf("%s: %w: %s", call, driver.ErrTransient, msg)
	case KindSystem:
		return fmt.Errorf("%s: %w: %s", call, ErrSystem, msg)
	}
	return kindFromStatus(call, p.Status, msg)
}

// kindFromStatus classifies an HTTP status when the answer carries no kind (a proxy's
// error page, a connector that does not follow the protocol for errors).
func kindFromStatus(call string, status int, msg string) error {
	if msg == "" {
		msg = http.StatusText(status)
	}
	switch status {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return fmt.Errorf("%s: %w: HTTP %d: %s", call, driver.ErrTransient, status, msg)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%s: %w: HTTP %d: the connector refused Junction's auth header: %s", call, driver.ErrConfig, status, msg)
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return fmt.Errorf("%s: %w: HTTP %d: is the URL a protocol v1 connector? %s", call, driver.ErrConfig, status, msg)
	}
	if status >= 400 && status < 500 {
		return fmt.Errorf("%s: %w: HTTP %d: %s", call, driver.ErrConfig, status, msg)
	}
	return fmt.Errorf("%s: %w: HTTP %d: %s", call, ErrSystem, status, msg)
}

// jsonLine encodes v as one NDJSON line.
func jsonLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
