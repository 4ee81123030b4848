package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
)

// TestScopeGrantsAndAudit follows one restricted connection through what a member outside
// its scope, an integration token with keyed grants and the audit log see.
func TestScopeGrantsAndAudit(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Postgres: true})
	source := seedAuthzSource(t)
	var olga user
	if code := srv.Do(t, "POST", "/api/v1/users", map[string]any{"name": "olga", "password": "olga's long password", "role": "member"}, &olga); code != http.StatusCreated {
		t.Fatalf("add olga: %d", code)
	}
	var login newToken
	if code := srv.DoWithToken(t, "", "POST", "/api/v1/login", map[string]any{"name": "olga", "password": "olga's long password"}, &login); code != http.StatusOK {
		t.Fatalf("login: %d", code)
	}

	// Everyone sees a new connection; restricted to nobody but admins, olga loses it and its job.
	var c connWithJob
	if code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{"name": "ledger", "driver": "sqlite",
		"credentials": map[string]any{"path": source}}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	srv.WaitJob(t, *c.JobID, time.Minute)
	connPath := fmt.Sprintf("/api/v1/connections/%d", c.Connection.ID)
	if code := srv.DoWithToken(t, login.Token, "GET", connPath, nil, nil); code != http.StatusOK {
		t.Fatalf("olga reads the open connection: %d", code)
	}
	var p problem
	if code := srv.Do(t, "PATCH", connPath, map[string]any{"scope": map[string]any{"mode": "restricted", "users": []int64{99999}}}, &p); code != http.StatusUnprocessableEntity || !p.names("scope") {
		t.Fatalf("scope naming an unknown user: %d %+v", code, p)
	}
	if code := srv.Do(t, "PATCH", connPath, map[string]any{"scope": map[string]any{"mode": "restricted"}}, nil); code != http.StatusOK {
		t.Fatalf("restrict: %d", code)
	}
	var jobs struct{ Jobs []struct{ ID int64 } }
	if code := srv.DoWithToken(t, login.Token, "GET", "/api/v1/jobs", nil, &jobs); code != http.StatusOK || len(jobs.Jobs) != 0 {
		t.Fatalf("olga's jobs after the restriction: %d %+v", code, jobs)
	}
	for _, path := range []string{connPath, connPath + "/catalog", connPath + "/records", fmt.Sprintf("/api/v1/jobs/%d", *c.JobID)} {
		if code := srv.DoWithToken(t, login.Token, "GET", path, nil, nil); code != http.StatusNotFound {
			t.Errorf("olga GET %s: %d, want 404", path, code)
		}
	}
	if code := srv.Do(t, "PATCH", connPath, map[string]any{"scope": map[string]any{"mode": "restricted", "users": []int64{olga.ID}}}, nil); code != http.StatusOK {
		t.Fatalf("let olga in: %d", code)
	}
	if code := srv.DoWithToken(t, login.Token, "GET", connPath, nil, nil); code != http.StatusOK {
		t.Fatalf("olga, listed, reads it: %d", code)
	}

	// An integration token granted record 2 of items sees that record only, the items
	// entity only in the catalog, and is told which grant it lacks for the rest.
	var it newToken
	if code := srv.Do(t, "POST", "/api/v1/integration-tokens", map[string]any{"user": "partner", "name": "partner-read",
		"grants": []map[string]any{{"connection": c.Connection.ID, "entity": "items", "access": "read", "keys": []string{"2"}}}}, &it); code != http.StatusCreated {
		t.Fatalf("integration token: %d", code)
	}
	var page struct {
		Records []struct{ Key string } `json:"records"`
	}
	if code := srv.DoWithToken(t, it.Token, "GET", connPath+"/records?entity=items", nil, &page); code != http.StatusOK ||
		len(page.Records) != 1 || page.Records[0].Key != "2" {
		t.Fatalf("granted records: %d %+v", code, page)
	}
	var cat struct {
		Entities []struct{ Name string } `json:"entities"`
	}
	if code := srv.DoWithToken(t, it.Token, "GET", connPath+"/catalog", nil, &cat); code != http.StatusOK || len(cat.Entities) != 1 || cat.Entities[0].Name != "items" {
		t.Fatalf("granted catalog: %d %+v", code, cat)
	}
	p = problem{}
	if code := srv.DoWithToken(t, it.Token, "GET", connPath+"/records?entity=other", nil, &p); code != http.StatusForbidden ||
		!strings.Contains(p.Detail, `read on entity "other"`) {
		t.Fatalf("ungranted entity: %d %+v", code, p)
	}
	p = problem{}
	if code := srv.DoWithToken(t, it.Token, "POST", connPath+"/records", map[string]any{"entity": "items",
		"records": []map[string]any{{"key": "2", "op": "update", "fields": map[string]any{"name": "x"}}}}, &p); code != http.StatusForbidden ||
		!strings.Contains(p.Detail, `write on entity "items"`) {
		t.Fatalf("write with a read grant: %d %+v", code, p)
	}
	if code := srv.DoWithToken(t, it.Token, "GET", "/api/v1/users", nil, nil); code != http.StatusForbidden {
		t.Fatalf("integration token lists users: %d", code)
	}
	if code := srv.DoWithToken(t, "", "POST", "/api/v1/login", map[string]any{"name": "partner", "password": "anything at all"}, nil); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Fatalf("integration user logs in: %d", code)
	}
	p = problem{}
	if code := srv.Do(t, "POST", "/api/v1/integration-tokens", map[string]any{"user": "olga", "name": "x",
		"grants": []map[string]any{{"connection": c.Connection.ID, "entity": "items", "access": "read"}}}, &p); code != http.StatusUnprocessableEntity || !p.names("body.user") {
		t.Fatalf("integration token for a person: %d %+v", code, p)
	}
	p = problem{}
	if code := srv.Do(t, "POST", "/api/v1/integration-tokens", map[string]any{"user": "partner", "name": "x",
		"grants": []map[string]any{{"connection": 424242, "entity": "items", "access": "read"}}}, &p); code != http.StatusUnprocessableEntity || !p.names("body.grants[0].connection") {
		t.Fatalf("grant on an unknown connection: %d %+v", code, p)
	}

	// The audit log names who did what; members may not read it; secrets never appear.
	if code := srv.DoWithToken(t, login.Token, "GET", "/api/v1/audit", nil, nil); code != http.StatusForbidden {
		t.Fatalf("member reads the audit log: %d", code)
	}
	var audit struct {
		Entries []struct {
			UserName   string `json:"user_name"`
			Action     string `json:"action"`
			ObjectKind string `json:"object_kind"`
			ObjectName string `json:"object_name"`
		} `json:"entries"`
	}
	raw := json.RawMessage{}
	if code := srv.Do(t, "GET", "/api/v1/audit?limit=1000", nil, &raw); code != http.StatusOK {
		t.Fatalf("audit: %d", code)
	}
	if err := json.Unmarshal(raw, &audit); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range audit.Entries {
		got = append(got, e.UserName+" "+e.Action+" "+e.ObjectKind+" "+e.ObjectName)
	}
	for _, want := range []string{"admin create connection ledger", "admin update connection ledger", "admin add member olga",
		"admin create token partner-read", "olga create token login"} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("audit lacks %q: %v", want, got)
		}
	}
	if strings.Contains(string(raw), it.Token) || strings.Contains(string(raw), login.Token) {
		t.Fatalf("the audit log shows a token")
	}
}
