package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/junction-hub/junction/internal/connections"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/schedule"
	"github.com/junction-hub/junction/internal/store"
)

// flowAttempts is how often a flow run is tried before it fails for good.
const flowAttempts = 5

// DefaultScheduleTick is how often RunSchedules looks for scheduled flow runs that are due.
const DefaultScheduleTick = 5 * time.Second

// Service keeps flows and runs them.
type Service struct {
	store  *store.Store
	conns  *connections.Service
	runner *jobs.Runner
	logger *slog.Logger
}

// New builds the service; SetRunner connects it to the job runner once that exists.
func New(st *store.Store, conns *connections.Service, logger *slog.Logger) *Service {
	return &Service{store: st, conns: conns, logger: logger}
}

// SetRunner connects the service to the runner that carries out its jobs.
func (s *Service) SetRunner(r *jobs.Runner) { s.runner = r }

// Handlers are the job kinds this service carries out.
func (s *Service) Handlers() map[string]jobs.Handler {
	return map[string]jobs.Handler{store.KindFlow: s.runJob}
}

// Flow is a stored flow with its definition decoded.
type Flow struct {
	store.Flow
	Definition Definition
}

// Create validates def against both connections' catalogs and stores it. On any problem
// nothing is stored and the error is driver.FieldErrors naming each wrong field.
func (s *Service) Create(ctx context.Context, workspaceID int64, def Definition) (Flow, error) {
	def, err := s.compile(ctx, workspaceID, def)
	if err != nil {
		return Flow{}, err
	}
	f := store.Flow{WorkspaceID: workspaceID}
	fill(&f, def)
	if err := s.store.CreateFlow(ctx, &f); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Flow{}, nameTaken(def.Name)
		}
		return Flow{}, err
	}
	return Flow{Flow: f, Definition: def}, nil
}

// Update replaces a flow's definition, validated like Create. The links stay.
func (s *Service) Update(ctx context.Context, workspaceID, id int64, def Definition) (Flow, error) {
	f, err := s.store.GetFlow(ctx, workspaceID, id)
	if err != nil {
		return Flow{}, err
	}
	def, err = s.compile(ctx, workspaceID, def)
	if err != nil {
		return Flow{}, err
	}
	fill(&f, def)
	if err := s.store.UpdateFlow(ctx, &f); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Flow{}, nameTaken(def.Name)
		}
		return Flow{}, err
	}
	return Flow{Flow: f, Definition: def}, nil
}

// Get returns one flow of the workspace.
func (s *Service) Get(ctx context.Context, workspaceID, id int64) (Flow, error) {
	f, err := s.store.GetFlow(ctx, workspaceID, id)
	if err != nil {
		return Flow{}, err
	}
	return decodeFlow(f)
}

// List returns the workspace's flows.
func (s *Service) List(ctx context.Context, workspaceID int64) ([]Flow, error) {
	list, err := s.store.ListFlows(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := make([]Flow, 0, len(list))
	for _, f := range list {
		d, err := decodeFlow(f)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Delete removes a flow with its links and failed records.
func (s *Service) Delete(ctx context.Context, workspaceID, id int64) error {
	return s.store.DeleteFlow(ctx, workspaceID, id)
}

// runParams is what a flow job carries.
type runParams struct {
	FlowID  int64    `json:"flow_id"`
	Keys    []string `json:"keys,omitempty"`  // only these source records, written even if unchanged
	Retry   bool     `json:"retry,omitempty"` // the failed records (Keys, or all of them)
	Trigger string   `json:"trigger,omitempty"`
}

// Run starts a run of the flow: of the chosen source records when keys are given (sent
// even when unchanged), otherwise of every record changed since the flow last handled it.
// A run without keys while another is still pending returns that one (existing = true).
func (s *Service) Run(ctx context.Context, workspaceID, id int64, keys []string) (store.Job, bool, error) {
	f, err := s.store.GetFlow(ctx, workspaceID, id)
	if err != nil {
		return store.Job{}, false, err
	}
	return s.start(ctx, f, runParams{FlowID: f.ID, Keys: keys, Trigger: TriggerManual}, len(keys) == 0, "started by hand")
}

// Retry starts a run of the flow's failed records: the given keys, or all of them.
func (s *Service) Retry(ctx context.Context, workspaceID, id int64, keys []string) (store.Job, error) {
	f, err := s.store.GetFlow(ctx, workspaceID, id)
	if err != nil {
		return store.Job{}, err
	}
	j, _, err := s.start(ctx, f, runParams{FlowID: f.ID, Keys: keys, Retry: true, Trigger: TriggerManual}, false, "retry of failed records")
	return j, err
}

func (s *Service) start(ctx context.Context, f store.Flow, p runParams, unlessPending bool, why string) (store.Job, bool, error) {
	b, _ := json.Marshal(p)
	j := store.Job{MaxAttempts: flowAttempts, Params: string(b)}
	got, created, err := s.store.CreateFlowJob(ctx, f, &j, unlessPending)
	if err != nil {
		return store.Job{}, false, err
	}
	if created {
		_ = s.store.AppendJobLog(ctx, got.ID, "info", fmt.Sprintf("run of flow %q %s", f.Name, why))
		s.enqueue(ctx, got)
	}
	return got, !created, nil
}

func (s *Service) enqueue(ctx context.Context, j store.Job) {
	if s.runner != nil {
		_ = s.runner.Enqueue(ctx, j) // on failure the runner's sweeper hands it over later
	}
}

// Synced is the automatic trigger: after a successful sync of a connection that changed
// records, it starts a run of every automatic flow reading from it, and of those writing
// to it that have write-back rules (write-back reads the target's mirror, which the sync
// just refreshed).
func (s *Service) Synced(ctx context.Context, c store.Connection, syncJob store.Job) {
	if j, err := s.store.JobByID(ctx, syncJob.ID); err == nil && j.Counters.Written()+j.Counters.Gone == 0 {
		return // the sync changed nothing, so no flow has anything new to do
	}
	flows, err := s.store.FlowsOfConnection(ctx, c.ID, TriggerAutomatic)
	if err != nil {
		s.logger.Warn("flows after sync", "connection", c.ID, "err", err)
		return
	}
	for _, f := range flows {
		if f.SourceConnectionID != c.ID {
			d, err := decodeFlow(f)
			if err != nil || len(d.Definition.WriteBack) == 0 {
				continue
			}
		}
		_, _, err := s.start(ctx, f, runParams{FlowID: f.ID, Trigger: TriggerAutomatic}, true,
			fmt.Sprintf("started after sync job %d of %q", syncJob.ID, c.Name))
		if err != nil {
			s.logger.Warn("start flow after sync", "flow", f.ID, "err", err)
		}
	}
}

// RunSchedules starts the scheduled flow runs that are due, every tick, until ctx ends.
// Like scheduled syncs, a run is claimed by a compare-and-set on next_run_at, so when
// several nodes see it exactly one starts it.
func (s *Service) RunSchedules(ctx context.Context, tick time.Duration) {
	if tick <= 0 {
		tick = DefaultScheduleTick
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := s.runDue(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.logger.Warn("scheduled flows", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) runDue(ctx context.Context, now time.Time) error {
	due, err := s.store.DueFlows(ctx, now)
	if err != nil {
		return err
	}
	for _, f := range due {
		sched, err := schedule.Parse(f.Schedule)
		if err != nil || sched.Manual() {
			continue
		}
		b, _ := json.Marshal(runParams{FlowID: f.ID, Trigger: TriggerSchedule})
		j := store.Job{MaxAttempts: flowAttempts, Params: string(b)}
		created, err := s.store.ClaimScheduledFlowRun(ctx, f, *f.NextRunAt, sched.Next(now), &j)
		if err != nil {
			s.logger.Warn("claim scheduled flow run", "flow", f.ID, "err", err)
			continue
		}
		if created {
			_ = s.store.AppendJobLog(ctx, j.ID, "info", fmt.Sprintf("run of flow %q started by the schedule %q", f.Name, f.Schedule))
			s.enqueue(ctx, j)
		}
	}
	return nil
}

// compile checks def against the catalogs of its two connections, which must be in the
// workspace.
func (s *Service) compile(ctx context.Context, workspaceID int64, def Definition) (Definition, error) {
	var cats Catalogs
	var errs driver.FieldErrors
	side := func(at string, id int64) (*driver.Catalog, bool) {
		c, err := s.store.GetConnection(ctx, workspaceID, id)
		if errors.Is(err, store.ErrNotFound) {
			errs = append(errs, driver.FieldError{Field: at + ".connection_id", Message: fmt.Sprintf("no connection %d", id)})
			return nil, false
		}
		if err != nil {
			return nil, false
		}
		writes := false
		if d, _, err := s.conns.Open(ctx, c); err == nil {
			_, writes = d.(driver.Writer)
		}
		doc, _, err := s.store.GetCatalog(ctx, workspaceID, id)
		if err != nil {
			return nil, writes
		}
		var cat driver.Catalog
		if err := json.Unmarshal(doc, &cat); err != nil {
			return nil, writes
		}
		return &cat, writes
	}
	cats.Source, cats.SourceWrites = side("source", def.Source.ConnectionID)
	cats.Target, cats.TargetWrites = side("target", def.Target.ConnectionID)
	if len(errs) > 0 {
		return def, errs
	}
	return Compile(def, cats)
}

func fill(f *store.Flow, def Definition) {
	f.Name = def.Name
	f.SourceConnectionID, f.SourceEntity = def.Source.ConnectionID, def.Source.Entity
	f.TargetConnectionID, f.TargetEntity = def.Target.ConnectionID, def.Target.Entity
	f.Trigger, f.Schedule = def.Trigger, def.Schedule
	f.NextRunAt = nil
	if def.Trigger == TriggerSchedule {
		if sched, err := schedule.Parse(def.Schedule); err == nil && !sched.Manual() {
			next := sched.Next(time.Now())
			f.NextRunAt = &next
		}
	}
	b, _ := json.Marshal(def)
	f.Definition = string(b)
}

func decodeFlow(f store.Flow) (Flow, error) {
	var def Definition
	if err := json.Unmarshal([]byte(f.Definition), &def); err != nil {
		return Flow{}, fmt.Errorf("flow %d: stored definition: %w", f.ID, err)
	}
	return Flow{Flow: f, Definition: def}, nil
}

func nameTaken(name string) error {
	return driver.FieldErrors{{Field: "name", Message: fmt.Sprintf("%q is already the name of another flow", name)}}
}
