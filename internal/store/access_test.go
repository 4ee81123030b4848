package store

import (
	"context"
	"errors"
	"testing"
)

// TestConnectionScope checks who sees a restricted connection: the listed user, members
// of the listed group, admins; nobody else, in lists, by id and through jobs.
func TestConnectionScope(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "ws")
		other, _ := s.EnsureWorkspace(ctx, "other")
		users := map[string]int64{}
		for _, n := range []string{"uma", "gil", "olaf", "stranger"} {
			u := User{Name: n}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			users[n] = u.ID
			w := ws.ID
			if n == "stranger" {
				w = other.ID
			}
			if err := s.AddMember(ctx, w, u.ID, "member"); err != nil {
				t.Fatal(err)
			}
		}
		g, err := s.CreateGroup(ctx, ws.ID, "sales")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddGroupMember(ctx, ws.ID, g.ID, users["gil"]); err != nil {
			t.Fatal(err)
		}
		open, _ := newConnection(t, s, ws.ID, "open")
		closed, job := newConnection(t, s, ws.ID, "closed")
		closed.Scope = Scope{Mode: ScopeRestricted, UserIDs: []int64{users["uma"]}, GroupIDs: []int64{g.ID}}
		if err := s.UpdateConnection(ctx, &closed, nil); err != nil {
			t.Fatal(err)
		}

		names := func(v Viewer) []string {
			list, err := s.ListVisibleConnections(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range list {
				out = append(out, c.Name)
			}
			return out
		}
		for _, tc := range []struct {
			who  string
			all  bool
			sees bool
		}{
			{"uma", false, true},   // listed by name
			{"gil", false, true},   // through the group
			{"olaf", false, false}, // neither
			{"olaf", true, true},   // an admin sees everything
		} {
			v := Viewer{WorkspaceID: ws.ID, UserID: users[tc.who], SeesAll: tc.all}
			got := names(v)
			want := []string{"closed", "open"}
			if !tc.sees {
				want = []string{"open"}
			}
			if len(got) != len(want) || got[0] != want[0] {
				t.Errorf("%s (admin %v) lists %v, want %v", tc.who, tc.all, got, want)
			}
			_, err := s.GetVisibleConnection(ctx, v, closed.ID)
			if tc.sees != (err == nil) || (!tc.sees && !errors.Is(err, ErrNotFound)) {
				t.Errorf("%s (admin %v) reads the closed connection: %v", tc.who, tc.all, err)
			}
			jobs, err := s.ListJobs(ctx, JobFilter{WorkspaceID: ws.ID, Viewer: &v})
			if err != nil {
				t.Fatal(err)
			}
			sawJob := false
			for _, j := range jobs {
				sawJob = sawJob || j.ID == job.ID
			}
			if sawJob != tc.sees {
				t.Errorf("%s (admin %v) sees the closed connection's job: %v", tc.who, tc.all, sawJob)
			}
		}
		if _, err := s.GetVisibleConnection(ctx, Viewer{WorkspaceID: other.ID, UserID: users["stranger"]}, open.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another workspace reads the open connection: %v", err)
		}

		// A flow run from the open connection into the closed one is hidden like the
		// closed connection's own jobs.
		fl := Flow{WorkspaceID: ws.ID, Name: "open to closed", SourceConnectionID: open.ID, SourceEntity: "a",
			TargetConnectionID: closed.ID, TargetEntity: "a", Trigger: "manual", Definition: "{}"}
		if err := s.CreateFlow(ctx, &fl); err != nil {
			t.Fatal(err)
		}
		run, _, err := s.CreateFlowJob(ctx, fl, &Job{MaxAttempts: 3}, false)
		if err != nil {
			t.Fatal(err)
		}
		for who, sees := range map[string]bool{"uma": true, "olaf": false} {
			v := Viewer{WorkspaceID: ws.ID, UserID: users[who]}
			_, err := s.GetVisibleJob(ctx, v, run.ID)
			if sees != (err == nil) {
				t.Errorf("%s reads the flow run into the closed connection: %v", who, err)
			}
			jobs, _ := s.ListJobs(ctx, JobFilter{WorkspaceID: ws.ID, Viewer: &v})
			listed := false
			for _, j := range jobs {
				listed = listed || j.ID == run.ID
			}
			if listed != sees {
				t.Errorf("%s lists the flow run: %v, want %v", who, listed, sees)
			}
		}

		// The scope comes back with the connection; users and groups of other workspaces
		// are refused, and leave the stored scope as it was.
		got, err := s.GetConnection(ctx, ws.ID, closed.ID)
		if err != nil || got.Scope.Mode != ScopeRestricted || len(got.Scope.UserIDs) != 1 || len(got.Scope.GroupIDs) != 1 {
			t.Fatalf("stored scope: %+v %v", got.Scope, err)
		}
		bad := got
		bad.Scope = Scope{Mode: ScopeRestricted, UserIDs: []int64{users["stranger"]}}
		if err := s.UpdateConnection(ctx, &bad, nil); !errors.Is(err, ErrInvalidScope) {
			t.Fatalf("scope with a stranger: %v, want ErrInvalidScope", err)
		}
		if again, _ := s.GetConnection(ctx, ws.ID, closed.ID); len(again.Scope.UserIDs) != 1 || again.Scope.UserIDs[0] != users["uma"] {
			t.Fatalf("a refused scope changed the stored one: %+v", again.Scope)
		}

		// Leaving the workspace or deleting the group takes away what they gave.
		if err := s.RemoveMember(ctx, ws.ID, users["uma"]); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, ws.ID, g.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetConnection(ctx, ws.ID, closed.ID); len(got.Scope.UserIDs)+len(got.Scope.GroupIDs) != 0 {
			t.Fatalf("scope after uma left and sales was deleted: %+v", got.Scope)
		}
		if n := names(Viewer{WorkspaceID: ws.ID, UserID: users["gil"]}); len(n) != 1 {
			t.Fatalf("gil after the group was deleted sees %v", n)
		}
	})
}

// TestAuditLog checks that changes made with an actor are audited in their transaction,
// and changes without one (the scheduler, bootstrap) are not.
func TestAuditLog(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "ws")
		newConnection(t, s, ws.ID, "quiet") // no actor: not audited
		ann := User{Name: "ann"}
		if err := s.CreateUser(ctx, &ann); err != nil {
			t.Fatal(err)
		}
		as := WithActor(ctx, Actor{UserID: ann.ID, UserName: "ann", TokenID: 7})
		c, _ := newConnection(t, s, ws.ID, "loud")
		c.Description = "edited"
		if err := s.UpdateConnection(as, &c, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetConnectionStatus(as, ws.ID, c.ID, StatusInactive, nil, nil); err != nil {
			t.Fatal(err)
		}
		tok := Token{WorkspaceID: ws.ID, UserID: &ann.ID, Name: "ci"}
		if err := s.IssueToken(as, &tok, "hash-ci"); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(as, tok.ID); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListAudit(ctx, AuditFilter{WorkspaceID: ws.ID})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"revoke token ci", "create token ci", "disable connection loud", "update connection loud"}
		if len(list) != len(want) {
			t.Fatalf("audit: %+v, want %v", list, want)
		}
		for i, e := range list {
			if got := e.Action + " " + e.ObjectKind + " " + e.ObjectName; got != want[i] || e.UserName != "ann" ||
				e.UserID == nil || *e.UserID != ann.ID || e.TokenID == nil || *e.TokenID != 7 {
				t.Errorf("entry %d: %q by %+v, want %q by ann with token 7", i, got, e, want[i])
			}
		}
		if only, _ := s.ListAudit(ctx, AuditFilter{WorkspaceID: ws.ID, ObjectKind: "token"}); len(only) != 2 {
			t.Errorf("audit of tokens: %d entries, want 2", len(only))
		}
	})
}
