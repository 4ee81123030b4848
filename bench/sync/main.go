// Command sync measures the sync engine against the physical reference: it seeds a
// PostgreSQL table, then times, into the SQLite store and into the PostgreSQL store, the
// initial full sync, an unchanged full re-sync and an incremental sync after 1% of the rows
// changed, beside a `COPY … TO STDOUT` piped into `COPY … FROM STDIN` of the same table.
// Each (size, store) runs in a child process, so its peak RSS is its own.
//
//	go run ./bench/sync                       # 1,000,000 rows, then 100,000 and 5,000,000 for memory
//	go run ./bench/sync -rows 1000000 -scale ""   # one size only
//	go run ./bench/sync -remote -stores sqlite    # through the connector protocol
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/junction-hub/junction/internal/connector"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/postgres"
	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/server"
	"github.com/junction-hub/junction/internal/store"
	"github.com/junction-hub/junction/internal/syncer"
)

type phase struct {
	Name    string  `json:"name"`
	Records int64   `json:"records"`
	Seconds float64 `json:"seconds"`
}

type childResult struct {
	Phases []phase `json:"phases"`
	PeakMB float64 `json:"peak_mb"`
}

func main() {
	rows := flag.Int("rows", 1_000_000, "rows in the main run")
	scale := flag.String("scale", "100000,5000000", "further sizes, comma-separated, to show memory does not grow with N")
	stores := flag.String("stores", "sqlite,postgres", "stores to sync into")
	pgURL := flag.String("postgres", envOr("JUNCTION_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server for the source (and the PostgreSQL store)")
	pageSize := flag.Int("page-size", syncer.DefaultPageSize, "records per checkpoint")
	child := flag.String("child", "", "internal: run one store's measurements")
	source := flag.String("source", "", "internal: the source database")
	cpuProfile := flag.String("cpuprofile", "", "write each child's CPU profile to this path prefix")
	remote := flag.Bool("remote", false, "read through the connector protocol: the source driver is served over HTTP in the same process, so peak RSS counts both sides")
	flag.Parse()
	ctx := context.Background()

	if *child != "" {
		server.TuneGC() // as junction serve does
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile + "." + *child)
			if err != nil {
				fatal(err)
			}
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		res, err := runChild(ctx, *child, *pgURL, *source, *pageSize, *remote)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		_ = json.NewEncoder(os.Stdout).Encode(res)
		if *cpuProfile != "" {
			pprof.StopCPUProfile()
		}
		return
	}

	sizes := []int{*rows}
	for _, s := range strings.Split(*scale, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 {
			sizes = append(sizes, n)
		}
	}
	host, _ := os.Hostname()
	fmt.Printf("junction sync benchmark on %s: %d cores, page size %d\n\n", host, numCPU(), *pageSize)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rows\tstore\tphase\trecords\tseconds\trecords/s\tvs COPY\tpeak RSS MB\t")
	for _, n := range sizes {
		src, err := seed(ctx, *pgURL, n)
		if err != nil {
			fatal(err)
		}
		copyRate, err := copyPipe(ctx, *pgURL, src, n)
		if err != nil {
			fatal(err)
		}
		fmt.Fprintf(tw, "%d\t-\tCOPY pipe\t%d\t-\t%.0f\t100%%\t-\t\n", n, n, copyRate)
		tw.Flush()
		for _, st := range strings.Split(*stores, ",") {
			res, err := spawn(st, *pgURL, src, *pageSize, *cpuProfile, *remote)
			if err != nil {
				fatal(err)
			}
			for _, p := range res.Phases {
				rate := float64(p.Records) / p.Seconds
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%.2f\t%.0f\t%.0f%%\t%.0f\t\n", n, st, p.Name, p.Records, p.Seconds, rate, 100*rate/copyRate, res.PeakMB)
			}
			tw.Flush()
		}
		dropDatabase(ctx, *pgURL, src)
	}
}

// spawn runs this program again as a child that measures one store.
func spawn(storeKind, pgURL, src string, pageSize int, cpuProfile string, remote bool) (childResult, error) {
	self, err := os.Executable()
	if err != nil {
		return childResult{}, err
	}
	cmd := exec.Command(self, "-child", storeKind, "-postgres", pgURL, "-source", src, "-page-size", strconv.Itoa(pageSize),
		"-cpuprofile", cpuProfile, "-remote="+strconv.FormatBool(remote))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return childResult{}, fmt.Errorf("%s child: %w", storeKind, err)
	}
	var res childResult
	return res, json.Unmarshal(out, &res)
}

// runChild measures the three syncs into one store.
func runChild(ctx context.Context, storeKind, pgURL, src string, pageSize int, remote bool) (childResult, error) {
	var dsn, storeDB string
	switch storeKind {
	case "sqlite":
		dir, err := os.MkdirTemp("", "junction-bench-")
		if err != nil {
			return childResult{}, err
		}
		defer os.RemoveAll(dir)
		dsn = filepath.Join(dir, "junction.db")
	case "postgres":
		storeDB = fmt.Sprintf("junction_bench_store_%d", os.Getpid())
		if err := createDatabase(ctx, pgURL, storeDB); err != nil {
			return childResult{}, err
		}
		defer dropDatabase(ctx, pgURL, storeDB)
		dsn = withDatabase(pgURL, storeDB)
	default:
		return childResult{}, fmt.Errorf("unknown store %q", storeKind)
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return childResult{}, err
	}
	defer st.Close()
	ws, err := st.EnsureWorkspace(ctx, "bench")
	if err != nil {
		return childResult{}, err
	}
	u := parseURL(pgURL)
	cfg := driver.Config{
		Credentials: driver.Values{"host": u.host, "port": u.port, "database": src, "user": u.user, "password": u.password},
		Settings:    driver.Values{"tls_mode": "disable", "schema": "public", "tables": "bench_items"},
	}
	conn := store.Connection{WorkspaceID: ws.ID, Name: "source", Driver: "postgres", Status: store.StatusActive,
		CredentialsSealed: "unused", Settings: map[string]any(cfg.Settings)}
	first := store.Job{WorkspaceID: ws.ID, Kind: store.KindSync, MaxAttempts: 1}
	if err := st.CreateConnection(ctx, &conn, &first); err != nil {
		return childResult{}, err
	}
	sy := &syncer.Syncer{Store: st, PageSize: pageSize}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var d driver.Driver = postgres.New()
	if remote {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return childResult{}, err
		}
		go http.Serve(l, connector.Handler(d, connector.HandlerOptions{}))
		client, err := connector.Dial(ctx, "http://"+l.Addr().String(), connector.Options{})
		if err != nil {
			return childResult{}, err
		}
		d = client.Driver()
	}
	timed := func(name, mode string, job store.Job) (phase, error) {
		began := time.Now()
		err := sy.Sync(ctx, syncer.Run{Job: job, Connection: conn, Driver: d, Config: cfg, Mode: mode, Log: jobs.NewLog(st, job.ID, logger)})
		took := time.Since(began).Seconds()
		if err != nil {
			return phase{}, fmt.Errorf("%s: %w", name, err)
		}
		got, err := st.JobByID(ctx, job.ID)
		return phase{Name: name, Records: got.Counters.Read, Seconds: took}, err
	}
	newJob := func() (store.Job, error) {
		j := store.Job{WorkspaceID: ws.ID, ConnectionID: &conn.ID, Kind: store.KindSync, MaxAttempts: 1}
		return j, st.CreateJob(ctx, &j)
	}
	var res childResult
	p, err := timed("initial full sync", syncer.ModeFull, first)
	if err != nil {
		return res, err
	}
	res.Phases = append(res.Phases, p)
	j, err := newJob()
	if err != nil {
		return res, err
	}
	if p, err = timed("unchanged re-sync", syncer.ModeFull, j); err != nil {
		return res, err
	}
	res.Phases = append(res.Phases, p)
	if err := changeOnePercent(ctx, pgURL, src); err != nil {
		return res, err
	}
	if j, err = newJob(); err != nil {
		return res, err
	}
	if p, err = timed("incremental, 1% changed", syncer.ModeIncremental, j); err != nil {
		return res, err
	}
	res.Phases = append(res.Phases, p)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	res.PeakMB = float64(ru.Maxrss) / 1024 // Linux reports KiB
	return res, nil
}

// seed creates a source database with n rows of about 200 bytes in ten columns.
func seed(ctx context.Context, pgURL string, n int) (string, error) {
	name := fmt.Sprintf("junction_bench_src_%d_%d", n, os.Getpid())
	if err := createDatabase(ctx, pgURL, name); err != nil {
		return "", err
	}
	c, err := pgx.Connect(ctx, withDatabase(pgURL, name))
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE bench_items (id BIGINT PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
			price NUMERIC(12,2) NOT NULL, quantity INT NOT NULL, weight DOUBLE PRECISION, active BOOLEAN NOT NULL,
			category TEXT, updated_at TIMESTAMPTZ NOT NULL);
		INSERT INTO bench_items SELECT g, 'SKU-' || lpad(g::text, 8, '0'), 'Product number ' || g,
			'A sturdy item, ' || md5(g::text) || ' ' || md5((g * 7)::text), (g %% 100000) / 100.0, g %% 1000, g * 0.013,
			g %% 11 <> 0, 'category-' || (g %% 40), '2026-01-01'::timestamptz + g * interval '1 millisecond'
			FROM generate_series(1, %d) g;
		CREATE INDEX bench_items_cursor ON bench_items (updated_at, id);
		CREATE TABLE bench_copy (LIKE bench_items);
		ANALYZE bench_items;`, n))
	return name, err
}

// copyPipe is the physical reference: COPY out of one connection straight into another.
func copyPipe(ctx context.Context, pgURL, db string, n int) (float64, error) {
	from, err := pgx.Connect(ctx, withDatabase(pgURL, db))
	if err != nil {
		return 0, err
	}
	defer from.Close(ctx)
	to, err := pgx.Connect(ctx, withDatabase(pgURL, db))
	if err != nil {
		return 0, err
	}
	defer to.Close(ctx)
	r, w := io.Pipe()
	began := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := from.PgConn().CopyTo(ctx, w, "COPY bench_items TO STDOUT")
		w.CloseWithError(err)
		errc <- err
	}()
	if _, err := to.PgConn().CopyFrom(ctx, r, "COPY bench_copy FROM STDIN"); err != nil {
		return 0, err
	}
	if err := <-errc; err != nil {
		return 0, err
	}
	return float64(n) / time.Since(began).Seconds(), nil
}

// changeOnePercent changes every hundredth row, moving it past the incremental cursor.
func changeOnePercent(ctx context.Context, pgURL, db string) error {
	c, err := pgx.Connect(ctx, withDatabase(pgURL, db))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `UPDATE bench_items SET quantity = quantity + 1, updated_at = now() WHERE id % 100 = 0`)
	return err
}

func createDatabase(ctx context.Context, pgURL, name string) error {
	c, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	_, err = c.Exec(ctx, "CREATE DATABASE "+name)
	return err
}

func dropDatabase(ctx context.Context, pgURL, name string) {
	if c, err := pgx.Connect(ctx, pgURL); err == nil {
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		c.Close(ctx)
	}
}

type pgParts struct {
	host, user, password string
	port                 int64
}

func parseURL(s string) pgParts {
	cfg, err := pgx.ParseConfig(s)
	if err != nil {
		fatal(err)
	}
	return pgParts{host: cfg.Host, port: int64(cfg.Port), user: cfg.User, password: cfg.Password}
}

func withDatabase(pgURL, db string) string {
	cfg := parseURL(pgURL)
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.user, cfg.host, cfg.port, db)
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
