package connections

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/schedule"
	"github.com/junction-hub/junction/internal/store"
	"github.com/junction-hub/junction/internal/syncer"
)

// DefaultScheduleTick is how often RunSchedules looks for due syncs: a scheduled sync
// starts at most this late.
const DefaultScheduleTick = 5 * time.Second

// RunSchedules starts the scheduled syncs that are due, every tick, until ctx ends.
//
// Every node runs it; there is no leader. A run is claimed by moving the connection's
// next_sync_at forward with a compare-and-set in the same transaction that stores the
// sync job, so when several nodes see the same due run exactly one starts it. The next
// time is computed from now, not from the missed run: a node that was down for a day
// starts one sync, not a backlog of them.
func (s *Service) RunSchedules(ctx context.Context, tick time.Duration, logger *slog.Logger) {
	if tick <= 0 {
		tick = DefaultScheduleTick
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := s.runDue(ctx, time.Now(), logger); err != nil && ctx.Err() == nil {
			logger.Warn("scheduled syncs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runDue claims and starts the syncs due at now. A failure with one connection is logged
// and the others still run; only failing to list them is returned.
func (s *Service) runDue(ctx context.Context, now time.Time, logger *slog.Logger) error {
	due, err := s.store.DueConnections(ctx, now)
	if err != nil {
		return err
	}
	for _, c := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sched, err := schedule.Parse(c.Schedule)
		if err != nil || sched.Manual() {
			// Create and Update never store such a schedule with a next time.
			logger.Warn("connection has a next sync time but no valid schedule", "connection", c.ID, "schedule", c.Schedule, "err", err)
			continue
		}
		j := syncJob(c.WorkspaceID, syncer.ModeAuto)
		created, err := s.store.ClaimScheduledSync(ctx, c, *c.NextSyncAt, sched.Next(now), &j)
		if err != nil {
			logger.Warn("claim scheduled sync", "connection", c.ID, "err", err)
			continue
		}
		if !created {
			continue // another node took this run, or a sync was already under way
		}
		_ = s.store.AppendJobLog(ctx, j.ID, "info", fmt.Sprintf("started by the schedule %q, due at %s",
			c.Schedule, c.NextSyncAt.Format(time.RFC3339)))
		logger.Info("scheduled sync", "connection", c.ID, "job", j.ID)
		s.enqueue(ctx, j)
	}
	return nil
}

// parseSchedule reads a schedule from input, as the field error the API answers with.
func parseSchedule(spec string) (schedule.Schedule, error) {
	sched, err := schedule.Parse(spec)
	if err != nil {
		return sched, driver.FieldErrors{{Field: "schedule", Message: err.Error()}}
	}
	return sched, nil
}

// nextSync is when a connection with this schedule and status next syncs on its own: nil
// for manual schedules and for inactive connections, which never sync by schedule.
func nextSync(sched schedule.Schedule, status string) *time.Time {
	if sched.Manual() || status != store.StatusActive {
		return nil
	}
	next := sched.Next(time.Now())
	return &next
}
