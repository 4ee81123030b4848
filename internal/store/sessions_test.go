package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws1, _ := s.EnsureWorkspace(ctx, "one")
		ws2, _ := s.EnsureWorkspace(ctx, "two")
		ann := User{Name: "ann"}
		if err := s.CreateUser(ctx, &ann); err != nil {
			t.Fatal(err)
		}
		live := Session{IDHash: "hash-live", UserID: ann.ID, WorkspaceID: ws1.ID, CSRFToken: "csrf-1", ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateSession(ctx, &live); err != nil {
			t.Fatal(err)
		}
		got, err := s.SessionByHash(ctx, "hash-live")
		if err != nil || got.UserID != ann.ID || got.WorkspaceID != ws1.ID || got.CSRFToken != "csrf-1" || !got.ExpiresAt.Equal(live.ExpiresAt) {
			t.Fatalf("SessionByHash = %+v, %v; want %+v", got, err, live)
		}
		if _, err := s.SessionByHash(ctx, "no-such-hash"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown session: %v, want ErrNotFound", err)
		}

		if err := s.SetSessionWorkspace(ctx, "hash-live", ws2.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.SessionByHash(ctx, "hash-live"); got.WorkspaceID != ws2.ID {
			t.Fatalf("after switch: workspace %d, want %d", got.WorkspaceID, ws2.ID)
		}
		if err := s.SetSessionWorkspace(ctx, "no-such-hash", ws2.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("switch unknown session: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
		if err := s.TouchSession(ctx, "hash-live"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.SessionByHash(ctx, "hash-live"); !got.LastSeenAt.After(got.CreatedAt) {
			t.Fatalf("touch did not move last seen: %+v", got)
		}

		// An expired session is refused and removed; the sweep removes the others.
		for _, h := range []string{"hash-old-1", "hash-old-2"} {
			old := Session{IDHash: h, UserID: ann.ID, WorkspaceID: ws1.ID, CSRFToken: "x", ExpiresAt: time.Now().Add(-time.Minute)}
			if err := s.CreateSession(ctx, &old); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SessionByHash(ctx, "hash-old-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired session: %v, want ErrNotFound", err)
		}
		if n, err := s.DeleteExpiredSessions(ctx); err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 1 (the other was removed when refused)", n, err)
		}

		if err := s.DeleteSession(ctx, "hash-live"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByHash(ctx, "hash-live"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after logout: %v, want ErrNotFound", err)
		}
	})
}

func TestSearchRecords(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		c, j := newConnection(t, s, ws.ID, "c")
		if _, err := s.BeginEntitySync(ctx, c.ID, "items", j.ID, "full", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyPage(ctx, page(ws.ID, c.ID, j.ID, "c1",
			[2]string{"SKU-1", "Red Chair"}, [2]string{"SKU-2", "blue table"}, [2]string{"X_9", "50% off"})); err != nil {
			t.Fatal(err)
		}
		keys := func(query string) []string {
			t.Helper()
			recs, err := s.ListRecords(ctx, RecordFilter{WorkspaceID: ws.ID, ConnectionID: c.ID, Search: query})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range recs {
				out = append(out, r.Key)
			}
			return out
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"sku-2", []string{"SKU-2"}}, // by key, any case
			{"chair", []string{"SKU-1"}}, // by a field's text
			{"%", []string{"X_9"}},       // LIKE's wildcards match only themselves
			{"_", []string{"X_9"}},
			{"", []string{"SKU-1", "SKU-2", "X_9"}},
			{"nothing", nil},
		} {
			if got := keys(tc.query); len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("search %q = %v, want %v", tc.query, got, tc.want)
			}
		}
		r, err := s.GetRecord(ctx, ws.ID, c.ID, "items", "SKU-2")
		if err != nil || r.Hash != "blue table" || r.State != RecordLive {
			t.Fatalf("GetRecord = %+v, %v", r, err)
		}
		if _, err := s.GetRecord(ctx, ws.ID+1, c.ID, "items", "SKU-2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetRecord from another workspace: %v, want ErrNotFound", err)
		}
	})
}
