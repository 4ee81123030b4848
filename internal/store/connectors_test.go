package store

import (
	"context"
	"errors"
	"testing"
)

func TestConnectors(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ws1, _ := s.EnsureWorkspace(ctx, "one")
		ws2, _ := s.EnsureWorkspace(ctx, "two")
		c := Connector{WorkspaceID: ws1.ID, Name: "csv", URL: "http://127.0.0.1:1", AuthSealed: "k:sealed", Spec: `{"name":"csvfolder"}`}
		if err := s.CreateConnector(ctx, &c); err != nil || c.ID == 0 {
			t.Fatalf("CreateConnector = %v (id %d)", err, c.ID)
		}
		dup := Connector{WorkspaceID: ws1.ID, Name: "csv", URL: "http://x", Spec: "{}"}
		if err := s.CreateConnector(ctx, &dup); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate name: err = %v, want ErrConflict", err)
		}
		other := Connector{WorkspaceID: ws2.ID, Name: "csv", URL: "http://y", Spec: "{}"}
		if err := s.CreateConnector(ctx, &other); err != nil {
			t.Fatalf("same name in another workspace: %v", err)
		}
		got, err := s.GetConnector(ctx, ws1.ID, "csv")
		if err != nil || got.URL != c.URL || got.AuthSealed != "k:sealed" || got.Spec != c.Spec || !got.FetchedAt.Equal(c.FetchedAt) {
			t.Fatalf("GetConnector = %+v, %v", got, err)
		}
		if _, err := s.GetConnector(ctx, ws1.ID, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown connector: %v", err)
		}
		if list, err := s.ListConnectors(ctx, ws1.ID); err != nil || len(list) != 1 || list[0].Name != "csv" {
			t.Fatalf("ListConnectors = %+v, %v", list, err)
		}
		at, err := s.UpdateConnectorSpec(ctx, ws1.ID, "csv", `{"name":"csvfolder","label":"v2"}`)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetConnector(ctx, ws1.ID, "csv"); got.Spec != `{"name":"csvfolder","label":"v2"}` || !got.FetchedAt.Equal(at) {
			t.Fatalf("after UpdateConnectorSpec: %+v", got)
		}
		if _, err := s.UpdateConnectorSpec(ctx, ws1.ID, "nope", "{}"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UpdateConnectorSpec of unknown: %v", err)
		}

		conn := Connection{WorkspaceID: ws1.ID, Name: "files", Driver: "csv", Status: StatusInactive,
			CredentialsSealed: "k:x", Settings: map[string]any{}}
		if err := s.CreateConnection(ctx, &conn, &Job{WorkspaceID: ws1.ID, Kind: KindSync, MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteConnector(ctx, ws1.ID, "csv"); !errors.Is(err, ErrConflict) {
			t.Fatalf("delete while used: err = %v, want ErrConflict", err)
		}
		if err := s.DeleteConnector(ctx, ws2.ID, "csv"); err != nil {
			t.Fatalf("delete of the other workspace's unused connector: %v", err)
		}
		if err := s.PurgeConnection(ctx, conn.ID, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteConnector(ctx, ws1.ID, "csv"); err != nil {
			t.Fatalf("delete once unused: %v", err)
		}
		if err := s.DeleteConnector(ctx, ws1.ID, "csv"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if list, _ := s.ListConnectors(ctx, ws1.ID); len(list) != 0 {
			t.Fatalf("%d connectors left", len(list))
		}
	})
}
