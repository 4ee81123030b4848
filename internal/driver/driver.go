// Package driver defines what Junction needs from code that speaks to one kind of system,
// and the registry built-in drivers add themselves to, as database/sql drivers do.
//
// Every driver is stateless: each call gets the connection's Config, so the same code path
// serves built-in drivers and remote connectors (whose protocol is stateless too).
// Optional powers (Writer, Looker) are separate interfaces the core discovers with a type
// assertion.
package driver

import (
	"context"
	"errors"
	"time"
)

// Driver is what every driver does.
type Driver interface {
	// Spec declares the driver's fields, capabilities and entity types. It never changes
	// while the process runs.
	Spec() Spec
	// Check verifies that the credentials and settings reach the system. A problem with a
	// given field is returned as FieldErrors; an unreachable system as an error wrapping
	// ErrConfig or ErrTransient.
	Check(ctx context.Context, cfg Config) error
	// Discover returns the system's data model.
	Discover(ctx context.Context, cfg Config) (*Catalog, error)
	// Read streams one entity's records into out, starting after req.Cursor (empty: from
	// the start). It calls out.Checkpoint after every page with a cursor from which a later
	// Read resumes without losing or repeating a page.
	Read(ctx context.Context, cfg Config, req ReadRequest, out Emitter) error
}

// Writer is implemented by drivers that can change records in their system.
type Writer interface {
	// Write applies records and reports a result per record, in the same order.
	// An error return means the whole batch failed and nothing can be said per record.
	Write(ctx context.Context, cfg Config, entity string, records []WriteRecord) ([]WriteResult, error)
}

// Looker is implemented by drivers that answer live reads of single values (price, stock).
type Looker interface {
	Lookup(ctx context.Context, cfg Config, entity string, keys []string, fields []string) (map[string]map[string]any, error)
}

// ReadMode says whether a read starts over or continues from the saved cursor.
type ReadMode string

const (
	ReadFull        ReadMode = "full"
	ReadIncremental ReadMode = "incremental"
)

// ReadRequest asks for one entity's records.
type ReadRequest struct {
	Entity   string
	Mode     ReadMode
	Cursor   string // opaque, from an earlier Checkpoint; empty starts from the beginning
	PageSize int    // records between checkpoints; drivers may use less
}

// Record is one remote object as the driver reads it.
type Record struct {
	Key       string         // the remote key; composite keys are encoded by the driver
	Fields    map[string]any // JSON-compatible values
	UpdatedAt *time.Time     // when the system last changed it, if it says
}

// Emitter receives a read's stream. Its methods block while the consumer stores what it
// got, which keeps memory bounded; an error from them must end the read.
type Emitter interface {
	Record(ctx context.Context, r Record) error
	Delete(ctx context.Context, key string) error
	Checkpoint(ctx context.Context, cursor string) error
	Log(ctx context.Context, message string)
}

// WriteOp says what a write does to one record.
type WriteOp string

const (
	OpCreate WriteOp = "create"
	OpUpsert WriteOp = "upsert"
	OpUpdate WriteOp = "update"
	OpDelete WriteOp = "delete"
)

// WriteRecord is one record to write.
type WriteRecord struct {
	Key    string         `json:"key"`
	Op     WriteOp        `json:"op"`
	Fields map[string]any `json:"fields"`
}

// WriteResult is the outcome of one WriteRecord.
type WriteResult struct {
	Key   string `json:"key"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Errors callers branch on. Drivers wrap them: fmt.Errorf("connect: %w", driver.ErrTransient).
var (
	// ErrConfig means a person must fix the credentials or settings; retrying will not help.
	ErrConfig = errors.New("configuration error")
	// ErrTransient means the same call may succeed later (timeouts, resets, 429, 5xx).
	ErrTransient = errors.New("transient error")
	// ErrUnknownEntity means the entity is not (or no longer) in the system.
	ErrUnknownEntity = errors.New("unknown entity")
)

// IsConfig reports whether err asks a person to change the configuration.
func IsConfig(err error) bool {
	var fe FieldErrors
	return errors.Is(err, ErrConfig) || errors.Is(err, ErrUnknownEntity) || errors.As(err, &fe)
}
