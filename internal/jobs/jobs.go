// Package jobs runs Junction's durable work (checks, syncs, purges) on River, in the same
// database as the store, and keeps the rows the Processes view shows.
//
// A job is first a row in the store's jobs table; River only carries its id. The row is
// stored in the same transaction as the change that asked for it, then handed to River; a
// sweeper hands over rows a crash left behind. Workers send heartbeats, and a job whose
// worker stopped sending them is handed back to River, so no job stays running forever.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

// Handler does one kind of job. It reports progress through the store (counters commit
// with the work) and writes log lines through log.
type Handler func(ctx context.Context, job store.Job, log *Log) error

// Options tune timing; zero values take the defaults.
type Options struct {
	Workers        int           // jobs run at once on this node (default 4)
	Heartbeat      time.Duration // how often a running job proves it is alive (default 5s)
	LostAfter      time.Duration // heartbeat age after which a job counts as lost (default 30s)
	PollInterval   time.Duration // how often River looks for new work without notifications (default 500ms)
	SingleNode     bool          // the store belongs to this process alone (SQLite): jobs left running are lost at once
	RetryBaseDelay time.Duration // delay before the first retry; doubles each attempt (default 2s)
}

// Runner owns the River client and the handlers.
type Runner struct {
	store    *store.Store
	handlers map[string]Handler
	opts     Options
	node     string
	logger   *slog.Logger
	queue    queue
	metrics  *Metrics

	stop chan struct{}
	wg   sync.WaitGroup
}

// queue is the part of River's generic client the runner uses; it hides the transaction
// type, which differs between River's SQLite and PostgreSQL drivers.
type queue interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// runArgs is what River stores: only our job's id.
type runArgs struct {
	JobID int64 `json:"job_id"`
}

func (runArgs) Kind() string { return "junction_job" }

// New prepares a runner on the store's database and applies River's migrations.
func New(ctx context.Context, st *store.Store, handlers map[string]Handler, opts Options, metrics *Metrics, logger *slog.Logger) (*Runner, error) {
	opts.Workers = cmpOr(opts.Workers, 4)
	opts.Heartbeat = cmpOr(opts.Heartbeat, 5*time.Second)
	opts.LostAfter = cmpOr(opts.LostAfter, 30*time.Second)
	opts.PollInterval = cmpOr(opts.PollInterval, 500*time.Millisecond)
	opts.RetryBaseDelay = cmpOr(opts.RetryBaseDelay, 2*time.Second)
	host, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	r := &Runner{
		store: st, handlers: handlers, opts: opts, logger: logger, metrics: metrics,
		node: host + "-" + hex.EncodeToString(suffix), stop: make(chan struct{}),
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(r.work))
	cfg := &river.Config{
		ID:                   r.node,
		Workers:              workers,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		JobTimeout:           -1,                 // syncs run as long as they need
		RescueStuckJobsAfter: 7 * 24 * time.Hour, // heartbeats find lost jobs much sooner
		FetchPollInterval:    opts.PollInterval,
		FetchCooldown:        min(opts.PollInterval, 100*time.Millisecond),
		RetryPolicy:          retryPolicy{base: opts.RetryBaseDelay},
		Logger:               slog.New(slog.DiscardHandler),
	}
	var err error
	if st.Dialect() == store.SQLite {
		r.queue, err = newQueue(ctx, riversqlite.New(st.WriteDB()), cfg)
	} else {
		pool, perr := pgxpool.New(ctx, st.DSN())
		if perr != nil {
			return nil, fmt.Errorf("jobs: open pool: %w", perr)
		}
		r.queue, err = newQueue(ctx, riverpgxv5.New(pool), cfg)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func newQueue[TTx any](ctx context.Context, d riverdriver.Driver[TTx], cfg *river.Config) (queue, error) {
	m, err := rivermigrate.New(d, nil)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("jobs: migrate river: %w", err)
	}
	c, err := river.NewClient(d, cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return c, nil
}

// Node names this process among the nodes sharing the database.
func (r *Runner) Node() string { return r.node }

// Start begins working jobs and watching for lost ones.
func (r *Runner) Start(ctx context.Context) error {
	if r.opts.SingleNode {
		// Nobody else uses this store: whatever was running belonged to a process that died.
		r.requeueLost(ctx, time.Now().Add(time.Second))
	}
	if err := r.queue.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start river: %w", err)
	}
	r.wg.Add(1)
	go r.watch()
	return nil
}

// Stop lets running jobs notice the shutdown and waits for them; jobs interrupted here are
// retried from their last checkpoint when a node runs again.
func (r *Runner) Stop(ctx context.Context) error {
	close(r.stop)
	r.wg.Wait()
	return r.queue.StopAndCancel(ctx)
}

// Enqueue hands a stored job to River. Calling it twice for one job is harmless: River
// keeps one job per id.
func (r *Runner) Enqueue(ctx context.Context, j store.Job) error {
	res, err := r.queue.Insert(ctx, runArgs{JobID: j.ID}, &river.InsertOpts{
		MaxAttempts: max(j.MaxAttempts, 1),
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	})
	if err != nil {
		return fmt.Errorf("enqueue job %d: %w", j.ID, err)
	}
	if err := r.store.SetJobRiverID(ctx, j.ID, res.Job.ID); err != nil {
		return fmt.Errorf("enqueue job %d: %w", j.ID, err)
	}
	return nil
}

// Cancel asks a job to stop: a pending one is cancelled at once, a running one at its next
// heartbeat.
func (r *Runner) Cancel(ctx context.Context, workspaceID, id int64) (store.Job, error) {
	j, err := r.store.RequestCancel(ctx, workspaceID, id)
	if err != nil {
		return j, err
	}
	if j.RiverID != nil && j.State == store.JobCancelled {
		if _, err := r.queue.JobCancel(ctx, *j.RiverID); err != nil && !errors.Is(err, river.ErrNotFound) {
			r.logger.Warn("cancel river job", "job", id, "err", err)
		}
	}
	return j, nil
}

// watch hands over jobs a crash left unqueued and requeues jobs whose worker died.
func (r *Runner) watch() {
	defer r.wg.Done()
	tick := time.NewTicker(min(r.opts.LostAfter/3, 5*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		unqueued, err := r.store.UnqueuedJobs(ctx, 2*time.Second)
		if err != nil {
			r.logger.Warn("find unqueued jobs", "err", err)
		}
		for _, j := range unqueued {
			if err := r.Enqueue(ctx, j); err != nil {
				r.logger.Warn("enqueue job", "job", j.ID, "err", err)
			}
		}
		r.requeueLost(ctx, time.Now().Add(-r.opts.LostAfter))
		if r.metrics != nil {
			r.metrics.refreshJobStates(ctx, r.store)
		}
		cancel()
	}
}

func (r *Runner) requeueLost(ctx context.Context, heartbeatBefore time.Time) {
	lost, err := r.store.LostJobs(ctx, heartbeatBefore)
	if err != nil {
		r.logger.Warn("find lost jobs", "err", err)
		return
	}
	for _, j := range lost {
		ok, err := r.store.RequeueLostJob(ctx, j, heartbeatBefore)
		if err != nil {
			r.logger.Warn("requeue lost job", "job", j.ID, "err", err)
			continue
		}
		if ok {
			r.logger.Info("job lost its worker; requeued", "job", j.ID, "node", j.Node)
			_ = r.store.AppendJobLog(ctx, j.ID, "warn", fmt.Sprintf("worker %s stopped responding; the job resumes from its last checkpoint", j.Node))
		}
	}
	// Jobs a worker took from River but died before marking running have no heartbeat.
	stranded, err := r.store.StrandedJobs(ctx, heartbeatBefore)
	if err != nil {
		r.logger.Warn("find stranded jobs", "err", err)
		return
	}
	for _, j := range stranded {
		ok, err := r.store.RequeueStrandedJob(ctx, j, heartbeatBefore)
		if err != nil {
			r.logger.Warn("requeue stranded job", "job", j.ID, "err", err)
			continue
		}
		if ok {
			r.logger.Info("job taken by a worker that died before starting it; requeued", "job", j.ID)
		}
	}
}

// errCancelled is the cause of a job context cancelled because someone asked.
var errCancelled = errors.New("cancelled on request")

// work is River's entry point for every job.
func (r *Runner) work(ctx context.Context, rj *river.Job[runArgs]) error {
	id := rj.Args.JobID
	j, err := r.store.JobByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("job %d no longer exists", id))
	}
	if err != nil {
		return err
	}
	if j.Finished() {
		return nil
	}
	if j.CancelRequested {
		return r.store.FinishJob(ctx, id, store.JobCancelled, "")
	}
	handler, ok := r.handlers[j.Kind]
	if !ok {
		_ = r.store.FinishJob(ctx, id, store.JobFailed, "no handler for job kind "+j.Kind)
		return river.JobCancel(fmt.Errorf("no handler for %s", j.Kind))
	}
	started, err := r.store.StartJob(ctx, id, rj.Attempt, r.node)
	if err != nil {
		return err
	}
	if !started {
		return nil
	}
	j.Attempts = rj.Attempt
	log := NewLog(r.store, id, r.logger)
	if rj.Attempt > 1 {
		log.Info(fmt.Sprintf("attempt %d of %d", rj.Attempt, rj.MaxAttempts))
	}

	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	beatDone := make(chan struct{})
	go r.heartbeat(jobCtx, id, cancel, beatDone)
	began := time.Now()
	err = handler(jobCtx, j, log)
	cancel(nil)
	<-beatDone
	if r.metrics != nil {
		r.metrics.observe(j.Kind, time.Since(began), err)
	}

	// The outcome is stored with a fresh context: the job's own may be cancelled.
	done, stop := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer stop()
	switch {
	case err == nil:
		return r.store.FinishJob(done, id, store.JobSucceeded, "")
	case errors.Is(context.Cause(jobCtx), errCancelled):
		log.Info("cancelled")
		_ = r.store.FinishJob(done, id, store.JobCancelled, "cancelled on request")
		return nil
	}
	msg := log.scrub(err.Error())
	switch {
	case driver.IsConfig(err):
		log.Error(msg)
		_ = r.store.FinishJob(done, id, store.JobFailed, msg)
		return river.JobCancel(errors.New(msg))
	case rj.Attempt >= rj.MaxAttempts:
		log.Error(msg)
		_ = r.store.FinishJob(done, id, store.JobFailed, msg)
		return errors.New(msg)
	case ctx.Err() != nil:
		// This node is shutting down; another attempt resumes the work.
		log.Warn("interrupted by shutdown; will resume")
		_ = r.store.FinishJob(done, id, store.JobPending, "")
		return errors.New("interrupted by shutdown")
	default:
		log.Warn(fmt.Sprintf("attempt %d failed, will retry: %s", rj.Attempt, msg))
		_ = r.store.FinishJob(done, id, store.JobPending, msg)
		return errors.New(msg)
	}
}

// heartbeat keeps the job's row fresh and cancels the job when someone asks.
func (r *Runner) heartbeat(ctx context.Context, id int64, cancel context.CancelCauseFunc, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(r.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		stop, err := r.store.Heartbeat(ctx, id)
		if err != nil && ctx.Err() == nil {
			r.logger.Warn("heartbeat", "job", id, "err", err)
		}
		if stop {
			cancel(errCancelled)
			return
		}
	}
}

// retryPolicy retries after base, 2·base, 4·base… capped at ten minutes.
type retryPolicy struct{ base time.Duration }

func (p retryPolicy) NextRetry(j *rivertype.JobRow) time.Time {
	d := time.Duration(float64(p.base) * math.Pow(2, float64(max(j.Attempt-1, 0))))
	return time.Now().Add(min(d, 10*time.Minute))
}

// Log writes a job's log lines, with the connection's secrets scrubbed out.
type Log struct {
	store   *store.Store
	jobID   int64
	logger  *slog.Logger
	mu      sync.Mutex
	secrets []string
}

// NewLog writes the log of one job. The runner makes one for every job it runs; tools
// that drive the syncer directly (the benchmark) make their own.
func NewLog(st *store.Store, jobID int64, logger *slog.Logger) *Log {
	return &Log{store: st, jobID: jobID, logger: logger}
}

// Hide makes the log replace these values wherever they appear.
func (l *Log) Hide(values ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range values {
		if v != "" {
			l.secrets = append(l.secrets, v)
		}
	}
}

func (l *Log) scrub(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.secrets {
		s = strings.ReplaceAll(s, v, driver.Mask)
	}
	return s
}

func (l *Log) write(level, msg string) {
	msg = l.scrub(msg)
	if err := l.store.AppendJobLog(context.Background(), l.jobID, level, msg); err != nil {
		l.logger.Warn("write job log", "job", l.jobID, "err", err)
	}
	l.logger.Log(context.Background(), slogLevel(level), msg, "job", l.jobID)
}

// Info, Warn and Error add a line to the job's log.
func (l *Log) Info(msg string)  { l.write("info", msg) }
func (l *Log) Warn(msg string)  { l.write("warn", msg) }
func (l *Log) Error(msg string) { l.write("error", msg) }

func slogLevel(level string) slog.Level {
	switch level {
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
