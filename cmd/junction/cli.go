package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/client"
)

// Defaults of the options every command takes.
const (
	defaultServer = "http://127.0.0.1:8080"
	defaultData   = "./junction-data"
)

// waitEvery is how often --wait polls a job; tests shorten it.
var waitEvery = 500 * time.Millisecond

// displayLoc is the zone times are shown in; tests pin it.
var displayLoc = time.Local

// cli is one run of the command line: where it reads and writes, and the options given.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lines          *bufio.Reader // stdin read line by line, for --set key=- when piped
	tty            bool          // stdout is a terminal: progress is rewritten in place

	opts options // given before the command, merged with the command's own
	sub  options // given after the command
	cmd  string  // "connections create", for usage hints
}

// options are the ones every command accepts. They default to zero so that a flag's help
// never shows a token; the real defaults are resolved in client().
type options struct {
	server    string
	token     string
	workspace string
	json      bool
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.server, "server", "", "server `URL` (env JUNCTION_SERVER, default "+defaultServer+")")
	fs.StringVar(&o.token, "token", "", "API `token` (env JUNCTION_TOKEN, default: contents of $JUNCTION_DATA/admin.token)")
	fs.StringVar(&o.workspace, "workspace", "", "act in the workspace with this `id` (env JUNCTION_WORKSPACE, default: the token's own)")
	fs.BoolVar(&o.json, "json", false, "print the API's JSON, indented, for scripts")
}

// usageErr is a mistake in the command line; it exits 2.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageErr{msg: fmt.Sprintf(format, a...)} }

// exitError ends the run with a code after the message, if any, was already written.
type exitError struct{ code int }

func (e exitError) Error() string { return "exit " + strconv.Itoa(e.code) }

// exitCode reports err on stderr and turns it into the process's exit code.
func (c *cli) exitCode(err error) int {
	var ue usageErr
	var ee exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "junction: %s\n", ue.msg)
		hint := "junction help"
		if c.cmd != "" {
			hint = "junction " + c.cmd + " -h"
		}
		fmt.Fprintf(c.stderr, "run '%s' for usage\n", hint)
		return 2
	}
	fmt.Fprintf(c.stderr, "junction: %v\n", err)
	return 1
}

// flagSet starts the flags of one command, with the options every command takes.
func (c *cli) flagSet(cmd, synopsis string) *flag.FlagSet {
	c.cmd = cmd
	fs := flag.NewFlagSet("junction "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by exitCode
	c.sub = options{}
	c.sub.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(c.stdout, "usage: junction %s %s\n\noptions:\n", cmd, synopsis)
		fs.SetOutput(c.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses flags wherever they stand among the arguments (`show 3 --json` works as
// well as `show --json 3`) and returns the positional arguments. After "--" everything is
// positional.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err // flag has printed the usage already
			}
			return nil, usageErr{msg: err.Error()}
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	c.opts.merge(c.sub)
	return pos, nil
}

// merge takes the options given in o over those already set.
func (o *options) merge(given options) {
	o.server = firstNonEmpty(given.server, o.server)
	o.token = firstNonEmpty(given.token, o.token)
	o.workspace = firstNonEmpty(given.workspace, o.workspace)
	o.json = o.json || given.json
}

// subcommand splits `GROUP [options] SUB args...` into SUB and its args, taking the options
// every command accepts from before SUB; without SUB it is def.
func (c *cli) subcommand(group string, args []string, def string) (string, []string, error) {
	fs := flag.NewFlagSet("junction "+group, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, usage)
			return "", nil, err
		}
		c.cmd = group
		return "", nil, usageErr{msg: err.Error()}
	}
	c.opts.merge(o)
	if rest := fs.Args(); len(rest) > 0 {
		return rest[0], rest[1:], nil
	}
	return def, nil, nil
}

// client connects to the server named by --server, JUNCTION_SERVER or the default, with
// the token from --token, JUNCTION_TOKEN or the admin token file that `junction serve`
// writes into its data folder.
func (c *cli) client() (*client.Client, error) {
	server := firstNonEmpty(c.opts.server, os.Getenv("JUNCTION_SERVER"), defaultServer)
	token := firstNonEmpty(c.opts.token, os.Getenv("JUNCTION_TOKEN"))
	if token == "" {
		data := firstNonEmpty(os.Getenv("JUNCTION_DATA"), defaultData)
		path := filepath.Join(data, "admin.token")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usagef("no API token: pass --token or set JUNCTION_TOKEN (could not read %s: %v)",
				path, errors.Unwrap(err))
		}
		token = strings.TrimSpace(string(b))
	}
	ws := firstNonEmpty(c.opts.workspace, os.Getenv("JUNCTION_WORKSPACE"))
	return client.New(server, token).InWorkspace(ws), nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// printJSON writes v indented, as scripts read it.
func (c *cli) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}

// table returns a writer that aligns tab-separated columns; Flush it when done.
func (c *cli) table() *tabwriter.Writer {
	return tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
}

// readValue reads the value of --set key=- from stdin: without echo from a terminal, or
// as one line when stdin is piped (one line per such key, in order).
func (c *cli) readValue(key string) (string, error) {
	if f, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(c.stderr, "%s: ", key)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", fmt.Errorf("read %s from the terminal: %w", key, err)
		}
		return string(b), nil
	}
	if c.lines == nil {
		c.lines = bufio.NewReader(c.stdin)
	}
	line, err := c.lines.ReadString('\n')
	switch {
	case err == io.EOF && line == "":
		return "", usagef("--set %s=-: no line left on standard input", key)
	case err != nil && err != io.EOF:
		return "", fmt.Errorf("read %s from standard input: %w", key, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// follow waits for a job, showing its progress: one line rewritten in place on a terminal,
// a line per change otherwise, nothing but the final job with --json. It fails when the
// job fails or is cancelled, so that the exit code says how the job ended.
func (c *cli) follow(ctx context.Context, cl *client.Client, id int64) error {
	start := time.Now()
	live := !c.opts.json && c.tty
	var last string
	width := 0
	job, err := cl.WaitJob(ctx, id, waitEvery, func(j api.Job) {
		if c.opts.json || client.Finished(j) {
			return
		}
		line := progressLine(j, time.Since(start))
		if live {
			fmt.Fprint(c.stdout, "\r"+line+strings.Repeat(" ", max(0, width-len(line))))
			width = max(width, len(line)) // what is on screen, padding included
			return
		}
		if key := progressKey(j); key != last {
			fmt.Fprintln(c.stdout, line)
			last = key
		}
	})
	if err != nil {
		if live && width > 0 {
			fmt.Fprintln(c.stdout)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("stopped waiting; job %d goes on (junction jobs show %d)", id, id)
		}
		return err
	}
	if c.opts.json {
		if err := c.printJSON(job); err != nil {
			return err
		}
	} else {
		line := progressLine(job, time.Since(start))
		if live { // overwrite the progress line, then leave the final state standing
			line = "\r" + line + strings.Repeat(" ", max(0, width-len(line)))
		}
		fmt.Fprintln(c.stdout, line)
	}
	switch job.State {
	case "failed":
		return fmt.Errorf("job %d failed: %s", id, firstNonEmpty(job.Error, "no reason given"))
	case "cancelled":
		return fmt.Errorf("job %d was cancelled", id)
	}
	return nil
}

// progressLine is one line of a job's progress, e.g.
// "job 12 sync running: read 120, written 100, unchanged 20, gone 0 (3.2s)".
func progressLine(j api.Job, elapsed time.Duration) string {
	p := j.Progress
	if j.Kind == "flow" {
		return fmt.Sprintf("job %d flow %s: considered %d, written %d, skipped %d, failed %d (%s)",
			j.ID, j.State, p.Considered, p.Written, p.Skipped, p.Failed, fmtDuration(elapsed))
	}
	return fmt.Sprintf("job %d %s %s: read %d, written %d, unchanged %d, gone %d (%s)",
		j.ID, j.Kind, j.State, p.Read, p.Written, p.Unchanged, p.Gone, fmtDuration(elapsed))
}

// progressKey is what must change for a new progress line when stdout is not a terminal.
func progressKey(j api.Job) string {
	p := j.Progress
	return fmt.Sprint(j.State, p.Read, p.Written, p.Unchanged, p.Gone, p.Skipped, p.Failed)
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.In(displayLoc).Format("2006-01-02 15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseID reads a connection or job id.
func parseID(what, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%s id must be a positive number, got %q", what, s)
	}
	return id, nil
}

// idAndClient parses a command that takes one id (of what) and returns it with a client.
func (c *cli) idAndClient(fs *flag.FlagSet, args []string, what string) (int64, *client.Client, error) {
	pos, err := c.parse(fs, args)
	if err != nil {
		return 0, nil, err
	}
	id, err := oneID(what, pos)
	if err != nil {
		return 0, nil, err
	}
	cl, err := c.client()
	return id, cl, err
}

// oneID expects exactly one positional argument, an id.
func oneID(what string, pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usagef("expected one %s id, got %d arguments", what, len(pos))
	}
	return parseID(what, pos[0])
}

// truncate shortens s to n runes for a table cell.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
