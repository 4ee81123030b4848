// Package connections is the lifecycle of connections (create, edit, check, sync, enable,
// disable, delete) and the jobs that carry it out. The API and the console both call it;
// it is the only place that opens sealed credentials.
package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/schedule"
	"github.com/junction-hub/junction/internal/secret"
	"github.com/junction-hub/junction/internal/store"
	"github.com/junction-hub/junction/internal/syncer"
)

// Errors the API turns into 409.
var (
	ErrInactive = errors.New("the connection is inactive; enable it first")
	ErrActive   = errors.New("the connection is active; disable it before deleting it")
	ErrDeleting = errors.New("the connection is being deleted")
)

// CheckTimeout bounds a credentials check, so a form never hangs on an unreachable host.
const CheckTimeout = 20 * time.Second

// Attempts per job kind before it fails for good.
const (
	syncAttempts  = 5
	checkAttempts = 1
	purgeAttempts = 10
)

// Service runs the connection lifecycle.
type Service struct {
	store   *store.Store
	keyring *secret.Keyring
	runner  *jobs.Runner
	syncer  *syncer.Syncer
	// onSynced runs after every successful sync (see OnSynced).
	onSynced func(ctx context.Context, c store.Connection, syncJob store.Job)
}

// New builds the service. The runner is set later with SetRunner, because the runner needs
// the service's handlers first.
func New(st *store.Store, kr *secret.Keyring, sy *syncer.Syncer) *Service {
	return &Service{store: st, keyring: kr, syncer: sy}
}

// SetRunner connects the service to the job runner that carries out its jobs.
func (s *Service) SetRunner(r *jobs.Runner) { s.runner = r }

// Input creates or edits a connection. Nil fields are left as they are on edit.
type Input struct {
	Name        *string
	Driver      *string
	Description *string
	Credentials map[string]any
	Settings    map[string]any
	Schedule    *string // "" manual only, an interval ("15m") or a cron expression, in UTC
	Scope       *store.Scope
}

// Create validates the input against the driver's spec, checks the credentials against the
// system, and only then stores the connection with its initial sync job. On any failure
// nothing is stored.
func (s *Service) Create(ctx context.Context, workspaceID int64, in Input) (store.Connection, store.Job, error) {
	var errs driver.FieldErrors
	name := strings.TrimSpace(deref(in.Name))
	if name == "" {
		errs = append(errs, driver.FieldError{Field: "name", Message: "is required"})
	} else if len(name) > 200 {
		errs = append(errs, driver.FieldError{Field: "name", Message: "must be at most 200 characters"})
	}
	d, err := s.driverFor(ctx, workspaceID, deref(in.Driver))
	if err != nil {
		errs = append(errs, err.(driver.FieldErrors)...)
		return store.Connection{}, store.Job{}, errs
	}
	spec := d.Spec()
	cfg, err := spec.Validate(driver.Config{Credentials: in.Credentials, Settings: in.Settings})
	if err != nil {
		errs = append(errs, err.(driver.FieldErrors)...)
	}
	sched, err := parseSchedule(deref(in.Schedule))
	if err != nil {
		errs = append(errs, err.(driver.FieldErrors)...)
	}
	if in.Scope != nil {
		if err := validScope(*in.Scope); err != nil {
			errs = append(errs, err...)
		}
	}
	if len(errs) > 0 {
		return store.Connection{}, store.Job{}, errs
	}
	if err := check(ctx, d, cfg); err != nil {
		return store.Connection{}, store.Job{}, err
	}
	sealed, err := s.seal(workspaceID, cfg.Credentials)
	if err != nil {
		return store.Connection{}, store.Job{}, err
	}
	c := store.Connection{
		WorkspaceID: workspaceID, Name: name, Driver: spec.Name, Description: deref(in.Description),
		Status: store.StatusActive, CredentialsSealed: sealed, Settings: cfg.Settings,
		Schedule: sched.String(), NextSyncAt: nextSync(sched, store.StatusActive),
	}
	if in.Scope != nil {
		c.Scope = *in.Scope
	}
	job := syncJob(workspaceID, syncer.ModeFull)
	if err := s.store.CreateConnection(ctx, &c, &job); err != nil {
		return c, job, storeProblem(err, name)
	}
	s.enqueue(ctx, job)
	return c, job, nil
}

// Update changes name, description, credentials or settings. Changed credentials or
// settings are checked first; then the connection syncs again (when active). A secret
// field left out, or sent masked, keeps its stored value. The driver never changes.
func (s *Service) Update(ctx context.Context, workspaceID, id int64, in Input) (store.Connection, *store.Job, error) {
	c, err := s.store.GetConnection(ctx, workspaceID, id)
	if err != nil {
		return c, nil, err
	}
	if in.Driver != nil && *in.Driver != c.Driver {
		return c, nil, driver.FieldErrors{{Field: "driver", Message: "cannot change; create a new connection for another driver"}}
	}
	d, err := s.driverFor(ctx, workspaceID, c.Driver)
	if err != nil {
		return c, nil, fmt.Errorf("connection %d: %w", id, err)
	}
	spec := d.Spec()
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" {
			return c, nil, driver.FieldErrors{{Field: "name", Message: "is required"}}
		}
		c.Name = name
	}
	if in.Schedule != nil {
		sched, err := parseSchedule(*in.Schedule)
		if err != nil {
			return c, nil, err
		}
		if sched.String() != c.Schedule {
			c.Schedule, c.NextSyncAt = sched.String(), nextSync(sched, c.Status)
		}
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.Scope != nil {
		if err := validScope(*in.Scope); err != nil {
			return c, nil, err
		}
		c.Scope = *in.Scope
	}
	var job *store.Job
	if in.Credentials != nil || in.Settings != nil {
		stored, err := s.Config(c)
		if err != nil {
			return c, nil, err
		}
		raw := driver.Config{Credentials: merge(spec.Credentials, stored.Credentials, in.Credentials),
			Settings: merge(spec.Settings, stored.Settings, in.Settings)}
		cfg, err := spec.Validate(raw)
		if err != nil {
			return c, nil, err
		}
		if err := check(ctx, d, cfg); err != nil {
			return c, nil, err
		}
		if c.CredentialsSealed, err = s.seal(workspaceID, cfg.Credentials); err != nil {
			return c, nil, err
		}
		c.Settings = cfg.Settings
		if c.Status == store.StatusActive {
			j := syncJob(workspaceID, syncer.ModeFull)
			j.ConnectionID = &c.ID
			job = &j
		}
	}
	if err := s.store.UpdateConnection(ctx, &c, job); err != nil {
		return c, nil, storeProblem(err, c.Name)
	}
	if job != nil {
		s.enqueue(ctx, *job)
	}
	return c, job, nil
}

// Sync starts a sync, or returns the one already pending or running (existing = true).
func (s *Service) Sync(ctx context.Context, workspaceID, id int64, mode string) (store.Job, bool, error) {
	c, err := s.store.GetConnection(ctx, workspaceID, id)
	if err != nil {
		return store.Job{}, false, err
	}
	if c.Status != store.StatusActive {
		return store.Job{}, false, ErrInactive
	}
	j := syncJob(workspaceID, mode)
	j.ConnectionID = &c.ID
	got, created, err := s.store.CreateJobUnlessActive(ctx, &j)
	if err != nil {
		return got, false, err
	}
	if created {
		s.enqueue(ctx, got)
	}
	return got, !created, nil
}

// Enable makes a connection active and starts a sync.
func (s *Service) Enable(ctx context.Context, workspaceID, id int64) (store.Connection, *store.Job, error) {
	if err := s.refuseWhileDeleting(ctx, workspaceID, id); err != nil {
		return store.Connection{}, nil, err
	}
	c, err := s.store.GetConnection(ctx, workspaceID, id)
	if err != nil {
		return c, nil, err
	}
	// The schedule counts from now: runs missed while disabled are not made up.
	sched, err := schedule.Parse(c.Schedule)
	if err != nil {
		return c, nil, fmt.Errorf("connection %d schedule: %w", id, err)
	}
	j := syncJob(workspaceID, syncer.ModeAuto)
	j.ConnectionID = &id
	if err := s.store.SetConnectionStatus(ctx, workspaceID, id, store.StatusActive, nextSync(sched, store.StatusActive), &j); err != nil {
		return store.Connection{}, nil, err
	}
	s.enqueue(ctx, j)
	c, err = s.store.GetConnection(ctx, workspaceID, id)
	return c, &j, err
}

// Disable makes a connection inactive, which also stops its schedule, and stops its pending
// and running syncs.
func (s *Service) Disable(ctx context.Context, workspaceID, id int64) (store.Connection, error) {
	if err := s.store.SetConnectionStatus(ctx, workspaceID, id, store.StatusInactive, nil, nil); err != nil {
		return store.Connection{}, err
	}
	if err := s.store.CancelConnectionJobs(ctx, id, store.KindSync); err != nil {
		return store.Connection{}, err
	}
	return s.store.GetConnection(ctx, workspaceID, id)
}

// Delete starts the purge of an inactive connection: it, its catalog and its records go.
func (s *Service) Delete(ctx context.Context, workspaceID, id int64) (store.Job, error) {
	c, err := s.store.GetConnection(ctx, workspaceID, id)
	if err != nil {
		return store.Job{}, err
	}
	if c.Status == store.StatusActive {
		return store.Job{}, ErrActive
	}
	// A flow whose connection vanished could only fail; the user decides what becomes of it.
	flows, err := s.store.FlowsOfConnection(ctx, c.ID, "")
	if err != nil {
		return store.Job{}, err
	}
	if len(flows) > 0 {
		names := make([]string, len(flows))
		for i, f := range flows {
			names[i] = fmt.Sprintf("%q", f.Name)
		}
		return store.Job{}, fmt.Errorf("%w: flows %s use this connection; delete them first", store.ErrConflict, strings.Join(names, ", "))
	}
	j := store.Job{WorkspaceID: workspaceID, ConnectionID: &c.ID, Kind: store.KindPurge, MaxAttempts: purgeAttempts}
	got, _, err := s.store.CreateJobUnlessActive(ctx, &j)
	if err != nil {
		return got, err
	}
	s.enqueue(ctx, got)
	return got, nil
}

// CheckResult is what a check job found.
type CheckResult struct {
	OK          bool                `json:"ok"`
	Message     string              `json:"message,omitempty"`
	FieldErrors []driver.FieldError `json:"field_errors,omitempty"`
}

// Check runs a check job on the stored configuration, with override's fields replacing
// stored ones, and waits for its outcome.
func (s *Service) Check(ctx context.Context, workspaceID, id int64, override driver.Config) (CheckResult, store.Job, error) {
	c, err := s.store.GetConnection(ctx, workspaceID, id)
	if err != nil {
		return CheckResult{}, store.Job{}, err
	}
	params := "{}"
	if override.Credentials != nil || override.Settings != nil {
		raw, err := json.Marshal(override)
		if err != nil {
			return CheckResult{}, store.Job{}, err
		}
		// The override may hold credentials: it is sealed like them.
		sealed, err := s.keyring.Seal(raw, sealContext(workspaceID))
		if err != nil {
			return CheckResult{}, store.Job{}, err
		}
		b, _ := json.Marshal(map[string]string{"override_sealed": sealed})
		params = string(b)
	}
	j := store.Job{WorkspaceID: workspaceID, ConnectionID: &c.ID, Kind: store.KindCheck, MaxAttempts: checkAttempts, Params: params}
	if err := s.store.CreateJob(ctx, &j); err != nil {
		return CheckResult{}, j, err
	}
	s.enqueue(ctx, j)
	wait, cancel := context.WithTimeout(ctx, CheckTimeout+10*time.Second)
	defer cancel()
	for {
		got, err := s.store.GetJob(wait, workspaceID, j.ID)
		if err != nil {
			return CheckResult{}, j, err
		}
		if got.Finished() {
			var res CheckResult
			if got.Result != "" {
				_ = json.Unmarshal([]byte(got.Result), &res)
			} else {
				res.Message = got.Error
			}
			return res, got, nil
		}
		select {
		case <-wait.Done():
			return CheckResult{}, got, fmt.Errorf("check job %d did not finish in time", j.ID)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Config opens a connection's sealed credentials.
func (s *Service) Config(c store.Connection) (driver.Config, error) {
	plain, err := s.keyring.Open(c.CredentialsSealed, sealContext(c.WorkspaceID))
	if err != nil {
		return driver.Config{}, fmt.Errorf("connection %d credentials: %w", c.ID, err)
	}
	var creds driver.Values
	if err := json.Unmarshal(plain, &creds); err != nil {
		return driver.Config{}, fmt.Errorf("connection %d credentials: %w", c.ID, err)
	}
	return driver.Config{Credentials: creds, Settings: c.Settings}, nil
}

// Masked returns the connection's configuration fit to show.
func (s *Service) Masked(c store.Connection) driver.Config {
	d, derr := s.driverFor(context.Background(), c.WorkspaceID, c.Driver)
	cfg, err := s.Config(c)
	if derr != nil || err != nil {
		return driver.Config{Credentials: driver.Values{}, Settings: c.Settings}
	}
	return d.Spec().Masked(cfg)
}

func (s *Service) refuseWhileDeleting(ctx context.Context, workspaceID, id int64) error {
	purges, err := s.store.ListJobs(ctx, store.JobFilter{WorkspaceID: workspaceID, ConnectionID: id, Kind: store.KindPurge, Limit: 5})
	if err != nil {
		return err
	}
	for _, p := range purges {
		if !p.Finished() {
			return ErrDeleting
		}
	}
	return nil
}

func (s *Service) seal(workspaceID int64, creds driver.Values) (string, error) {
	raw, err := json.Marshal(creds)
	if err != nil {
		return "", fmt.Errorf("seal credentials: %w", err)
	}
	return s.keyring.Seal(raw, sealContext(workspaceID))
}

// enqueue hands a stored job to River. If that fails, the runner's sweeper retries it.
func (s *Service) enqueue(ctx context.Context, j store.Job) {
	if s.runner != nil {
		_ = s.runner.Enqueue(ctx, j)
	}
}

func sealContext(workspaceID int64) string { return "workspace:" + strconv.FormatInt(workspaceID, 10) }

func syncJob(workspaceID int64, mode string) store.Job {
	b, _ := json.Marshal(map[string]string{"mode": mode})
	return store.Job{WorkspaceID: workspaceID, Kind: store.KindSync, MaxAttempts: syncAttempts, Params: string(b)}
}

// check asks the driver whether the configuration reaches the system, within CheckTimeout.
func check(ctx context.Context, d driver.Driver, cfg driver.Config) error {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	if err := d.Check(ctx, cfg); err != nil {
		var fe driver.FieldErrors
		if errors.As(err, &fe) {
			return fe
		}
		return &CheckError{Message: scrub(err.Error(), d.Spec().SecretValues(cfg))}
	}
	return nil
}

// CheckError is a failed check that names no single field (the system is down, say).
type CheckError struct{ Message string }

func (e *CheckError) Error() string { return "check failed: " + e.Message }

// merge lays the given values over the stored ones; a secret field sent as the mask or
// left empty keeps its stored value, so forms never need the secret back.
func merge(fields []driver.Field, stored, given map[string]any) driver.Values {
	out := driver.Values{}
	for k, v := range stored {
		out[k] = v
	}
	secret := map[string]bool{}
	for _, f := range fields {
		secret[f.Name] = f.IsSecret()
	}
	for k, v := range given {
		if secret[k] && (v == driver.Mask || v == "") {
			continue
		}
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

func scrub(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, driver.Mask)
	}
	return s
}

func nameTaken(name string) error {
	return driver.FieldErrors{{Field: "name", Message: fmt.Sprintf("%q is already the name of another connection", name)}}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// validScope checks a scope's shape; whether its users and groups belong to the workspace
// is checked when it is stored.
func validScope(sc store.Scope) driver.FieldErrors {
	switch sc.Mode {
	case store.ScopeEveryone:
		if len(sc.UserIDs)+len(sc.GroupIDs) > 0 {
			return driver.FieldErrors{{Field: "scope.users", Message: "must be empty when the scope is everyone"}}
		}
	case store.ScopeRestricted:
	default:
		return driver.FieldErrors{{Field: "scope.mode", Message: "must be everyone or restricted"}}
	}
	return nil
}

// storeProblem turns a refused store write into the field error the user can act on.
func storeProblem(err error, name string) error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return nameTaken(name)
	case errors.Is(err, store.ErrInvalidScope):
		return driver.FieldErrors{{Field: "scope", Message: strings.TrimPrefix(err.Error(), store.ErrInvalidScope.Error()+": ")}}
	}
	return err
}
