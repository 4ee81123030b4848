// Command junction is the Junction integration hub: `junction serve` runs the server, the
// other commands drive a running server through REST API v1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run does everything main does, with its inputs and outputs passed in, so tests can run
// the whole CLI in-process. It returns the exit code: 0 ok, 1 API or job failure, 2 usage.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, tty: isTerminal(stdout)}
	return c.exitCode(c.dispatch(ctx, args))
}

// dispatch reads the options given before the command and hands the rest to the command.
func (c *cli) dispatch(ctx context.Context, args []string) error {
	top := flag.NewFlagSet("junction", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	c.opts.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, usage)
			return nil
		}
		return usageErr{msg: err.Error()}
	}
	args = top.Args()
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return exitError{code: 2}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help":
		fmt.Fprint(c.stdout, usage)
		return nil
	case "serve":
		return runServe(ctx, rest)
	case "connector":
		return connectorCommand(ctx, rest, c.stdout, c.stderr)
	case "connectors":
		return c.runConnectors(ctx, rest)
	case "drivers", "driver":
		return c.runDrivers(ctx, rest)
	case "connections", "connection", "conn":
		return c.runConnections(ctx, rest)
	case "jobs", "job":
		return c.runJobs(ctx, rest)
	case "flows", "flow":
		return c.runFlows(ctx, rest)
	case "workspaces", "workspace":
		return c.runWorkspaces(ctx, rest)
	case "users", "user":
		return c.runUsers(ctx, rest)
	case "groups", "group":
		return c.runGroups(ctx, rest)
	case "audit":
		return c.runAudit(ctx, rest)
	case "tokens", "token":
		return c.runTokens(ctx, rest)
	}
	return usageErr{msg: fmt.Sprintf("unknown command %q", cmd)}
}

const usage = `junction is a self-hosted integration hub.

Usage:
  junction serve [options]                 run the server (see junction serve -h)
  junction drivers [list]                  list the drivers: NAME, LABEL, CAPABILITIES
  junction drivers show NAME               a driver's credential and setting fields

  junction connections [list]              list connections
  junction connections show ID             one connection (secrets come back masked)
  junction connections create --driver D --name N [--description T] [--set key=value]... [--from FILE] [--wait]
  junction connections edit ID [--name N] [--description T] [--set key=value]... [--from FILE] [--wait]
                                           create and edit also take --schedule S and
                                           --scope everyone|"users:1,2;groups:3"
  junction connections check ID [--set key=value]... [--wait]
  junction connections sync|enable|disable|delete ID [--wait]
  junction connections bulk --action sync|enable|disable|delete ID...
  junction connections catalog ID          the connection's mirrored data model
  junction connections records ID [--entity E] [--state live|gone] [--limit N] [--after KEY]

  junction flows [list]                    flows: source → target with their mapping
  junction flows show ID                   a flow as JSON (auto-mapped values included)
  junction flows create --file F | edit ID --file F | delete ID
  junction flows run ID [--key K]... [--wait]
                                           send every changed record, or the chosen ones, now
  junction flows dry-run ID [--key K]... [--limit N]
                                           what a run would do, record by record; writes nothing
  junction flows failed ID                 failed records with their reasons
  junction flows retry ID [--key K]... [--wait]
                                           retry the failed records (all, or the chosen ones)
  junction flows links ID [--state S]      source key ↔ target key, and what was written back

  junction jobs [list] [--connection ID] [--state S] [--kind K] [--limit N] [--before ID]
  junction jobs show ID                    state, progress and log
  junction jobs cancel ID

  junction workspaces [list]               the workspaces you belong to, with your role
  junction workspaces create NAME          a new workspace (server admins); you own it

  junction users [list]                    the workspace's users and their roles
  junction users add NAME --role owner|admin|member [--display-name D] [--password -]
                                           add a user (new users need a password, read from stdin)
  junction users edit ID [--role R] [--display-name D] [--password -]
  junction users remove ID                 take a user out of the workspace

  junction groups [list]                   the workspace's groups and their members
  junction groups create NAME | delete ID
  junction groups add-member|remove-member GROUP_ID USER_ID

  junction tokens [list]                   your personal tokens (never their secrets)
  junction tokens create NAME [--expires-in-days N]
                                           a new token, printed only this once
  junction tokens revoke ID
  junction tokens integration [list]       integration tokens with their grants (owners, admins)
  junction tokens integration create NAME --user U --grant CONN:ENTITY:read|write[:KEYS]...
                                           a token for another system, reaching only its grants
                                           (--grant flow:ID:read|run for a flow)

  junction audit [--kind K] [--object ID] [--user ID] [--limit N]
                                           who changed what and when (owners, admins)

  junction connectors [list]               remote connectors registered with the server
  junction connectors add NAME URL [--auth-header H]
                                           register a connector by URL; it becomes driver NAME
                                           (--auth-header - reads the header value from stdin)
  junction connectors refresh NAME         fetch its spec again and re-validate its connections
  junction connectors remove NAME          unregister it (refused while connections use it)

  junction connector serve --driver NAME [--addr ADDR] [--token T]
                                           serve a built-in driver as a remote connector
  junction connector test URL --credentials FILE [--bad-credentials FILE] [--settings FILE]
                          [--entity E] [--write FILE] [--token T]
                                           the conformance kit for remote connectors
  junction help                            this text

Options on every command:
  --server URL   the server (env JUNCTION_SERVER, default http://127.0.0.1:8080)
  --token T      API token (env JUNCTION_TOKEN, default: contents of $JUNCTION_DATA/admin.token,
                 JUNCTION_DATA defaulting to ./junction-data)
  --workspace ID act in that workspace (env JUNCTION_WORKSPACE, default: the token's own)
  --json         print the API's JSON, indented, for scripts

--set key=value puts each key into the credentials or the settings, as the driver's spec
declares it (see junction drivers show NAME). --set key=- reads the value from standard
input without echo, so a password never lands in the shell's history.
--wait follows the job a command started and fails when the job fails or is cancelled.

Exit codes: 0 ok, 1 API or job failure, 2 usage error.
`
