package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/server/servertest"
)

func createSQLite(t *testing.T, srv *servertest.Instance, name, path string) connWithJob {
	t.Helper()
	var c connWithJob
	if code := srv.Do(t, "POST", "/api/v1/connections", map[string]any{
		"name": name, "driver": "sqlite", "credentials": map[string]any{"path": path},
	}, &c); code != http.StatusCreated {
		t.Fatalf("create %s: %d", name, code)
	}
	return c
}

func TestBulkCheckCancel(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{PageSize: 100})
	small := seedSQLite(t, 50)
	a := createSQLite(t, srv, "a", small)
	b := createSQLite(t, srv, "b", small)
	srv.WaitJob(t, *a.JobID, time.Minute)
	srv.WaitJob(t, *b.JobID, time.Minute)

	// Bulk: one result per id, a missing id reported alone.
	var bulk struct {
		Results []struct {
			ID     int64  `json:"id"`
			OK     bool   `json:"ok"`
			Status int    `json:"status"`
			Error  string `json:"error"`
		} `json:"results"`
	}
	ids := []int64{a.Connection.ID, b.Connection.ID, 9999}
	if code := srv.Do(t, "POST", "/api/v1/connections/bulk", map[string]any{"action": "disable", "ids": ids}, &bulk); code != http.StatusOK {
		t.Fatalf("bulk disable: %d", code)
	}
	got := fmt.Sprint(bulk.Results[0].OK, bulk.Results[1].OK, bulk.Results[2].OK, bulk.Results[2].Status)
	if len(bulk.Results) != 3 || got != "true true false 404" {
		t.Fatalf("bulk disable results = %+v", bulk.Results)
	}
	srv.Do(t, "POST", "/api/v1/connections/bulk", map[string]any{"action": "sync", "ids": ids[:2]}, &bulk)
	if bulk.Results[0].Status != http.StatusConflict || bulk.Results[1].Status != http.StatusConflict {
		t.Fatalf("bulk sync of disabled connections = %+v, want 409 each", bulk.Results)
	}
	srv.Do(t, "POST", "/api/v1/connections/bulk", map[string]any{"action": "enable", "ids": ids[:2]}, &bulk)
	if !bulk.Results[0].OK || !bulk.Results[1].OK {
		t.Fatalf("bulk enable = %+v", bulk.Results)
	}
	var p problem
	if code := srv.Do(t, "POST", "/api/v1/connections/bulk", map[string]any{"action": "explode", "ids": ids}, &p); code != http.StatusUnprocessableEntity {
		t.Fatalf("unknown bulk action: %d, want 422", code)
	}

	// Check: the stored credentials pass; a given wrong path fails naming the field, and is not stored.
	var check struct {
		OK          bool  `json:"ok"`
		JobID       int64 `json:"job_id"`
		FieldErrors []struct {
			Field string `json:"field"`
		} `json:"field_errors"`
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/check", a.Connection.ID), nil, &check); code != http.StatusOK || !check.OK || check.JobID == 0 {
		t.Fatalf("check: %d %+v", code, check)
	}
	srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/check", a.Connection.ID),
		map[string]any{"credentials": map[string]any{"path": "/nonexistent/x.db"}}, &check)
	if check.OK || len(check.FieldErrors) != 1 || check.FieldErrors[0].Field != "credentials.path" {
		t.Fatalf("check with a wrong path = %+v", check)
	}
	var c conn
	srv.Do(t, "GET", fmt.Sprintf("/api/v1/connections/%d", a.Connection.ID), nil, &c)
	if c.Credentials["path"] != small {
		t.Fatalf("a check override was stored: %v", c.Credentials)
	}

	// Cancel: a long sync stops and says so.
	big := createSQLite(t, srv, "big", seedSQLite(t, 200000))
	deadline := time.Now().Add(time.Minute)
	for {
		var j servertest.Job
		srv.Do(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", *big.JobID), nil, &j)
		if j.State == "running" && j.Progress.Read > 0 {
			break
		}
		if time.Now().After(deadline) || j.State == "succeeded" {
			t.Fatalf("could not catch the sync running: %+v", j)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := srv.Do(t, "POST", fmt.Sprintf("/api/v1/jobs/%d/cancel", *big.JobID), nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel: %d", code)
	}
	if j := srv.WaitJob(t, *big.JobID, time.Minute); j.State != "cancelled" || j.Progress.Read >= 200000 {
		t.Fatalf("cancelled job = %+v", j)
	}
	// Asking for a sync while one is pending returns that one.
	var s1, s2 struct {
		JobID    int64 `json:"job_id"`
		Existing bool  `json:"existing"`
	}
	srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync", big.Connection.ID), nil, &s1)
	srv.Do(t, "POST", fmt.Sprintf("/api/v1/connections/%d/sync", big.Connection.ID), nil, &s2)
	if s1.JobID != s2.JobID || !s2.Existing {
		t.Fatalf("two sync requests started %d and %d (existing=%v)", s1.JobID, s2.JobID, s2.Existing)
	}
	srv.Do(t, "POST", fmt.Sprintf("/api/v1/jobs/%d/cancel", s1.JobID), nil, nil)
	srv.WaitJob(t, s1.JobID, time.Minute)

	// Filters on the job list.
	var jobs struct {
		Jobs []servertest.Job `json:"jobs"`
	}
	srv.Do(t, "GET", "/api/v1/jobs?kind=check", nil, &jobs)
	if len(jobs.Jobs) != 2 || jobs.Jobs[0].Kind != "check" {
		t.Fatalf("check jobs = %+v", jobs.Jobs)
	}
	srv.Do(t, "GET", "/api/v1/jobs?state=cancelled", nil, &jobs)
	if len(jobs.Jobs) != 2 {
		t.Fatalf("cancelled jobs = %d, want 2", len(jobs.Jobs))
	}
}

func TestHealthMetricsOpenAPI(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	c := createSQLite(t, srv, "a", seedSQLite(t, 10))
	srv.WaitJob(t, *c.JobID, time.Minute)
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", code, body)
	}
	code, body := get("/metrics")
	for _, want := range []string{`junction_jobs{state="succeeded"} 1`, `junction_records_synced_total{result="inserted"} 10`, "junction_job_duration_seconds_bucket"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("metrics lack %q:\n%s", want, body)
		}
	}
	code, body = get("/api/v1/openapi.json")
	for _, want := range []string{`"openapi":"3.1.0"`, `"/api/v1/connections/{id}/sync"`, `"/api/v1/jobs/{id}/cancel"`, `"bearer"`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("openapi.json lacks %s (status %d)", want, code)
		}
	}
	// Errors are problem+json.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/connections/424242", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("missing connection: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
