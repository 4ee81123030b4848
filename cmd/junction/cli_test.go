package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/driver"
)

func init() {
	waitEvery = time.Millisecond
	displayLoc = time.UTC
}

// testSpec has a field of each group and a secret, like the database drivers.
var testSpec = driver.Spec{
	Name:  "pgx",
	Label: "Test database",
	Credentials: []driver.Field{
		{Name: "host", Label: "Host", Type: driver.TypeText, Default: "127.0.0.1"},
		{Name: "port", Label: "Port", Type: driver.TypeInteger, Default: int64(5432)},
		{Name: "password", Label: "Password", Type: driver.TypePassword},
	},
	Settings: []driver.Field{
		{Name: "tables", Label: "Tables", Type: driver.TypeText, Help: "Comma-separated."},
		{Name: "mode", Label: "Mode", Type: driver.TypeSelect, Options: []string{"full", "incremental"}, Required: true},
	},
	Capabilities: driver.Capabilities{Read: true, Write: true},
}

func TestApplySets(t *testing.T) {
	tests := []struct {
		name         string
		sets         []string
		stdin        string
		wantCreds    map[string]any
		wantSettings map[string]any
		wantErr      string // part of the error; "" for none
		notInErr     string // must not be in the error, e.g. a value
	}{
		{
			name:         "split by spec",
			sets:         []string{"host=db.example", "port=6543", "tables=a,b", "mode=full"},
			wantCreds:    map[string]any{"host": "db.example", "port": "6543"},
			wantSettings: map[string]any{"tables": "a,b", "mode": "full"},
		},
		{
			name:         "value with = and empty value",
			sets:         []string{"password=a=b", "tables="},
			wantCreds:    map[string]any{"password": "a=b"},
			wantSettings: map[string]any{"tables": ""},
		},
		{
			name:         "qualified keys",
			sets:         []string{"credentials.host=h", "settings.mode=incremental"},
			wantCreds:    map[string]any{"host": "h"},
			wantSettings: map[string]any{"mode": "incremental"},
		},
		{
			name:         "value from stdin",
			sets:         []string{"password=-", "host=-"},
			stdin:        "s3cret\r\nother\n",
			wantCreds:    map[string]any{"password": "s3cret", "host": "other"},
			wantSettings: map[string]any{},
		},
		{
			name:     "unknown key names the key",
			sets:     []string{"host=h", "passwd=hunter2"},
			wantErr:  `unknown field "passwd" for driver pgx (its fields: host, port, password, tables, mode)`,
			notInErr: "hunter2",
		},
		{
			name:    "qualified key in the wrong group",
			sets:    []string{"settings.host=h"},
			wantErr: `unknown field "settings.host"`,
		},
		{
			name:     "no equals sign",
			sets:     []string{"host=h", "hunter2"},
			wantErr:  "--set number 2 has no '='",
			notInErr: "hunter2",
		},
		{
			name:    "given twice",
			sets:    []string{"host=a", "credentials.host=b"},
			wantErr: "--set host given twice",
		},
		{
			name:    "stdin runs dry",
			sets:    []string{"password=-"},
			wantErr: "--set password=-: no line left on standard input",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{stdin: strings.NewReader(tt.stdin), stderr: io.Discard}
			creds, settings, err := applySets(testSpec, tt.sets, c.readValue)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if tt.notInErr != "" && strings.Contains(err.Error(), tt.notInErr) {
					t.Errorf("err %q shows %q", err, tt.notInErr)
				}
				var ue usageErr
				if !errors.As(err, &ue) {
					t.Errorf("err is %T, want a usage error (exit 2)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(creds, tt.wantCreds) || !reflect.DeepEqual(settings, tt.wantSettings) {
				t.Errorf("got credentials %v settings %v, want %v %v", creds, settings, tt.wantCreds, tt.wantSettings)
			}
		})
	}
}

func TestBuildInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := write("full.json", `{"name":"shop","driver":"pgx","description":"d",
		"credentials":{"host":"a","password":"p"},"settings":{"mode":"full"}}`)
	sched := write("sched.json", `{"name":"shop","driver":"pgx","schedule":"2h"}`)
	typo := write("typo.json", `{"name":"shop","driver":"pgx","credential":{"host":"a"}}`)
	broken := write("broken.json", `{"name":`)

	str := func(s string) *string { return &s }
	tests := []struct {
		name    string
		args    []string
		stdin   string
		want    api.ConnectionInput
		wantErr string
	}{
		{
			name: "flags only",
			args: []string{"--driver", "pgx", "--name", "shop", "--set", "host=h", "--set", "mode=full"},
			want: api.ConnectionInput{Driver: str("pgx"), Name: str("shop"),
				Credentials: map[string]any{"host": "h"}, Settings: map[string]any{"mode": "full"}},
		},
		{
			name: "from file",
			args: []string{"--from", full},
			want: api.ConnectionInput{Driver: str("pgx"), Name: str("shop"), Description: str("d"),
				Credentials: map[string]any{"host": "a", "password": "p"}, Settings: map[string]any{"mode": "full"}},
		},
		{
			name: "flags over file",
			args: []string{"--from", full, "--name", "other", "--description", "", "--set", "host=b", "--set", "tables=t"},
			want: api.ConnectionInput{Driver: str("pgx"), Name: str("other"), Description: str(""),
				Credentials: map[string]any{"host": "b", "password": "p"},
				Settings:    map[string]any{"mode": "full", "tables": "t"}},
		},
		{
			name: "schedule",
			args: []string{"--driver", "pgx", "--name", "shop", "--schedule", "*/15 * * * *"},
			want: api.ConnectionInput{Driver: str("pgx"), Name: str("shop"), Schedule: str("*/15 * * * *")},
		},
		{
			name: "empty schedule over file (manual)",
			args: []string{"--from", sched, "--schedule", ""},
			want: api.ConnectionInput{Driver: str("pgx"), Name: str("shop"), Schedule: str("")},
		},
		{
			name:  "from stdin",
			args:  []string{"--from", "-"},
			stdin: `{"name":"x","driver":"pgx"}`,
			want:  api.ConnectionInput{Driver: str("pgx"), Name: str("x")},
		},
		{
			name:    "unknown key in file",
			args:    []string{"--from", typo},
			wantErr: `unknown field "credential"`,
		},
		{
			name:    "broken file",
			args:    []string{"--from", broken},
			wantErr: "not a connection input",
		},
		{
			name:    "missing file",
			args:    []string{"--from", filepath.Join(dir, "nope.json")},
			wantErr: "nope.json",
		},
		{
			name:    "unknown --set key",
			args:    []string{"--driver", "pgx", "--set", "hots=x"},
			wantErr: `unknown field "hots"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{stdin: strings.NewReader(tt.stdin), stdout: io.Discard, stderr: io.Discard}
			fs := c.flagSet("connections create", "")
			f := newInputFlags(fs, true)
			if _, err := c.parse(fs, tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := c.build(f, func(in api.ConnectionInput) (driver.Spec, error) {
				if in.Driver == nil || *in.Driver != "pgx" {
					return driver.Spec{}, fmt.Errorf("spec asked for driver %v", in.Driver)
				}
				return testSpec, nil
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("input = %s\nwant    %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestParseFlagsAnywhere(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantJSON bool
		wantErr  string
	}{
		{args: []string{"3", "--json"}, wantPos: []string{"3"}, wantJSON: true},
		{args: []string{"--json", "3", "4"}, wantPos: []string{"3", "4"}, wantJSON: true},
		{args: []string{"3", "--", "--json"}, wantPos: []string{"3", "--json"}},
		{args: []string{"3", "--bogus"}, wantErr: "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		c := &cli{stdout: io.Discard}
		fs := c.flagSet("x", "")
		pos, err := c.parse(fs, tt.args)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%v: err = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(pos, tt.wantPos) || c.opts.json != tt.wantJSON {
			t.Errorf("%v: pos %v json %v err %v, want %v %v", tt.args, pos, c.opts.json, err, tt.wantPos, tt.wantJSON)
		}
	}
}

// fakeAPI is a stand-in server: each route answers a fixed status and body, and the
// requests it saw are kept for the test to look at.
type fakeAPI struct {
	t      *testing.T
	mu     sync.Mutex
	routes map[string]func(r *http.Request) (int, any)
	seen   []string
	bodies map[string][]byte
	auth   []string
}

func newFakeAPI(t *testing.T, routes map[string]func(r *http.Request) (int, any)) (*fakeAPI, string) {
	f := &fakeAPI{t: t, routes: routes, bodies: map[string][]byte{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, key)
	f.bodies[key] = body
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	h := f.routes[key]
	f.mu.Unlock()
	if h == nil {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"title":"Not Found","status":404,"detail":"no route %s"}`, key)
		return
	}
	status, out := h(r)
	if status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	w.WriteHeader(status)
	if s, ok := out.(string); ok {
		fmt.Fprint(w, s)
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func answer(status int, body any) func(*http.Request) (int, any) {
	return func(*http.Request) (int, any) { return status, body }
}

// runCLI runs the CLI in-process against server with a fixed token.
func runCLI(t *testing.T, server, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--server", server, "--token", "tok-123")
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

var (
	t0  = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	t1  = t0.Add(90 * time.Second)
	t2  = t1.Add(15 * time.Minute)
	id7 = int64(7)
)

func TestOutput(t *testing.T) {
	_, server := newFakeAPI(t, map[string]func(*http.Request) (int, any){
		"GET /api/v1/drivers": answer(200, map[string]any{"drivers": []driver.Spec{testSpec,
			{Name: "csv", Label: "CSV files", Capabilities: driver.Capabilities{Read: true}}}}),
		"GET /api/v1/connections": answer(200, map[string]any{"connections": []api.Connection{
			{ID: 7, Name: "shop", Driver: "pgx", Status: "active", Health: api.Health{State: "ok"}, LastSyncAt: &t1,
				Schedule: "15m", NextSyncAt: &t2},
			{ID: 12, Name: "a longer name", Driver: "csv", Status: "inactive"},
		}}),
		"GET /api/v1/connections/7": answer(200, api.Connection{ID: 7, Name: "shop", Driver: "pgx", Status: "active",
			Health:      api.Health{State: "failing", Message: "timeout", CheckedAt: &t1},
			Credentials: map[string]any{"host": "db", "password": "********"},
			Settings:    map[string]any{"mode": "full"}, Schedule: "0 6 * * 1-5", NextSyncAt: &t2,
			Scope:     api.Scope{Mode: "restricted", Users: []int64{3}, Groups: []int64{4, 5}},
			CreatedAt: t0, UpdatedAt: t1}),
		"GET /api/v1/jobs": answer(200, map[string]any{"next": "40", "jobs": []api.Job{
			{ID: 41, Kind: "sync", State: "failed", ConnectionID: &id7, CreatedAt: t0, StartedAt: &t0, FinishedAt: &t1,
				Progress: api.Progress{Read: 10, Written: 4, Unchanged: 6}, Error: "connection refused"},
			{ID: 42, Kind: "check", State: "pending", CreatedAt: t1},
		}}),
	})
	tests := []struct {
		args       []string
		want       string
		wantStderr string
	}{
		{
			args: []string{"drivers"},
			want: `
NAME  LABEL          CAPABILITIES
pgx   Test database  read,write
csv   CSV files      read
`,
		},
		{
			args: []string{"drivers", "show", "pgx"},
			want: `
pgx (Test database): -
capabilities: read,write

credentials:
  NAME      TYPE      REQUIRED  DEFAULT    SECRET  HELP
  host      text      no        127.0.0.1  no      -
  port      integer   no        5432       no      -
  password  password  no        -          yes     -

settings:
  NAME    TYPE                       REQUIRED  DEFAULT  SECRET  HELP
  tables  text                       no        -        no      Comma-separated.
  mode    select (full|incremental)  yes       -        no      -
`,
		},
		{
			args: []string{"connections", "list"},
			want: `
ID  NAME           DRIVER  STATUS    HEALTH  LAST SYNC            NEXT SYNC
7   shop           pgx     active    ok      2025-03-04 05:07:37  2025-03-04 05:22:37
12  a longer name  csv     inactive  -       -                    -
`,
		},
		{
			args: []string{"connections", "show", "7"},
			want: `
ID:             7
Name:           shop
Driver:         pgx
Description:    -
Status:         active
Health:         failing: timeout
Checked:        2025-03-04 05:07:37
Last sync:      -
Last sync job:  -
Schedule:       0 6 * * 1-5 (UTC)
Next sync:      2025-03-04 05:22:37
Scope:          users:3;groups:4,5
Created:        2025-03-04 05:06:07
Updated:        2025-03-04 05:07:37
Credentials:
  host      db
  password  ********
Settings:
  mode  full
`,
		},
		{
			args: []string{"jobs", "list", "--connection", "7"},
			want: `
ID  KIND   CONNECTION  STATE    READ  WRITTEN  UNCHANGED  GONE  CREATED              DURATION  ERROR
41  sync   7           failed   10    4        6          0     2025-03-04 05:06:07  1m30s     connection refused
42  check  -           pending  0     0        0          0     2025-03-04 05:07:37  -         -
`,
			wantStderr: "more: junction jobs list --before 40\n",
		},
		{
			args: []string{"connections", "--json", "show", "7"},
			want: `
{
  "id": 7,
  "name": "shop",
  "driver": "pgx",
  "description": "",
  "status": "active",
  "health": {
    "state": "failing",
    "message": "timeout",
    "checked_at": "2025-03-04T05:07:37Z"
  },
  "credentials": {
    "host": "db",
    "password": "********"
  },
  "settings": {
    "mode": "full"
  },
  "schedule": "0 6 * * 1-5",
  "next_sync_at": "2025-03-04T05:22:37Z",
  "scope": {
    "mode": "restricted",
    "users": [
      3
    ],
    "groups": [
      4,
      5
    ]
  },
  "created_at": "2025-03-04T05:06:07Z",
  "updated_at": "2025-03-04T05:07:37Z"
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, server, "", tt.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %s", code, errOut)
			}
			if want := strings.TrimPrefix(tt.want, "\n"); out != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
			}
			if errOut != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", errOut, tt.wantStderr)
			}
		})
	}
}

func TestCreateSendsFieldsBySpec(t *testing.T) {
	job := int64(3)
	api7 := api.ConnectionWithJob{Connection: api.Connection{ID: 7, Name: "shop", Driver: "pgx"}, JobID: &job}
	fake, server := newFakeAPI(t, map[string]func(*http.Request) (int, any){
		"GET /api/v1/drivers":      answer(200, map[string]any{"drivers": []driver.Spec{testSpec}}),
		"POST /api/v1/connections": answer(201, api7),
	})
	code, out, errOut := runCLI(t, server, "pa55word\n", "connections", "create", "--driver", "pgx", "--name", "shop",
		"--set", "host=db", "--set", "password=-", "--set", "mode=full")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "connection 7 \"shop\" created; job 3 started\n" {
		t.Errorf("stdout = %q", out)
	}
	if strings.Contains(out+errOut, "pa55word") {
		t.Errorf("the secret was echoed: %q %q", out, errOut)
	}
	var sent map[string]any
	if err := json.Unmarshal(fake.bodies["POST /api/v1/connections"], &sent); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "shop", "driver": "pgx",
		"credentials": map[string]any{"host": "db", "password": "pa55word"},
		"settings":    map[string]any{"mode": "full"}}
	if !reflect.DeepEqual(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	for _, a := range fake.auth {
		if a != "Bearer tok-123" {
			t.Errorf("Authorization = %q", a)
		}
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	_, server := newFakeAPI(t, map[string]func(*http.Request) (int, any){
		"GET /api/v1/drivers": answer(200, map[string]any{"drivers": []driver.Spec{testSpec}}),
		"POST /api/v1/connections": answer(422, `{"title":"Unprocessable Entity","status":422,"detail":"check failed",
			"errors":[{"location":"credentials.password","message":"password authentication failed","value":"pa55"}]}`),
		"DELETE /api/v1/connections/7": answer(409, `{"title":"Conflict","status":409,"detail":"the connection is active"}`),
		"POST /api/v1/connections/bulk": answer(200, map[string]any{"results": []api.BulkResult{
			{ID: 7, OK: true, Status: 202, JobID: &id7}, {ID: 8, OK: false, Status: 404, Error: "not found"}}}),
	})
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no command", nil, 2, "", "Usage:"},
		{"help", []string{"help"}, 0, "junction connections create", ""},
		{"-h", []string{"-h"}, 0, "Exit codes", ""},
		{"subcommand -h", []string{"connections", "create", "-h"}, 0, "usage: junction connections create", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", "junction: unknown command \"frobnicate\"\n"},
		{"unknown subcommand", []string{"jobs", "frob"}, 2, "", "unknown jobs command \"frob\""},
		{"bad flag", []string{"connections", "list", "--frob"}, 2, "",
			"junction: flag provided but not defined: -frob\nrun 'junction connections list -h' for usage\n"},
		{"bad id", []string{"connections", "show", "x"}, 2, "", "connection id must be a positive number"},
		{"missing id", []string{"jobs", "show"}, 2, "", "expected one job id"},
		{"create without driver", []string{"connections", "create", "--name", "x"}, 2, "", "--driver is required"},
		{"unknown --set key", []string{"connections", "create", "--driver", "pgx", "--name", "x", "--set", "pasword=pa55"},
			2, "", `unknown field "pasword" for driver pgx`},
		{"API field error", []string{"connections", "create", "--driver", "pgx", "--name", "x", "--set", "password=pa55"},
			1, "", "junction: create connection: 422 Unprocessable Entity: credentials.password: password authentication failed\n"},
		{"conflict", []string{"connections", "delete", "7"}, 1, "",
			"junction: delete connection 7: 409 Conflict: the connection is active\n"},
		{"bulk with a failure", []string{"connections", "bulk", "--action", "sync", "7", "8"}, 1,
			"ID  RESULT  STATUS  JOB  ERROR\n7   ok      202     7    -\n8   failed  404     -    not found\n",
			"junction: bulk sync: 1 of 2 failed\n"},
		{"bulk bad action", []string{"connections", "bulk", "--action", "explode", "7"}, 2, "", "--action must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := tt.args
			if len(args) > 1 {
				args = append(args, "--server", server, "--token", "tok-123")
			}
			code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tt.wantStdout)
			}
			if !strings.Contains(errOut.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.wantStderr)
			}
			for _, secret := range []string{"pa55", "tok-123"} {
				if strings.Contains(out.String()+errOut.String(), secret) {
					t.Errorf("output shows %q: %q %q", secret, out.String(), errOut.String())
				}
			}
		})
	}
}

// jobSequence answers GET /api/v1/jobs/ID with each job in turn, then the last one forever.
func jobSequence(jobs ...api.Job) func(*http.Request) (int, any) {
	var mu sync.Mutex
	i := 0
	return func(*http.Request) (int, any) {
		mu.Lock()
		defer mu.Unlock()
		j := jobs[min(i, len(jobs)-1)]
		i++
		return 200, j
	}
}

func TestWaitProgress(t *testing.T) {
	running := func(read int64) api.Job {
		return api.Job{ID: 5, Kind: "sync", State: "running", Progress: api.Progress{Read: read, Written: read}}
	}
	done := func(state, msg string) api.Job {
		return api.Job{ID: 5, Kind: "sync", State: state, Error: msg, StartedAt: &t0, FinishedAt: &t1,
			Progress: api.Progress{Read: 20, Written: 20}}
	}
	tests := []struct {
		name     string
		tty      bool
		jobs     []api.Job
		wantCode int
		want     string // stdout after the "started" line
		wantErr  string
	}{
		{
			name: "pipe: a line per change",
			jobs: []api.Job{running(0), running(0), running(10), running(10), done("succeeded", "")},
			want: "job 5 sync running: read 0, written 0, unchanged 0, gone 0 (E)\n" +
				"job 5 sync running: read 10, written 10, unchanged 0, gone 0 (E)\n" +
				"job 5 sync succeeded: read 20, written 20, unchanged 0, gone 0 (E)\n",
		},
		{
			name:     "pipe: failed job exits 1",
			jobs:     []api.Job{running(0), done("failed", "table vanished")},
			wantCode: 1,
			want: "job 5 sync running: read 0, written 0, unchanged 0, gone 0 (E)\n" +
				"job 5 sync failed: read 20, written 20, unchanged 0, gone 0 (E)\n",
			wantErr: "junction: job 5 failed: table vanished\n",
		},
		{
			name:     "cancelled job exits 1",
			jobs:     []api.Job{done("cancelled", "")},
			wantCode: 1,
			want:     "job 5 sync cancelled: read 20, written 20, unchanged 0, gone 0 (E)\n",
			wantErr:  "junction: job 5 was cancelled\n",
		},
		{
			name: "terminal: one line rewritten",
			tty:  true,
			jobs: []api.Job{running(100), running(0), running(10), done("succeeded", "")},
			want: "\rjob 5 sync running: read 100, written 100, unchanged 0, gone 0 (E)" +
				"\rjob 5 sync running: read 0, written 0, unchanged 0, gone 0 (E)" +
				"\rjob 5 sync running: read 10, written 10, unchanged 0, gone 0 (E)" +
				"\rjob 5 sync succeeded: read 20, written 20, unchanged 0, gone 0 (E)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, server := newFakeAPI(t, map[string]func(*http.Request) (int, any){
				"POST /api/v1/connections/7/sync": answer(202, api.JobRef{JobID: 5}),
				"GET /api/v1/jobs/5":              jobSequence(tt.jobs...),
			})
			var out, errOut bytes.Buffer
			c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, tty: tt.tty}
			code := c.exitCode(c.dispatch(context.Background(),
				[]string{"connections", "sync", "7", "--wait", "--server", server, "--token", "t"}))
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errOut.String())
			}
			got, ok := strings.CutPrefix(out.String(), "connection 7: sync job 5 started\n")
			if !ok || normalise(got) != tt.want {
				t.Errorf("stdout:\n%q\nwant:\n%q", out.String(), tt.want)
			}
			if tt.tty && !padded(got) {
				t.Errorf("a rewritten line is shorter than the one before: %q", got)
			}
			if errOut.String() != tt.wantErr {
				t.Errorf("stderr = %q, want %q", errOut.String(), tt.wantErr)
			}
		})
	}
}

var (
	elapsedRE = regexp.MustCompile(`\(\d[^)]*\)`)
	padRE     = regexp.MustCompile(` +([\r\n])`)
)

// normalise hides elapsed times, which vary, and the padding that clears a rewritten line.
func normalise(s string) string {
	return padRE.ReplaceAllString(elapsedRE.ReplaceAllString(s, "(E)"), "$1")
}

// padded reports whether each \r-rewritten line is at least as long as the one before it,
// so that no characters of an older line are left visible.
func padded(s string) bool {
	prev := 0
	for _, seg := range strings.Split(strings.TrimSuffix(s, "\n"), "\r") {
		if len(seg) < prev {
			return false
		}
		prev = len(seg)
	}
	return true
}

func TestWaitJSON(t *testing.T) {
	job := int64(5)
	_, server := newFakeAPI(t, map[string]func(*http.Request) (int, any){
		"POST /api/v1/connections/7/enable": answer(202, api.ConnectionWithJob{
			Connection: api.Connection{ID: 7, Name: "shop"}, JobID: &job}),
		"GET /api/v1/jobs/5": jobSequence(api.Job{ID: 5, State: "running"}, api.Job{ID: 5, State: "succeeded"}),
	})
	code, out, errOut := runCLI(t, server, "", "connections", "enable", "7", "--wait", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Two JSON documents: the API's answer, then the finished job.
	dec := json.NewDecoder(strings.NewReader(out))
	var first api.ConnectionWithJob
	var last api.Job
	if err := dec.Decode(&first); err != nil || first.Connection.ID != 7 {
		t.Fatalf("first document %+v, %v in %q", first, err, out)
	}
	if err := dec.Decode(&last); err != nil || last.State != "succeeded" {
		t.Fatalf("second document %+v, %v in %q", last, err, out)
	}
}

func TestTokenFromDataFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake, server := newFakeAPI(t, map[string]func(*http.Request) (int, any){
		"GET /api/v1/drivers": answer(200, map[string]any{"drivers": []driver.Spec{}}),
	})
	t.Setenv("JUNCTION_TOKEN", "")
	t.Setenv("JUNCTION_DATA", dir)
	t.Setenv("JUNCTION_SERVER", server)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"drivers"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if got := fake.auth[len(fake.auth)-1]; got != "Bearer from-file" {
		t.Errorf("Authorization = %q, want the token file's", got)
	}

	t.Setenv("JUNCTION_TOKEN", "from-env")
	if code := run(context.Background(), []string{"drivers"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if got := fake.auth[len(fake.auth)-1]; got != "Bearer from-env" {
		t.Errorf("Authorization = %q, want JUNCTION_TOKEN's", got)
	}

	t.Setenv("JUNCTION_TOKEN", "")
	t.Setenv("JUNCTION_DATA", filepath.Join(dir, "missing"))
	errOut.Reset()
	if code := run(context.Background(), []string{"drivers"}, nil, &out, &errOut); code != 2 {
		t.Errorf("exit %d without a token, want 2", code)
	}
	if !strings.Contains(errOut.String(), "no API token") {
		t.Errorf("stderr = %q", errOut.String())
	}
}

func TestConnectorStub(t *testing.T) {
	err := runConnector(context.Background(), nil)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 2 {
		t.Errorf("runConnector = %v, want exit 2", err)
	}
	if errors.Is(err, flag.ErrHelp) {
		t.Error("runConnector must not look like -h")
	}
}
