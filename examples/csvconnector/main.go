// Command csvconnector is a remote connector for Junction written with its Go SDK: it
// serves a folder of CSV files over connector protocol v1 (docs/connector-protocol.md).
//
//	go run ./examples/csvconnector --addr 127.0.0.1:8091 [--token T]
//	junction connector test http://127.0.0.1:8091 --credentials creds.json --settings settings.json
//
// The folder is not a flag: like every credential it comes with each request, so one
// connector serves many connections.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/junction-hub/junction/examples/csvconnector/csvdriver"
	"github.com/junction-hub/junction/internal/connector"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "address to listen on")
	token := flag.String("token", os.Getenv("CSVCONNECTOR_TOKEN"), "bearer token every request must carry (env CSVCONNECTOR_TOKEN)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := &http.Server{
		Addr:              *addr,
		Handler:           connector.Handler(csvdriver.Driver{}, connector.HandlerOptions{Token: *token, Logger: logger}),
		ReadHeaderTimeout: 10 * time.Second, // no WriteTimeout: reads stream as long as they need
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("csv connector listening", "addr", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serve", "error", err)
		os.Exit(1)
	}
}
