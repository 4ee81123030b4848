// Package server assembles Junction: store, secrets, job runner, services and HTTP routes.
// `junction serve` runs it; tests start it in-process on a random port.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/connections"
	"github.com/junction-hub/junction/internal/flow"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/secret"
	"github.com/junction-hub/junction/internal/store"
	"github.com/junction-hub/junction/internal/syncer"
	"github.com/junction-hub/junction/internal/web"
)

// Version is reported by the API document and /healthz.
const Version = "0.1.0"

// TokenFile is where the generated first admin token is written, inside the data folder.
const TokenFile = "admin.token"

// Config is what `junction serve` reads from flags and the environment.
type Config struct {
	DataDir    string // default ./junction-data
	Database   string // "postgres://…", or empty for SQLite in DataDir
	SecretKey  string // JUNCTION_SECRET_KEY; empty: a key file in DataDir
	AdminToken string // JUNCTION_ADMIN_TOKEN; used on an empty store only
	Logger     *slog.Logger
	Out        io.Writer // where the generated admin token is printed once
	Jobs       jobs.Options
	PageSize   int // records per checkpoint; 0 = the syncer's default
	// ScheduleTick is how often this node looks for scheduled syncs that are due;
	// 0 = connections.DefaultScheduleTick. Tests make it short.
	ScheduleTick time.Duration
}

// Server is a running Junction.
type Server struct {
	Store   *store.Store
	Runner  *jobs.Runner
	Handler http.Handler
	cfg     Config
	lock    *os.File
	http    *http.Server

	stopSchedules context.CancelFunc // ends the scheduler loop
	schedulesDone chan struct{}      // closed when it has ended
}

// New opens everything and starts the job runner; call Serve to answer HTTP.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = "junction-data"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	s := &Server{cfg: cfg}
	dsn := cfg.Database
	if dsn == "" {
		dsn = filepath.Join(cfg.DataDir, "junction.db")
		// One process owns a SQLite store; a second one would fight it for the writer.
		lock, err := lockFile(filepath.Join(cfg.DataDir, "junction.lock"))
		if err != nil {
			return nil, err
		}
		s.lock = lock
		cfg.Jobs.SingleNode = true
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		s.unlock()
		return nil, err
	}
	s.Store = st
	keyring, err := secret.LoadKeyring(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		s.Close(ctx)
		return nil, err
	}
	if err := s.bootstrap(ctx); err != nil {
		s.Close(ctx)
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := jobs.NewMetrics(reg)
	sy := &syncer.Syncer{Store: st, Metrics: metrics, PageSize: cfg.PageSize}
	svc := connections.New(st, keyring, sy)
	flows := flow.New(st, svc, cfg.Logger)
	svc.OnSynced(flows.Synced)
	handlers := svc.Handlers()
	maps.Copy(handlers, flows.Handlers())
	runner, err := jobs.New(ctx, st, handlers, cfg.Jobs, metrics, cfg.Logger)
	if err != nil {
		s.Close(ctx)
		return nil, err
	}
	svc.SetRunner(runner)
	flows.SetRunner(runner)
	s.Runner = runner
	if err := runner.Start(ctx); err != nil {
		s.Runner = nil
		s.Close(ctx)
		return nil, err
	}
	// Every node runs the scheduler; the store's claim makes each run start once.
	schedCtx, stopSchedules := context.WithCancel(context.WithoutCancel(ctx))
	s.stopSchedules, s.schedulesDone = stopSchedules, make(chan struct{})
	go func() {
		defer close(s.schedulesDone)
		flowsDone := make(chan struct{})
		go func() { defer close(flowsDone); flows.RunSchedules(schedCtx, cfg.ScheduleTick) }()
		svc.RunSchedules(schedCtx, cfg.ScheduleTick, cfg.Logger)
		<-flowsDone
	}()

	mux := http.NewServeMux()
	api.New(mux, api.Deps{Store: st, Connections: svc, Flows: flows, Runner: runner, Logger: cfg.Logger, Version: Version})
	web.New(mux, web.Deps{Store: st, Connections: svc, Flows: flows, Runner: runner, Logger: cfg.Logger})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := st.CountTokens(ctx); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","version":%q,"node":%q}`+"\n", Version, runner.Node())
	})
	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		metrics.Refresh(r.Context(), st)
		metricsHandler.ServeHTTP(w, r)
	})
	s.Handler = logRequests(cfg.Logger, mux)
	return s, nil
}

// AdminUser is the name of the first user, the first workspace's owner.
const AdminUser = "admin"

// bootstrap gives an empty store its first user (admin, a server admin), workspace
// (default, admin its owner) and admin's first token: JUNCTION_ADMIN_TOKEN when set,
// otherwise a generated one written to the data folder (0600) and printed once. A store
// from before users existed gets its tokens attached to admin instead, so they keep working.
func (s *Server) bootstrap(ctx context.Context) error {
	n, err := s.Store.CountTokens(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return s.attachOldTokens(ctx)
	}
	ws, err := s.Store.EnsureWorkspace(ctx, "default")
	if err != nil {
		return err
	}
	admin, err := s.adminUser(ctx)
	if err != nil {
		return err
	}
	if _, err := s.Store.UserInWorkspace(ctx, ws.ID, admin.ID); errors.Is(err, store.ErrNotFound) {
		if err := s.Store.AddMember(ctx, ws.ID, admin.ID, auth.RoleOwner); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	plain := strings.TrimSpace(s.cfg.AdminToken)
	generated := plain == ""
	if generated {
		if plain, _, err = auth.NewToken(); err != nil {
			return err
		}
		path := filepath.Join(s.cfg.DataDir, TokenFile)
		if err := os.WriteFile(path, []byte(plain+"\n"), 0o600); err != nil {
			return fmt.Errorf("write admin token: %w", err)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("write admin token: %w", err)
		}
	} else if len(plain) < 16 {
		return fmt.Errorf("JUNCTION_ADMIN_TOKEN: too short (need at least 16 characters)")
	}
	t := store.Token{WorkspaceID: ws.ID, UserID: &admin.ID, Kind: store.TokenPersonal, Name: "first admin", Role: auth.RoleOwner}
	if err := s.Store.IssueToken(ctx, &t, auth.Hash(plain)); err != nil {
		return err
	}
	if generated {
		fmt.Fprintf(s.cfg.Out, "First admin token (also in %s; shown only this once):\n  %s\n",
			filepath.Join(s.cfg.DataDir, TokenFile), plain)
	}
	return nil
}

// adminUser finds or makes the user admin.
func (s *Server) adminUser(ctx context.Context) (store.User, error) {
	u, err := s.Store.UserByName(ctx, AdminUser)
	if errors.Is(err, store.ErrNotFound) {
		u = store.User{Name: AdminUser, DisplayName: "Administrator", ServerAdmin: true, Kind: store.UserPerson}
		err = s.Store.CreateUser(ctx, &u)
	}
	return u, err
}

// attachOldTokens gives tokens made before users existed to admin, who becomes a member of
// their workspaces with their role (owner for the bootstrap token).
func (s *Server) attachOldTokens(ctx context.Context) error {
	old, err := s.Store.CountOrphanTokens(ctx)
	if err != nil || old == 0 {
		return err
	}
	admin, err := s.adminUser(ctx)
	if err != nil {
		return err
	}
	n, err := s.Store.AttachOrphanTokens(ctx, admin.ID)
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("attached tokens made before users existed to the admin user", "tokens", n, "user", AdminUser)
	return nil
}

// Serve answers HTTP on l until Close.
func (s *Server) Serve(l net.Listener) error {
	s.http = &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second}
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops HTTP, lets running jobs stop (they resume later from their checkpoints), and
// closes the store.
func (s *Server) Close(ctx context.Context) error {
	if s.http != nil {
		_ = s.http.Shutdown(ctx)
	}
	if s.stopSchedules != nil {
		s.stopSchedules()
		<-s.schedulesDone
	}
	if s.Runner != nil {
		if err := s.Runner.Stop(ctx); err != nil {
			s.cfg.Logger.Warn("stop jobs", "err", err)
		}
	}
	var err error
	if s.Store != nil {
		err = s.Store.Close()
	}
	s.unlock()
	return err
}

func (s *Server) unlock() {
	if s.lock != nil {
		_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
		_ = s.lock.Close()
		s.lock = nil
	}
}

// lockFile takes an exclusive lock that the OS releases when the process dies, so a killed
// server never leaves a stale lock behind.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data folder %s is in use by another junction serve", filepath.Dir(path))
	}
	return f, nil
}

// logRequests writes one line per request; never headers, so never a token.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.Info("http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// TuneGC lets the heap grow to five times what is live before collecting, unless GOGC is
// set. A sync allocates fast but keeps little (a few pages), so the default collects far
// too often: measured, this is ~1.5x the sync rate for a peak RSS still well under 150 MB.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
