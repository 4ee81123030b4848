package schedule

import (
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNext(t *testing.T) {
	tests := []struct {
		spec  string
		after string
		want  string
	}{
		{"", "2026-03-02T10:07:00Z", ""},
		{"   ", "2026-03-02T10:07:00Z", ""},
		{"15m", "2026-03-02T10:07:00Z", "2026-03-02T10:22:00Z"},
		{"1m", "2026-03-02T10:07:30.5Z", "2026-03-02T10:08:30.5Z"},
		{"2h", "2026-03-02T23:30:00Z", "2026-03-03T01:30:00Z"},
		{" 1h30m ", "2026-03-02T10:00:00Z", "2026-03-02T11:30:00Z"},
		// Intervals count from the given time whatever its zone; the answer is UTC.
		{"1h", "2026-03-02T10:00:00+02:00", "2026-03-02T09:00:00Z"},
		{"*/15 * * * *", "2026-03-02T10:07:00Z", "2026-03-02T10:15:00Z"},
		{"*/15 * * * *", "2026-03-02T10:15:00Z", "2026-03-02T10:30:00Z"}, // strictly after
		{"*/15 * * * *", "2026-03-02T10:14:59.999Z", "2026-03-02T10:15:00Z"},
		{"*/15  *  * * *", "2026-03-02T10:59:00Z", "2026-03-02T11:00:00Z"},
		{"0 6 * * *", "2026-03-02T06:00:00Z", "2026-03-03T06:00:00Z"},
		{"0 6 * * *", "2026-03-02T05:59:00Z", "2026-03-02T06:00:00Z"},
		// 2026-03-06 is a Friday: the next weekday run is Monday.
		{"0 6 * * 1-5", "2026-03-06T07:00:00Z", "2026-03-09T06:00:00Z"},
		{"0 6 * * MON-FRI", "2026-03-06T07:00:00Z", "2026-03-09T06:00:00Z"},
		{"30 2 1 * *", "2026-01-31T12:00:00Z", "2026-02-01T02:30:00Z"},
		{"0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"5,35 9-10 * * *", "2026-03-02T09:10:00Z", "2026-03-02T09:35:00Z"},
		{"5,35 9-10 * * *", "2026-03-02T10:40:00Z", "2026-03-03T09:05:00Z"},
		{"0 0 * JAN,JUL *", "2026-02-01T00:00:00Z", "2026-07-01T00:00:00Z"},
		// Cron is evaluated in UTC, whatever zone the given time is in: 05:30 at UTC-2 is
		// 07:30 UTC, past today's 06:00 UTC (in the given zone, 06:00 would still come today).
		{"0 6 * * *", "2026-03-02T05:30:00-02:00", "2026-03-03T06:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"@"+tt.after, func(t *testing.T) {
			s, err := Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			got := s.Next(at(tt.after))
			if tt.want == "" {
				if !got.IsZero() || !s.Manual() {
					t.Fatalf("manual schedule: Next = %v, Manual = %v", got, s.Manual())
				}
				return
			}
			if s.Manual() {
				t.Fatal("Manual() = true for a real schedule")
			}
			if want := at(tt.want); !got.Equal(want) || got.Location() != time.UTC {
				t.Fatalf("Next(%s) = %v, want %v (UTC)", tt.after, got, want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		spec string
		want string // part of the error message
	}{
		{"soon", "neither an interval"},
		{"15", "neither an interval"},
		{"30s", "too short"},
		{"59s", "too short"},
		{"-5m", "too short"},
		{"0m", "too short"},
		{"* * * *", "needs 5"},
		{"0 * * * * *", "needs 5"}, // no seconds field
		{"CRON_TZ=Europe/Berlin 0 6 * * *", "needs 5"},
		{"TZ=UTC * * * *", "cron expression"},
		{"@hourly", "neither an interval"},
		{"@every 5s", "needs 5"},
		{"60 * * * *", "cron expression"},
		{"* 24 * * *", "cron expression"},
		{"* * 0 * *", "cron expression"},
		{"* * * 13 *", "cron expression"},
		{"* * * * 8", "cron expression"},
		{"*/0 * * * *", "cron expression"},
		{"a b c d e", "cron expression"},
		{"0 0 30 2 *", "never matches"},
		{"0 0 31 4 *", "never matches"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := Parse(tt.spec)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.spec, s)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error %q, want it to mention %q", tt.spec, err, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	for spec, want := range map[string]string{"": "", " 15m ": "15m", "*/15  * * *  *": "*/15 * * * *"} {
		s, err := Parse(spec)
		if err != nil || s.String() != want {
			t.Fatalf("Parse(%q).String() = %q, %v; want %q", spec, s.String(), err, want)
		}
	}
}
