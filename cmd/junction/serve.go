package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/junction-hub/junction/internal/jobs"
	"github.com/junction-hub/junction/internal/server"
)

// runServe runs the server until ctx ends (SIGINT or SIGTERM), then stops gracefully.
func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("JUNCTION_ADDR", "127.0.0.1:8080"), "address to listen on (env JUNCTION_ADDR)")
	data := fs.String("data", envOr("JUNCTION_DATA", "junction-data"), "data folder: SQLite store, secret key, admin token (env JUNCTION_DATA)")
	database := fs.String("database", os.Getenv("JUNCTION_DATABASE"), "postgres://… to keep the store in PostgreSQL (env JUNCTION_DATABASE); empty: SQLite in the data folder")
	workers := fs.Int("workers", 4, "jobs this node runs at once")
	pageSize := fs.Int("page-size", 0, "records per sync checkpoint (default 1000)")
	logFormat := fs.String("log-format", "text", "text or json")
	heartbeat := fs.Duration("heartbeat", 5*time.Second, "how often a running job proves its worker is alive")
	lostAfter := fs.Duration("lost-after", 30*time.Second, "heartbeat age after which a job's worker counts as dead and the job is handed to another")
	pollInterval := fs.Duration("poll-interval", 500*time.Millisecond, "how often this node looks for new jobs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageErr{msg: err.Error()}
	}
	var handler slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if *logFormat == "json" {
		handler = slog.NewJSONHandler(os.Stderr, nil)
	}
	logger := slog.New(handler)
	server.TuneGC()

	srv, err := server.New(ctx, server.Config{
		DataDir: *data, Database: *database, Logger: logger, Out: os.Stdout, PageSize: *pageSize,
		SecretKey: os.Getenv("JUNCTION_SECRET_KEY"), AdminToken: os.Getenv("JUNCTION_ADMIN_TOKEN"),
		Jobs: jobs.Options{Workers: *workers, Heartbeat: *heartbeat, LostAfter: *lostAfter, PollInterval: *pollInterval},
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		srv.Close(context.Background())
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("junction listening", "addr", l.Addr().String(), "data", *data, "store", srv.Store.Dialect(), "node", srv.Runner.Node())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err = <-served:
	case <-ctx.Done():
	}
	logger.Info("junction stopping")
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cerr := srv.Close(stopCtx); err == nil {
		err = cerr
	}
	return err
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
