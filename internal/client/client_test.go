package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/api"
)

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        Error
		wantMsg     string
	}{
		{
			name:        "field errors",
			status:      422,
			contentType: "application/problem+json",
			body: `{"title":"Unprocessable Entity","status":422,"detail":"validation failed",
				"errors":[{"location":"credentials.password","message":"password authentication failed","value":"hunter2"}]}`,
			want: Error{Status: 422, Title: "Unprocessable Entity", Detail: "validation failed",
				Fields: []FieldError{{"credentials.password", "password authentication failed"}}},
			wantMsg: "422 Unprocessable Entity: credentials.password: password authentication failed",
		},
		{
			name:        "two fields",
			status:      422,
			contentType: "application/problem+json",
			body: `{"title":"Unprocessable Entity","status":422,"errors":[
				{"location":"name","message":"is required"},{"location":"settings.port","message":"must be a whole number"}]}`,
			want: Error{Status: 422, Title: "Unprocessable Entity",
				Fields: []FieldError{{"name", "is required"}, {"settings.port", "must be a whole number"}}},
			wantMsg: "422 Unprocessable Entity: name: is required; settings.port: must be a whole number",
		},
		{
			name:        "detail only",
			status:      409,
			contentType: "application/problem+json",
			body:        `{"title":"Conflict","status":409,"detail":"connection 3 is active; disable it first"}`,
			want:        Error{Status: 409, Title: "Conflict", Detail: "connection 3 is active; disable it first"},
			wantMsg:     "409 Conflict: connection 3 is active; disable it first",
		},
		{
			name:        "no title",
			status:      404,
			contentType: "application/problem+json",
			body:        `{"status":404,"detail":"no connection 9"}`,
			want:        Error{Status: 404, Detail: "no connection 9"},
			wantMsg:     "404 Not Found: no connection 9",
		},
		{
			name:        "not json",
			status:      502,
			contentType: "text/html",
			body:        "<html>Bad Gateway</html>\nmore",
			want:        Error{Status: 502, Title: "Bad Gateway", Detail: "<html>Bad Gateway</html>"},
			wantMsg:     "502 Bad Gateway: <html>Bad Gateway</html>",
		},
		{
			name:    "empty body",
			status:  401,
			want:    Error{Status: 401, Title: "Unauthorized"},
			wantMsg: "401 Unauthorized",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			_, err := New(srv.URL, "secret-token").Connections(context.Background())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if fmt.Sprint(*e) != fmt.Sprint(tt.want) {
				t.Errorf("error = %+v, want %+v", *e, tt.want)
			}
			if e.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", e.Error(), tt.wantMsg)
			}
			if strings.Contains(e.Error(), "hunter2") || strings.Contains(e.Error(), "secret-token") {
				t.Errorf("Error() leaks a secret: %q", e.Error())
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	var got struct {
		method, path, query, auth, ctype string
		body                             map[string]any
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.query = r.Method, r.URL.Path, r.URL.RawQuery
		got.auth, got.ctype = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		got.body = nil
		_ = json.NewDecoder(r.Body).Decode(&got.body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"connection":{"id":7,"name":"shop","driver":"sqlite"},"job_id":12}`)
	}))
	defer srv.Close()
	c := New(srv.URL+"/", "tok")
	name, drv := "shop", "sqlite"
	out, err := c.CreateConnection(context.Background(), api.ConnectionInput{
		Name: &name, Driver: &drv, Credentials: map[string]any{"path": "/x.db"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Connection.ID != 7 || out.JobID == nil || *out.JobID != 12 {
		t.Errorf("answer = %+v", out)
	}
	if got.method != "POST" || got.path != "/api/v1/connections" || got.auth != "Bearer tok" || got.ctype != "application/json" {
		t.Errorf("request = %+v", got)
	}
	if got.body["name"] != "shop" || got.body["credentials"].(map[string]any)["path"] != "/x.db" {
		t.Errorf("body = %v", got.body)
	}

	_, _ = c.Jobs(context.Background(), JobQuery{Connection: 7, State: "failed", Limit: 5})
	if got.path != "/api/v1/jobs" || got.query != "connection=7&limit=5&state=failed" {
		t.Errorf("jobs request = %s?%s", got.path, got.query)
	}
}

func TestJobsNext(t *testing.T) {
	for _, next := range []string{`"41"`, `41`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"jobs":[{"id":42,"kind":"sync","state":"running"}],"next":%s}`, next)
		}))
		page, err := New(srv.URL, "").Jobs(context.Background(), JobQuery{})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Jobs) != 1 || page.Next != "41" {
			t.Errorf("next %s: page = %+v", next, page)
		}
	}
}

func TestWaitJob(t *testing.T) {
	var polls atomic.Int32
	states := []string{"pending", "running", "running", "succeeded"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(polls.Add(1)) - 1
		if n == 1 { // one failed poll is tolerated
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if n > 1 {
			n--
		}
		json.NewEncoder(w).Encode(api.Job{ID: 5, State: states[min(n, len(states)-1)],
			Progress: api.Progress{Read: int64(n * 10)}})
	}))
	defer srv.Close()
	var seen []string
	job, err := New(srv.URL, "").WaitJob(context.Background(), 5, time.Millisecond, func(j api.Job) {
		seen = append(seen, j.State)
	})
	if err != nil {
		t.Fatal(err)
	}
	if job.State != "succeeded" || job.Progress.Read != 30 {
		t.Errorf("job = %+v", job)
	}
	if strings.Join(seen, ",") != "pending,running,running,succeeded" {
		t.Errorf("progress saw %v", seen)
	}
}

func TestWaitJobStopsOnClientError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"title":"Not Found","status":404,"detail":"no job 5"}`)
	}))
	defer srv.Close()
	_, err := New(srv.URL, "").WaitJob(context.Background(), 5, time.Millisecond, nil)
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 {
		t.Fatalf("err = %v, want a 404 *Error", err)
	}
}

func TestWaitJobHonoursContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":5,"state":"running"}`)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := New(srv.URL, "").WaitJob(ctx, 5, 5*time.Millisecond, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}
