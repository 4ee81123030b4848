// Package web is Junction's console: server-rendered html/template pages with plain forms
// (POST, then redirect) and one small script of our own for live updates. It calls the same
// services as the API, never the API over HTTP.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/connections"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/flow"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Deps are the services the console calls.
type Deps struct {
	Store       *store.Store
	Connections *connections.Service
	Flows       *flow.Service
	Runner      *jobs.Runner
	Logger      *slog.Logger
}

// Console serves the pages.
type Console struct {
	Deps
	pages  map[string]*template.Template
	logins *auth.LoginLimiter
}

// New mounts the console at / on mux.
func New(mux *http.ServeMux, deps Deps) *Console {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	c := &Console{Deps: deps, pages: map[string]*template.Template{}, logins: auth.NewLoginLimiter()}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		if name == "templates/layout.html" {
			continue
		}
		page := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		c.pages[page] = template.Must(template.New(page).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", name))
	}
	static, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, files)))

	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/connections", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.Handle("POST /logout", c.page(c.logout))
	mux.Handle("POST /workspace", c.page(c.switchWorkspace))

	mux.Handle("GET /connections", c.page(c.connectionList))
	mux.Handle("POST /connections/bulk", c.page(c.connectionBulk))
	mux.Handle("GET /connections/new", c.page(c.connectionNew))
	mux.Handle("POST /connections/new", c.page(c.connectionCreate))
	mux.Handle("GET /connections/{id}", c.page(c.connectionEdit))
	mux.Handle("POST /connections/{id}", c.page(c.connectionSave))

	mux.Handle("GET /flows", c.page(c.flowList))
	mux.Handle("GET /flows/new", c.page(c.flowNew))
	mux.Handle("POST /flows/new", c.page(c.flowCreate))
	mux.Handle("GET /flows/{id}", c.page(c.flowShow))
	mux.Handle("GET /flows/{id}/edit", c.page(c.flowEdit))
	mux.Handle("POST /flows/{id}/edit", c.page(c.flowSave))
	mux.Handle("POST /flows/{id}/delete", c.page(c.flowDelete))
	mux.Handle("POST /flows/{id}/run", c.page(c.flowRun))
	mux.Handle("POST /flows/{id}/retry", c.page(c.flowRetry))

	mux.Handle("GET /processes", c.page(c.processList))
	mux.Handle("GET /processes.json", c.page(c.processListJSON))
	mux.Handle("GET /processes/{id}", c.page(c.processShow))
	mux.Handle("GET /processes/{id}/json", c.page(c.processJSON))
	mux.Handle("POST /processes/{id}/cancel", c.page(c.processCancel))

	mux.Handle("GET /hub", c.page(c.hubList))
	mux.Handle("GET /hub/{id}", c.page(c.hubShow))
	mux.Handle("GET /hub/{id}/record", c.page(c.hubRecord))

	mux.Handle("GET /settings/connectors", c.page(c.connectorList))
	mux.Handle("POST /settings/connectors", c.page(c.connectorRegister))
	mux.Handle("POST /settings/connectors/{name}/refresh", c.page(c.connectorRefresh))
	mux.Handle("POST /settings/connectors/{name}/remove", c.page(c.connectorRemove))
	return c
}

func cacheFor(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		next.ServeHTTP(w, r)
	})
}

// view is what every page's template gets.
type view struct {
	Title      string
	Nav        string // the main navigation entry to highlight
	User       string
	Role       string
	Admin      bool
	Workspace  int64
	Workspaces []store.WorkspaceRole
	CSRF       string
	Running    int
	Flash      []flash
	Data       any
}

// flash is a message shown once on the next page, after a redirect.
type flash struct {
	Kind string `json:"k"` // ok, error, info
	Text string `json:"t"`
}

const flashCookie = "junction_flash"

// render writes a page of the console with the layout around it.
func (c *Console) render(w http.ResponseWriter, r *http.Request, req *request, status int, page string, v view) {
	t, ok := c.pages[page]
	if !ok {
		panic("web: no page " + page)
	}
	if req != nil {
		v.User, v.Role, v.Admin, v.Workspace, v.CSRF = req.id.UserName, req.id.Role, req.id.Can(auth.RoleAdmin), req.id.WorkspaceID, req.session.CSRFToken
		v.Workspaces, _ = c.Store.WorkspacesOf(req.ctx, req.id.UserID)
		v.Running = c.runningCount(req)
		v.Flash = append(readFlash(w, r), v.Flash...)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.Logger.Error("console render", "page", page, "err", err)
		http.Error(w, "internal error; the server log has details", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// redirect sends the browser on after a POST, with messages for the next page.
func redirect(w http.ResponseWriter, r *http.Request, to string, msgs ...flash) {
	if len(msgs) > 0 {
		raw, _ := json.Marshal(msgs)
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(raw), Path: "/",
			HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: 60})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func readFlash(w http.ResponseWriter, r *http.Request) []flash {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil
	}
	var out []flash
	_ = json.Unmarshal(raw, &out)
	return out
}

// notFound is the console's 404, also for what exists but is out of the user's scope.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request, req *request) {
	c.render(w, r, req, http.StatusNotFound, "error", view{Title: "Not found",
		Data: "There is nothing here, or it is not yours to see."})
}

// fail shows an error page for what the user cannot fix by changing a form.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, req *request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		c.notFound(w, r, req)
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	c.Logger.Error("console", "path", r.URL.Path, "err", err)
	c.render(w, r, req, http.StatusInternalServerError, "error", view{Title: "Something went wrong",
		Data: "Something went wrong on the server; its log has the details."})
}

// message turns a service error into words for a person; nothing a secret could be in
// (the services scrub secrets from check messages).
func (c *Console) message(err error) string {
	var fe driver.FieldErrors
	var ce *connections.CheckError
	switch {
	case errors.As(err, &fe):
		return fe.Error()
	case errors.As(err, &ce):
		return ce.Message
	case errors.Is(err, store.ErrNotFound):
		return "not found"
	case errors.Is(err, connections.ErrInactive), errors.Is(err, connections.ErrActive),
		errors.Is(err, connections.ErrDeleting), errors.Is(err, store.ErrConflict):
		return err.Error()
	}
	c.Logger.Error("console", "err", err)
	return "internal error; the server log has details"
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

var funcs = template.FuncMap{
	"ago":   ago,
	"when":  when,
	"title": func(s string) string { return strings.ToUpper(s[:min(1, len(s))]) + s[min(1, len(s)):] },
	"join":  strings.Join,
	"deref": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"has": func(list []int64, id int64) bool {
		for _, x := range list {
			if x == id {
				return true
			}
		}
		return false
	},
}

// when is a timestamp as people read it (UTC); "—" when there is none.
func when(t any) string {
	switch x := t.(type) {
	case time.Time:
		if x.IsZero() {
			return "—"
		}
		return x.UTC().Format("2006-01-02 15:04:05 UTC")
	case *time.Time:
		if x == nil {
			return "—"
		}
		return when(*x)
	}
	return "—"
}

// ago is how long ago (or in how long) t is, in the largest sensible unit.
func ago(t any) string {
	var tm time.Time
	switch x := t.(type) {
	case time.Time:
		tm = x
	case *time.Time:
		if x == nil {
			return "never"
		}
		tm = *x
	}
	if tm.IsZero() {
		return "never"
	}
	d := time.Since(tm)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d.Hours()))
	default:
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// elapsed is how long a job has run (or ran), "—" before it started.
func elapsed(j store.Job) time.Duration {
	if j.StartedAt == nil {
		return 0
	}
	end := time.Now()
	if j.FinishedAt != nil {
		end = *j.FinishedAt
	}
	return end.Sub(*j.StartedAt).Round(100 * time.Millisecond)
}
