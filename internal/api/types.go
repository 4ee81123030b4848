package api

import (
	"encoding/json"
	"time"

	"github.com/junction-hub/junction/internal/driver"
)

// The JSON shapes of API v1. The CLI's client decodes the same types.

// Connection is a connection as the API shows it: secrets masked.
type Connection struct {
	ID            int64          `json:"id"`
	Name          string         `json:"name"`
	Driver        string         `json:"driver"`
	Description   string         `json:"description"`
	Status        string         `json:"status" enum:"active,inactive"`
	Health        Health         `json:"health"`
	Credentials   map[string]any `json:"credentials" doc:"secret fields come back as ********"`
	Settings      map[string]any `json:"settings"`
	LastSyncAt    *time.Time     `json:"last_sync_at,omitempty"`
	LastSyncJobID *int64         `json:"last_sync_job_id,omitempty"`
	Schedule      string         `json:"schedule" doc:"empty: manual syncs only; an interval (15m) or a cron expression (*/15 * * * *), in UTC"`
	NextSyncAt    *time.Time     `json:"next_sync_at,omitempty" doc:"when the schedule next starts a sync; absent when manual or inactive"`
	Scope         Scope          `json:"scope"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// Health is the outcome of the last check or sync.
type Health struct {
	State     string     `json:"state" enum:"unknown,ok,failing"`
	Message   string     `json:"message,omitempty"`
	CheckedAt *time.Time `json:"checked_at,omitempty"`
}

// ConnectionInput creates or edits a connection. On edit, absent fields stay as they are;
// a secret field sent as ******** (or left out) keeps its stored value.
type ConnectionInput struct {
	Name        *string        `json:"name,omitempty"`
	Driver      *string        `json:"driver,omitempty"`
	Description *string        `json:"description,omitempty"`
	Credentials map[string]any `json:"credentials,omitempty"`
	Settings    map[string]any `json:"settings,omitempty"`
	Schedule    *string        `json:"schedule,omitempty" doc:"empty for manual syncs only, an interval of at least 1m (15m, 2h), or a 5-field cron expression (0 6 * * 1-5) in UTC"`
	Scope       *Scope         `json:"scope,omitempty" doc:"who sees the connection; absent on create: everyone"`
}

// Scope says who in the workspace sees a connection: everyone, or only the listed users
// and the members of the listed groups (admins and owners always see it).
type Scope struct {
	Mode   string  `json:"mode" enum:"everyone,restricted"`
	Users  []int64 `json:"users,omitempty" doc:"user ids, with mode restricted"`
	Groups []int64 `json:"groups,omitempty" doc:"group ids, with mode restricted"`
}

// ConnectionWithJob answers changes that start a job (create, edit, enable).
type ConnectionWithJob struct {
	Connection Connection `json:"connection"`
	JobID      *int64     `json:"job_id,omitempty" doc:"the sync this change started"`
}

// JobRef answers requests that start a job.
type JobRef struct {
	JobID int64 `json:"job_id"`
	// Existing is true when a sync of the connection was already pending or running and
	// that job is returned instead of a new one.
	Existing bool `json:"existing,omitempty"`
}

// CheckInput optionally overrides stored credentials and settings for a check.
type CheckInput struct {
	Credentials map[string]any `json:"credentials,omitempty"`
	Settings    map[string]any `json:"settings,omitempty"`
}

// CheckResult is the outcome of a check.
type CheckResult struct {
	OK          bool                `json:"ok"`
	Message     string              `json:"message,omitempty"`
	FieldErrors []driver.FieldError `json:"field_errors,omitempty"`
	JobID       int64               `json:"job_id"`
}

// BulkInput applies one action to several connections.
type BulkInput struct {
	Action string  `json:"action" enum:"sync,enable,disable,delete"`
	IDs    []int64 `json:"ids" minItems:"1" maxItems:"500"`
}

// BulkResult is the outcome for one id of a bulk action.
type BulkResult struct {
	ID     int64  `json:"id"`
	OK     bool   `json:"ok"`
	Status int    `json:"status" doc:"the HTTP status the single action would have answered"`
	Error  string `json:"error,omitempty"`
	JobID  *int64 `json:"job_id,omitempty"`
}

// Job is a job as the Processes view shows it.
type Job struct {
	ID           int64      `json:"id"`
	ConnectionID *int64     `json:"connection_id,omitempty"`
	FlowID       *int64     `json:"flow_id,omitempty" doc:"the flow a flow run belongs to"`
	Kind         string     `json:"kind" enum:"check,sync,purge,flow"`
	State        string     `json:"state" enum:"pending,running,succeeded,failed,cancelled"`
	Attempts     int        `json:"attempts"`
	MaxAttempts  int        `json:"max_attempts"`
	Node         string     `json:"node,omitempty" doc:"the junction serve process that runs the job (or ran it last)"`
	Progress     Progress   `json:"progress"`
	Error        string     `json:"error,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	Log          []LogLine  `json:"log,omitempty"`
}

// Progress counts what a job has done so far.
type Progress struct {
	Read      int64 `json:"read"`
	Written   int64 `json:"written" doc:"inserted + updated"`
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Gone      int64 `json:"gone"`
	// A flow run's counters: considered (= read), written (created = inserted, updated,
	// and written back), skipped and failed records.
	Considered int64 `json:"considered,omitempty"`
	Skipped    int64 `json:"skipped,omitempty"`
	Failed     int64 `json:"failed,omitempty"`
}

// LogLine is one line of a job's log.
type LogLine struct {
	At      time.Time `json:"at"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
}

// Catalog is a connection's mirrored data model.
type Catalog struct {
	DiscoveredAt time.Time `json:"discovered_at"`
	driver.Catalog
}

// Record is one mirrored record.
type Record struct {
	Entity          string          `json:"entity"`
	Key             string          `json:"key"`
	Fields          json.RawMessage `json:"fields"`
	Hash            string          `json:"hash"`
	State           string          `json:"state" enum:"live,gone"`
	RemoteUpdatedAt *time.Time      `json:"remote_updated_at,omitempty"`
	FirstSeen       time.Time       `json:"first_seen"`
	LastSeen        time.Time       `json:"last_seen"`
	GoneAt          *time.Time      `json:"gone_at,omitempty"`
}

// RecordPage is a page of records; pass Next as ?after= for the next one.
type RecordPage struct {
	Records []Record `json:"records"`
	Next    string   `json:"next,omitempty"`
}
