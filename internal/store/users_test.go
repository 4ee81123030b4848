package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUsersMembershipsGroups(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws1, _ := s.EnsureWorkspace(ctx, "one")
		ann := User{Name: "ann", DisplayName: "Ann", PasswordHash: "$argon2id$x", ServerAdmin: true}
		if err := s.CreateUser(ctx, &ann); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateUser(ctx, &User{Name: "ann"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("second ann: %v, want ErrConflict", err)
		}
		bo := User{Name: "bo", Kind: UserIntegration}
		if err := s.CreateUser(ctx, &bo); err != nil {
			t.Fatal(err)
		}
		got, err := s.UserByName(ctx, "ann")
		if err != nil || got.ID != ann.ID || !got.ServerAdmin || got.Kind != UserPerson || got.PasswordHash != ann.PasswordHash {
			t.Fatalf("UserByName: %+v %v", got, err)
		}
		if _, err := s.GetUser(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetUser(999): %v", err)
		}
		dn := "Ann B."
		if err := s.UpdateUser(ctx, ann.ID, UserChange{DisplayName: &dn}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetUser(ctx, ann.ID); got.DisplayName != dn || got.PasswordHash != ann.PasswordHash {
			t.Fatalf("after UpdateUser: %+v", got)
		}

		// A new workspace's creator owns it; memberships and the last owner.
		ws2, err := s.CreateWorkspace(ctx, "two", ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateWorkspace(ctx, "two", ann.ID); !errors.Is(err, ErrConflict) {
			t.Fatalf("second workspace two: %v", err)
		}
		if err := s.AddMember(ctx, ws2.ID, bo.ID, "member"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMember(ctx, ws2.ID, bo.ID, "admin"); !errors.Is(err, ErrConflict) {
			t.Fatalf("second membership: %v", err)
		}
		if m, err := s.UserInWorkspace(ctx, ws2.ID, ann.ID); err != nil || m.Role != "owner" {
			t.Fatalf("ann in two: %+v %v", m, err)
		}
		if _, err := s.UserInWorkspace(ctx, ws1.ID, ann.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ann in one: %v, want ErrNotFound", err)
		}
		if list, _ := s.WorkspacesOf(ctx, ann.ID); len(list) != 1 || list[0].ID != ws2.ID || list[0].Role != "owner" {
			t.Fatalf("ann's workspaces: %+v", list)
		}
		if list, _ := s.ListMembers(ctx, ws2.ID); len(list) != 2 || list[0].Name != "ann" || list[1].Role != "member" {
			t.Fatalf("members of two: %+v", list)
		}
		if err := s.SetRole(ctx, ws2.ID, ann.ID, "admin"); !errors.Is(err, ErrLastOwner) || !errors.Is(err, ErrConflict) {
			t.Fatalf("demote the last owner: %v", err)
		}
		if err := s.RemoveMember(ctx, ws2.ID, ann.ID); !errors.Is(err, ErrLastOwner) {
			t.Fatalf("remove the last owner: %v", err)
		}
		if err := s.SetRole(ctx, ws2.ID, bo.ID, "owner"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRole(ctx, ws2.ID, ann.ID, "admin"); err != nil {
			t.Fatalf("demote ann with bo an owner: %v", err)
		}
		if err := s.SetRole(ctx, ws1.ID, ann.ID, "admin"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("role in a workspace ann is not in: %v", err)
		}

		// Groups belong to one workspace; only its members join.
		g, err := s.CreateGroup(ctx, ws2.ID, "sales")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateGroup(ctx, ws2.ID, "sales"); !errors.Is(err, ErrConflict) {
			t.Fatalf("second group sales: %v", err)
		}
		if _, err := s.CreateGroup(ctx, ws1.ID, "sales"); err != nil {
			t.Fatalf("sales in another workspace: %v", err)
		}
		for range 2 { // again is fine
			if err := s.AddGroupMember(ctx, ws2.ID, g.ID, bo.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddGroupMember(ctx, ws1.ID, g.ID, bo.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("group of two through one: %v", err)
		}
		outsider := User{Name: "cy"}
		_ = s.CreateUser(ctx, &outsider)
		if err := s.AddGroupMember(ctx, ws2.ID, g.ID, outsider.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a non-member joins: %v", err)
		}
		if got, err := s.GetGroup(ctx, ws2.ID, g.ID); err != nil || len(got.Members) != 1 || got.Members[0] != bo.ID {
			t.Fatalf("GetGroup: %+v %v", got, err)
		}
		if _, err := s.GetGroup(ctx, ws1.ID, g.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("group of two read in one: %v", err)
		}
		if err := s.RenameGroup(ctx, ws2.ID, g.ID, "sales team"); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.ListGroups(ctx, ws2.ID); len(list) != 1 || list[0].Name != "sales team" || len(list[0].Members) != 1 {
			t.Fatalf("ListGroups: %+v", list)
		}
		// Leaving the workspace leaves its groups.
		if err := s.SetRole(ctx, ws2.ID, ann.ID, "owner"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveMember(ctx, ws2.ID, bo.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetGroup(ctx, ws2.ID, g.ID); len(got.Members) != 0 {
			t.Fatalf("bo left two but is still in its group: %+v", got)
		}
		if err := s.RemoveGroupMember(ctx, ws2.ID, g.ID, bo.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("remove a non-member from a group: %v", err)
		}
		if err := s.DeleteGroup(ctx, ws1.ID, g.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete two's group through one: %v", err)
		}
		if err := s.DeleteGroup(ctx, ws2.ID, g.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUserTokens(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws, _ := s.EnsureWorkspace(ctx, "w")
		// A token from before users existed.
		old, err := s.CreateToken(ctx, ws.ID, "first admin", "hash-old", "owner", nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountOrphanTokens(ctx); n != 1 {
			t.Fatalf("orphans: %d", n)
		}
		admin := User{Name: "admin", ServerAdmin: true}
		if err := s.CreateUser(ctx, &admin); err != nil {
			t.Fatal(err)
		}
		if n, err := s.AttachOrphanTokens(ctx, admin.ID); err != nil || n != 1 {
			t.Fatalf("attach: %d %v", n, err)
		}
		if n, _ := s.AttachOrphanTokens(ctx, admin.ID); n != 0 {
			t.Fatalf("attach again: %d", n)
		}
		if m, err := s.UserInWorkspace(ctx, ws.ID, admin.ID); err != nil || m.Role != "owner" {
			t.Fatalf("admin after attach: %+v %v", m, err)
		}
		got, err := s.TokenByHash(ctx, "hash-old")
		if err != nil || got.ID != old.ID || got.UserID == nil || *got.UserID != admin.ID || got.Kind != TokenPersonal {
			t.Fatalf("old token after attach: %+v %v", got, err)
		}

		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
		tk := Token{WorkspaceID: ws.ID, UserID: &admin.ID, Name: "ci", ExpiresAt: &exp}
		if err := s.IssueToken(ctx, &tk, "hash-ci"); err != nil {
			t.Fatal(err)
		}
		past := time.Now().Add(-time.Hour)
		gone := Token{WorkspaceID: ws.ID, UserID: &admin.ID, Name: "expired", ExpiresAt: &past}
		if err := s.IssueToken(ctx, &gone, "hash-expired"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenByHash(ctx, "hash-expired"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired token: %v", err)
		}
		list, err := s.ListTokens(ctx, TokenFilter{UserID: admin.ID, Kind: TokenPersonal})
		if err != nil || len(list) != 3 || list[0].ID != gone.ID || list[1].ExpiresAt == nil || !list[1].ExpiresAt.Equal(exp) {
			t.Fatalf("ListTokens: %+v %v", list, err)
		}
		if list, _ := s.ListTokens(ctx, TokenFilter{UserID: admin.ID + 100}); len(list) != 0 {
			t.Fatalf("another user's tokens: %+v", list)
		}
		if err := s.RevokeToken(ctx, tk.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenByHash(ctx, "hash-ci"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoked token: %v", err)
		}
		if got, _ := s.GetToken(ctx, tk.ID); got.RevokedAt == nil {
			t.Fatalf("GetToken after revoke: %+v", got)
		}
		if err := s.RevokeToken(ctx, 9999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke a missing token: %v", err)
		}
	})
}
