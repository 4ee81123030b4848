package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/junction-hub/junction/internal/connector"
	"github.com/junction-hub/junction/internal/driver"
)

const connectorUsage = `usage:
  junction connector serve --driver NAME [--addr ADDR] [--token T]
      serve a built-in driver as a remote connector (protocol v1, docs/connector-protocol.md)
  junction connector test URL --credentials FILE [--bad-credentials FILE] [--settings FILE]
                          [--entity E] [--write FILE] [--token T]
      the conformance kit: run every check against the connector at URL, print a table,
      exit 1 when a check fails

FILEs hold JSON objects: --credentials and --bad-credentials the credential fields,
--settings the setting fields, --write {"key": "...", "fields": {...}} a record to upsert
and read back (only for connectors that can write).
`

// runConnector is `junction connector`, with the process's own output.
func runConnector(ctx context.Context, args []string) error {
	return connectorCommand(ctx, args, os.Stdout, os.Stderr)
}

func connectorCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, connectorUsage)
		return exitError{code: 2}
	}
	switch args[0] {
	case "serve":
		return connectorServe(ctx, args[1:], stderr)
	case "test":
		return connectorTest(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, connectorUsage)
		return nil
	}
	return usagef("unknown connector command %q (serve or test)", args[0])
}

func connectorFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("junction connector "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, connectorUsage) }
	return fs
}

func parseConnectorFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	// Flags may come before or after the URL.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, exitError{code: 2} // flag has printed the problem and the usage
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// connectorServe serves a built-in driver until ctx ends. The server sets no write timeout:
// a read streams as long as it has records; the client's idle timeout guards silence.
func connectorServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := connectorFlags("serve", stderr)
	name := fs.String("driver", "", "built-in driver to serve (see junction drivers)")
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	token := fs.String("token", os.Getenv("JUNCTION_CONNECTOR_TOKEN"), "bearer token every request must carry (env JUNCTION_CONNECTOR_TOKEN)")
	pos, err := parseConnectorFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("connector serve takes no arguments, got %q", pos[0])
	}
	d, ok := driver.Lookup(*name)
	if !ok {
		return usagef("--driver: no built-in driver %q (have %v)", *name, driver.Names())
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           connector.Handler(d, connector.HandlerOptions{Token: *token, Logger: logger}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	logger.Info("connector listening", "driver", *name, "url", "http://"+l.Addr().String(), "auth", *token != "")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err = <-served:
		return err
	case <-ctx.Done():
	}
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(stop)
}

// connectorTest runs the conformance kit against a connector's URL.
func connectorTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := connectorFlags("test", stderr)
	creds := fs.String("credentials", "", "JSON file with credentials that work")
	bad := fs.String("bad-credentials", "", "JSON file with well-formed but wrong credentials")
	settings := fs.String("settings", "", "JSON file with settings")
	entity := fs.String("entity", "", "entity with a few records (default: the first discovered)")
	write := fs.String("write", "", `JSON file {"key": ..., "fields": {...}}: a record to upsert and read back`)
	token := fs.String("token", os.Getenv("JUNCTION_CONNECTOR_TOKEN"), "bearer token for the connector (env JUNCTION_CONNECTOR_TOKEN)")
	pageSize := fs.Int("page-size", 3, "records per page in the kit's reads")
	pos, err := parseConnectorFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("connector test takes one URL")
	}
	if *creds == "" {
		return usagef("connector test needs --credentials FILE")
	}
	fx := connector.KitFixture{Entity: *entity, PageSize: *pageSize}
	if err := readJSONFile(*creds, &fx.Credentials); err != nil {
		return err
	}
	if *bad != "" {
		if err := readJSONFile(*bad, &fx.BadCredentials); err != nil {
			return err
		}
	}
	if *settings != "" {
		if err := readJSONFile(*settings, &fx.Settings); err != nil {
			return err
		}
	}
	if *write != "" {
		var w struct {
			Key    string         `json:"key"`
			Fields map[string]any `json:"fields"`
		}
		if err := readJSONFile(*write, &w); err != nil {
			return err
		}
		if w.Key == "" || w.Fields == nil {
			return usagef("--write %s: needs a \"key\" and \"fields\"", *write)
		}
		fx.WriteKey, fx.WriteFields = w.Key, w.Fields
	}
	results := connector.Conformance(ctx, pos[0], fx, connector.Options{Token: *token, RetryFor: 5 * time.Second})
	if connector.PrintResults(stdout, results) > 0 {
		return exitError{code: 1}
	}
	return nil
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return usagef("%s is not a JSON object: %v", path, err)
	}
	return nil
}
