// Package schedule parses a connection's sync schedule and computes when it next runs: an
// interval ("15m", "2h"), a 5-field cron expression evaluated in UTC, or "" for manual only.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MinInterval is the shortest interval accepted: a sync more often than this would mostly
// queue behind itself.
const MinInterval = time.Minute

// cronParser reads exactly the five standard fields. Descriptors ("@every 5s") are left
// out on purpose: they would bypass MinInterval and duplicate what intervals already say.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Schedule says when a connection syncs on its own. The zero value is manual only.
type Schedule struct {
	spec  string
	every time.Duration
	cron  cron.Schedule
}

// Parse reads a schedule: "" (manual only), a Go duration of at least MinInterval, or a
// cron expression "minute hour day-of-month month day-of-week" in UTC. Its errors are
// meant for the person who typed the value.
func Parse(spec string) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Schedule{}, nil
	}
	fields := strings.Fields(spec)
	if len(fields) == 1 {
		d, err := time.ParseDuration(spec)
		if err != nil {
			return Schedule{}, fmt.Errorf("%q is neither an interval (like 15m or 2h) nor a cron expression (like \"*/15 * * * *\")", spec)
		}
		if d < MinInterval {
			return Schedule{}, fmt.Errorf("interval %s is too short: the minimum is %s", spec, MinInterval)
		}
		return Schedule{spec: spec, every: d}, nil
	}
	if len(fields) != 5 {
		// Also refuses a TZ= prefix, which the cron library would otherwise honour:
		// schedules are always UTC.
		return Schedule{}, fmt.Errorf("cron expression %q has %d fields; it needs 5: minute hour day-of-month month day-of-week (UTC)", spec, len(fields))
	}
	spec = strings.Join(fields, " ")
	c, err := cronParser.Parse(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("cron expression %q: %v", spec, err)
	}
	if ss, ok := c.(*cron.SpecSchedule); ok {
		ss.Location = time.UTC // the library defaults to the server's local zone
	}
	s := Schedule{spec: spec, cron: c}
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		// The library gives up after five years without a match (say, 30 February).
		return Schedule{}, fmt.Errorf("cron expression %q never matches a date", spec)
	}
	return s, nil
}

// Manual reports whether the schedule never runs on its own.
func (s Schedule) Manual() bool { return s.every == 0 && s.cron == nil }

// String is the schedule as it was given, without surrounding or repeated spaces.
func (s Schedule) String() string { return s.spec }

// Next is the first run strictly after the given time, in UTC; the zero time for manual.
// Callers pass the current time, not the missed run, so a node that was down for a day
// starts one sync, not a backlog of them.
func (s Schedule) Next(after time.Time) time.Time {
	switch {
	case s.every > 0:
		return after.UTC().Add(s.every)
	case s.cron != nil:
		return s.cron.Next(after.UTC()).UTC()
	}
	return time.Time{}
}
