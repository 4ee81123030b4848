package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// scheduled creates an active connection with a schedule due at next, and finishes its
// initial sync so that a scheduled one can be stored.
func scheduled(t *testing.T, s *Store, ws int64, name string, next *time.Time) Connection {
	t.Helper()
	ctx := context.Background()
	c := Connection{WorkspaceID: ws, Name: name, Driver: "sqlite", Status: StatusActive,
		CredentialsSealed: "k:sealed", Settings: map[string]any{}, Schedule: "15m", NextSyncAt: next}
	j := Job{WorkspaceID: ws, Kind: KindSync, MaxAttempts: 3}
	if err := s.CreateConnection(ctx, &c, &j); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishJob(ctx, j.ID, JobSucceeded, ""); err != nil {
		t.Fatal(err)
	}
	return c
}

func activeSyncs(t *testing.T, s *Store, ws, connID int64) []Job {
	t.Helper()
	all, err := s.ListJobs(context.Background(), JobFilter{WorkspaceID: ws, ConnectionID: connID, Kind: KindSync})
	if err != nil {
		t.Fatal(err)
	}
	var out []Job
	for _, j := range all {
		if !j.Finished() {
			out = append(out, j)
		}
	}
	return out
}

func TestScheduleStored(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		// Nanoseconds and a zone other than UTC: what comes back is UTC in microseconds.
		next := time.Date(2026, 3, 2, 12, 15, 0, 123456789, time.FixedZone("X", 2*3600))
		c := scheduled(t, s, ws.ID, "c", &next)
		got, err := s.GetConnection(ctx, ws.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2026, 3, 2, 10, 15, 0, 123456000, time.UTC)
		if got.Schedule != "15m" || got.NextSyncAt == nil || !got.NextSyncAt.Equal(want) || got.NextSyncAt.Location() != time.UTC {
			t.Fatalf("stored schedule = %q, %v; want 15m, %v", got.Schedule, got.NextSyncAt, want)
		}

		// An edit that keeps the schedule keeps next_sync_at, even when the caller's copy is stale.
		stale := got
		later := want.Add(time.Hour)
		stale.NextSyncAt, stale.Description = &later, "edited"
		if err := s.UpdateConnection(ctx, &stale, nil); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetConnection(ctx, ws.ID, c.ID)
		if got.Description != "edited" || !got.NextSyncAt.Equal(want) {
			t.Fatalf("same schedule: next = %v, want unchanged %v", got.NextSyncAt, want)
		}
		// A new schedule brings its own next time; manual clears it.
		got.Schedule, got.NextSyncAt = "0 6 * * *", &later
		if err := s.UpdateConnection(ctx, &got, nil); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetConnection(ctx, ws.ID, c.ID)
		if got.Schedule != "0 6 * * *" || !got.NextSyncAt.Equal(later) {
			t.Fatalf("new schedule: %q, %v", got.Schedule, got.NextSyncAt)
		}
		got.Schedule, got.NextSyncAt = "", nil
		if err := s.UpdateConnection(ctx, &got, nil); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetConnection(ctx, ws.ID, c.ID)
		if got.Schedule != "" || got.NextSyncAt != nil {
			t.Fatalf("manual: %q, %v", got.Schedule, got.NextSyncAt)
		}

		// Status changes set next_sync_at as told.
		if err := s.SetConnectionStatus(ctx, ws.ID, c.ID, StatusActive, &later, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.GetConnection(ctx, ws.ID, c.ID); !got.NextSyncAt.Equal(later) {
			t.Fatalf("enable: next = %v, want %v", got.NextSyncAt, later)
		}
		if err := s.SetConnectionStatus(ctx, ws.ID, c.ID, StatusInactive, nil, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.GetConnection(ctx, ws.ID, c.ID); got.NextSyncAt != nil {
			t.Fatalf("disable: next = %v, want nil", got.NextSyncAt)
		}
	})
}

func TestDueConnections(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws1, _ := s.EnsureWorkspace(ctx, "one")
		ws2, _ := s.EnsureWorkspace(ctx, "two")
		now := time.Date(2026, 3, 2, 10, 0, 0, 500000000, time.UTC)
		at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }

		overdue := scheduled(t, s, ws1.ID, "overdue", at(-time.Hour))
		exactly := scheduled(t, s, ws2.ID, "exactly", at(0))
		// Just before and after now, and a whole second before it: on SQLite the times are
		// text, and their order must still be the time order.
		microBefore := scheduled(t, s, ws1.ID, "micro-before", at(-time.Microsecond))
		wholeSecond := scheduled(t, s, ws2.ID, "whole-second", at(-500*time.Millisecond))
		scheduled(t, s, ws1.ID, "micro-after", at(time.Microsecond))
		scheduled(t, s, ws1.ID, "future", at(time.Hour))
		scheduled(t, s, ws1.ID, "manual", nil)
		off := scheduled(t, s, ws2.ID, "disabled", at(-time.Hour))
		if err := s.SetConnectionStatus(ctx, ws2.ID, off.ID, StatusInactive, at(-time.Hour), nil); err != nil {
			t.Fatal(err)
		}

		due, err := s.DueConnections(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range due {
			names = append(names, c.Name)
		}
		want := []string{overdue.Name, wholeSecond.Name, microBefore.Name, exactly.Name}
		if len(names) != len(want) {
			t.Fatalf("due = %v, want %v", names, want)
		}
		for i := range want {
			if names[i] != want[i] {
				t.Fatalf("due = %v, want %v (most overdue first)", names, want)
			}
		}
	})
}

func TestClaimScheduledSync(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		due := time.Now().Add(-time.Minute)
		c := scheduled(t, s, ws.ID, "c", &due)
		c, _ = s.GetConnection(ctx, ws.ID, c.ID)
		expected := *c.NextSyncAt
		next := expected.Add(15 * time.Minute)

		claim := func(expected, next time.Time) (bool, Job) {
			t.Helper()
			j := Job{Kind: KindSync, MaxAttempts: 3}
			ok, err := s.ClaimScheduledSync(ctx, c, expected, next, &j)
			if err != nil {
				t.Fatal(err)
			}
			return ok, j
		}
		nextOf := func() *time.Time {
			t.Helper()
			got, err := s.GetConnection(ctx, ws.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.NextSyncAt
		}

		if ok, _ := claim(expected.Add(time.Microsecond), next); ok {
			t.Fatal("claimed with a wrong expected time")
		}
		if !nextOf().Equal(expected) {
			t.Fatal("a lost claim moved next_sync_at")
		}
		ok, j := claim(expected, next)
		if !ok || j.ID == 0 || j.ConnectionID == nil || *j.ConnectionID != c.ID || j.WorkspaceID != ws.ID || j.State != JobPending {
			t.Fatalf("claim = %v, %+v; want a pending sync of the connection", ok, j)
		}
		if got := nextOf(); !got.Equal(next) {
			t.Fatalf("next = %v, want %v", got, next)
		}
		// The same run again (a slower node), even once its sync has finished, so that only
		// the compare-and-set stands in the way: nothing.
		if err := s.FinishJob(ctx, j.ID, JobSucceeded, ""); err != nil {
			t.Fatal(err)
		}
		if ok, _ := claim(expected, next.Add(time.Second)); ok {
			t.Fatal("the same run was claimed twice")
		}
		if got := nextOf(); !got.Equal(next) {
			t.Fatalf("a second claim of the same run moved next to %v", got)
		}
		// The next run starts a sync.
		later := next.Add(15 * time.Minute)
		ok, j = claim(next, later)
		if !ok {
			t.Fatal("the next run was not claimed")
		}
		// The run after that, while that sync is still pending: the run is taken (and
		// skipped), no second sync is queued.
		evenLater := later.Add(15 * time.Minute)
		if ok, _ := claim(later, evenLater); ok {
			t.Fatal("queued a second sync while one is pending")
		}
		if got := nextOf(); !got.Equal(evenLater) {
			t.Fatalf("skipped run: next = %v, want %v", got, evenLater)
		}
		if n := len(activeSyncs(t, s, ws.ID, c.ID)); n != 1 {
			t.Fatalf("%d active syncs, want 1", n)
		}
		// A disabled connection is never claimed.
		if err := s.FinishJob(ctx, j.ID, JobSucceeded, ""); err != nil {
			t.Fatal(err)
		}
		later = evenLater
		if err := s.SetConnectionStatus(ctx, ws.ID, c.ID, StatusInactive, &later, nil); err != nil {
			t.Fatal(err)
		}
		if ok, _ := claim(later, later.Add(time.Hour)); ok {
			t.Fatal("claimed a run of a disabled connection")
		}
	})
}

// TestClaimScheduledSyncRace: many claimers of the same due run, as several nodes would be,
// store exactly one sync. On PostgreSQL half of them use a second Store on the same
// database, as a second `junction serve` does.
func TestClaimScheduledSyncRace(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		stores := []*Store{s}
		if s.Dialect() == Postgres {
			other, err := Open(ctx, s.DSN())
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			stores = append(stores, other)
		}
		ws, _ := s.EnsureWorkspace(ctx, "w")
		due := time.Now().Add(-time.Minute)
		c := scheduled(t, s, ws.ID, "c", &due)
		const rounds, claimers = 5, 16
		for round := range rounds {
			c, _ = s.GetConnection(ctx, ws.ID, c.ID)
			expected := *c.NextSyncAt
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make([]bool, claimers)
			nexts := make([]time.Time, claimers)
			errs := make([]error, claimers)
			for i := range claimers {
				// Each node computes its own next time from its own clock.
				nexts[i] = expected.Add(15*time.Minute + time.Duration(i)*time.Millisecond)
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					j := Job{Kind: KindSync, MaxAttempts: 3}
					results[i], errs[i] = stores[i%len(stores)].ClaimScheduledSync(ctx, c, expected, nexts[i], &j)
				}()
			}
			close(start)
			wg.Wait()
			winner := -1
			for i := range claimers {
				if errs[i] != nil {
					t.Fatalf("round %d, claimer %d: %v", round, i, errs[i])
				}
				if results[i] {
					if winner >= 0 {
						t.Fatalf("round %d: claimers %d and %d both won", round, winner, i)
					}
					winner = i
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: nobody won", round)
			}
			active := activeSyncs(t, s, ws.ID, c.ID)
			if len(active) != 1 {
				t.Fatalf("round %d: %d active syncs, want 1", round, len(active))
			}
			got, _ := s.GetConnection(ctx, ws.ID, c.ID)
			if !got.NextSyncAt.Equal(nexts[winner]) {
				t.Fatalf("round %d: next = %v, want the winner's %v", round, got.NextSyncAt, nexts[winner])
			}
			if err := s.FinishJob(ctx, active[0].ID, JobSucceeded, ""); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestCreateJobUnlessActiveRace: manual syncs asked for at once on several nodes queue one.
func TestCreateJobUnlessActiveRace(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		stores := []*Store{s}
		if s.Dialect() == Postgres {
			other, err := Open(ctx, s.DSN())
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			stores = append(stores, other)
		}
		ws, _ := s.EnsureWorkspace(ctx, "w")
		c := scheduled(t, s, ws.ID, "c", nil)
		var wg sync.WaitGroup
		var mu sync.Mutex
		created := 0
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := stores[i%len(stores)].CreateJobUnlessActive(ctx, &Job{WorkspaceID: ws.ID, ConnectionID: &c.ID, Kind: KindSync, MaxAttempts: 1})
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					created++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if n := len(activeSyncs(t, s, ws.ID, c.ID)); created != 1 || n != 1 {
			t.Fatalf("created %d, %d active; want 1", created, n)
		}
	})
}
