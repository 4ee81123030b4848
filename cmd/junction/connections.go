package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/client"
	"github.com/junction-hub/junction/internal/driver"
)

// runConnections dispatches `junction connections SUBCOMMAND`; without one it lists.
func (c *cli) runConnections(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("connections", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list", "ls":
		return c.connList(ctx, args)
	case "show":
		return c.connShow(ctx, args)
	case "create":
		return c.connCreate(ctx, args)
	case "edit":
		return c.connEdit(ctx, args)
	case "check":
		return c.connCheck(ctx, args)
	case "sync", "enable", "disable", "delete":
		return c.connAction(ctx, sub, args)
	case "bulk":
		return c.connBulk(ctx, args)
	case "catalog":
		return c.connCatalog(ctx, args)
	case "records":
		return c.connRecords(ctx, args)
	}
	c.cmd = "connections"
	return usagef("unknown connections command %q", sub)
}

func (c *cli) connList(ctx context.Context, args []string) error {
	fs := c.flagSet("connections list", "")
	if pos, err := c.parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("connections list takes no arguments")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	conns, err := cl.Connections(ctx)
	if err != nil {
		return fmt.Errorf("list connections: %w", err)
	}
	if c.opts.json {
		return c.printJSON(map[string]any{"connections": conns})
	}
	return c.printConnections(conns)
}

func (c *cli) printConnections(conns []api.Connection) error {
	tw := c.table()
	fmt.Fprintln(tw, "ID\tNAME\tDRIVER\tSTATUS\tHEALTH\tLAST SYNC\tNEXT SYNC")
	for _, k := range conns {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
			k.ID, k.Name, k.Driver, k.Status, orDash(k.Health.State), fmtTime(k.LastSyncAt), fmtTime(k.NextSyncAt))
	}
	return tw.Flush()
}

func (c *cli) connShow(ctx context.Context, args []string) error {
	fs := c.flagSet("connections show", "ID")
	id, cl, err := c.idAndClient(fs, args, "connection")
	if err != nil {
		return err
	}
	conn, err := cl.Connection(ctx, id)
	if err != nil {
		return fmt.Errorf("show connection %d: %w", id, err)
	}
	if c.opts.json {
		return c.printJSON(conn)
	}
	return c.printConnection(conn)
}

// printConnection shows one connection. Credentials are printed as the API returns them,
// which is with every secret masked.
func (c *cli) printConnection(k api.Connection) error {
	tw := c.table()
	health := orDash(k.Health.State)
	if k.Health.Message != "" {
		health += ": " + k.Health.Message
	}
	sched := "manual"
	if k.Schedule != "" {
		sched = k.Schedule + " (UTC)"
	}
	lastJob := "-"
	if k.LastSyncJobID != nil {
		lastJob = strconv.FormatInt(*k.LastSyncJobID, 10)
	}
	for _, row := range [][2]string{
		{"ID", strconv.FormatInt(k.ID, 10)},
		{"Name", k.Name},
		{"Driver", k.Driver},
		{"Description", orDash(k.Description)},
		{"Status", k.Status},
		{"Health", health},
		{"Checked", fmtTime(k.Health.CheckedAt)},
		{"Last sync", fmtTime(k.LastSyncAt)},
		{"Last sync job", lastJob},
		{"Schedule", sched},
		{"Next sync", fmtTime(k.NextSyncAt)},
		{"Scope", scopeString(k.Scope)},
		{"Created", fmtTime(&k.CreatedAt)},
		{"Updated", fmtTime(&k.UpdatedAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, group := range []struct {
		title  string
		values map[string]any
	}{{"Credentials", k.Credentials}, {"Settings", k.Settings}} {
		fmt.Fprintf(c.stdout, "%s:\n", group.title)
		if len(group.values) == 0 {
			fmt.Fprintln(c.stdout, "  (none)")
			continue
		}
		keys := make([]string, 0, len(group.values))
		for key := range group.values {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		tw := c.table()
		for _, key := range keys {
			fmt.Fprintf(tw, "  %s\t%v\n", key, group.values[key])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// setFlag collects repeated --set key=value flags. String shows nothing, so that no value
// ever appears in help or flag errors.
type setFlag []string

func (s *setFlag) String() string     { return "" }
func (s *setFlag) Set(v string) error { *s = append(*s, v); return nil }

// inputFlags are the flags that build a ConnectionInput, shared by create and edit.
type inputFlags struct {
	fs          *flag.FlagSet
	driver      string
	name        string
	description string
	schedule    string
	scope       string
	from        string
	sets        setFlag
}

func newInputFlags(fs *flag.FlagSet, withDriver bool) *inputFlags {
	f := &inputFlags{fs: fs}
	if withDriver {
		fs.StringVar(&f.driver, "driver", "", "driver `name` (see junction drivers)")
	}
	fs.StringVar(&f.name, "name", "", "connection `name`")
	fs.StringVar(&f.description, "description", "", "free `text` about the connection")
	fs.StringVar(&f.schedule, "schedule", "", "sync `schedule`: an interval (15m, 2h), a cron expression (\"0 6 * * 1-5\", UTC), or \"\" for manual only")
	fs.StringVar(&f.scope, "scope", "", "who sees it: everyone, or `users:1,2;groups:3` (ids; admins always see it)")
	fs.StringVar(&f.from, "from", "", "read a ConnectionInput JSON `file` (- for stdin); other flags override it")
	fs.Var(&f.sets, "set", "`key=value` of a credential or setting, repeatable; key=- reads the value from stdin without echo")
	return f
}

// given reports whether a flag was on the command line, so that an explicit empty value
// (--description "") can clear a field on edit.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// build makes the ConnectionInput: the --from file first, the flags on top of it. spec is
// called only when there are --set values to place, to find the driver's fields.
func (c *cli) build(f *inputFlags, spec func(in api.ConnectionInput) (driver.Spec, error)) (api.ConnectionInput, error) {
	var in api.ConnectionInput
	if f.from != "" {
		var err error
		if in, err = c.readInput(f.from); err != nil {
			return in, err
		}
	}
	if given(f.fs, "driver") {
		in.Driver = &f.driver
	}
	if given(f.fs, "name") {
		in.Name = &f.name
	}
	if given(f.fs, "description") {
		in.Description = &f.description
	}
	if given(f.fs, "schedule") {
		in.Schedule = &f.schedule
	}
	if given(f.fs, "scope") {
		sc, err := parseScope(f.scope)
		if err != nil {
			return in, err
		}
		in.Scope = &sc
	}
	if len(f.sets) == 0 {
		return in, nil
	}
	s, err := spec(in)
	if err != nil {
		return in, err
	}
	creds, settings, err := applySets(s, f.sets, c.readValue)
	if err != nil {
		return in, err
	}
	in.Credentials = merge(in.Credentials, creds)
	in.Settings = merge(in.Settings, settings)
	return in, nil
}

// readInput reads a ConnectionInput JSON file strictly, so a misspelt key is an error
// rather than silently ignored.
func (c *cli) readInput(path string) (api.ConnectionInput, error) {
	var in api.ConnectionInput
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(c.stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return in, usagef("--from: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, usagef("--from %s: not a connection input: %v", path, err)
	}
	return in, nil
}

func merge(dst, src map[string]any) map[string]any {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// applySets splits key=value pairs into credentials and settings as the driver's spec
// declares each key. A key may be qualified ("credentials.path") where that helps.
// read supplies the value of key=- . Errors name the key, never the value.
func applySets(spec driver.Spec, sets []string, read func(key string) (string, error)) (creds, settings map[string]any, err error) {
	creds, settings = map[string]any{}, map[string]any{}
	seen := map[string]bool{}
	for i, kv := range sets {
		key, value, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, nil, usagef("--set expects key=value, but --set number %d has no '='", i+1)
		}
		group, name := "", key
		if g, n, ok := strings.Cut(key, "."); ok && (g == "credentials" || g == "settings") {
			group, name = g, n
		}
		var dst map[string]any
		switch {
		case (group == "" || group == "credentials") && hasField(spec.Credentials, name):
			dst = creds
		case (group == "" || group == "settings") && hasField(spec.Settings, name):
			dst = settings
		default:
			return nil, nil, usagef("unknown field %q for driver %s (its fields: %s)", key, spec.Name, fieldNames(spec))
		}
		if seen[name] {
			return nil, nil, usagef("--set %s given twice", name)
		}
		seen[name] = true
		if value == "-" {
			if value, err = read(name); err != nil {
				return nil, nil, err
			}
		}
		dst[name] = value
	}
	return creds, settings, nil
}

func hasField(fields []driver.Field, name string) bool {
	for _, f := range fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

func fieldNames(spec driver.Spec) string {
	var names []string
	for _, f := range spec.Credentials {
		names = append(names, f.Name)
	}
	for _, f := range spec.Settings {
		names = append(names, f.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// specOf fetches the spec of the named driver, for placing --set keys.
func specOf(ctx context.Context, cl *client.Client, name string) (driver.Spec, error) {
	spec, err := cl.Driver(ctx, name)
	if err != nil {
		return spec, fmt.Errorf("driver %s: %w", name, err)
	}
	return spec, nil
}

// connectionSpec returns the spec of a stored connection's driver, for --set on edit and check.
func connectionSpec(ctx context.Context, cl *client.Client, id int64) (driver.Spec, error) {
	conn, err := cl.Connection(ctx, id)
	if err != nil {
		return driver.Spec{}, fmt.Errorf("connection %d: %w", id, err)
	}
	return specOf(ctx, cl, conn.Driver)
}

func (c *cli) connCreate(ctx context.Context, args []string) error {
	fs := c.flagSet("connections create",
		"--driver D --name N [--description T] [--schedule S] [--set key=value]... [--from FILE] [--wait]")
	f := newInputFlags(fs, true)
	wait := fs.Bool("wait", false, "follow the first sync and fail when it fails")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	in, err := c.build(f, func(in api.ConnectionInput) (driver.Spec, error) {
		if in.Driver == nil || *in.Driver == "" {
			return driver.Spec{}, usagef("--set needs --driver, to know the driver's fields")
		}
		return specOf(ctx, cl, *in.Driver)
	})
	if err != nil {
		return err
	}
	if in.Driver == nil || *in.Driver == "" {
		return usagef("--driver is required (or \"driver\" in the --from file)")
	}
	if in.Name == nil || *in.Name == "" {
		return usagef("--name is required (or \"name\" in the --from file)")
	}
	res, err := cl.CreateConnection(ctx, in)
	if err != nil {
		return fmt.Errorf("create connection: %w", err)
	}
	return c.changed(ctx, cl, res, "created", *wait)
}

func (c *cli) connEdit(ctx context.Context, args []string) error {
	fs := c.flagSet("connections edit", "ID [--name N] [--description T] [--schedule S] [--set key=value]... [--from FILE] [--wait]")
	f := newInputFlags(fs, false)
	wait := fs.Bool("wait", false, "follow the sync the change starts and fail when it fails")
	id, cl, err := c.idAndClient(fs, args, "connection")
	if err != nil {
		return err
	}
	in, err := c.build(f, func(api.ConnectionInput) (driver.Spec, error) {
		return connectionSpec(ctx, cl, id)
	})
	if err != nil {
		return err
	}
	if in.Name == nil && in.Description == nil && in.Driver == nil && in.Credentials == nil && in.Settings == nil && in.Schedule == nil {
		return usagef("nothing to change: give --name, --description, --schedule, --set or --from")
	}
	res, err := cl.UpdateConnection(ctx, id, in)
	if err != nil {
		return fmt.Errorf("edit connection %d: %w", id, err)
	}
	return c.changed(ctx, cl, res, "updated", *wait)
}

// changed reports a change that may have started a job, and follows that job on --wait.
func (c *cli) changed(ctx context.Context, cl *client.Client, res api.ConnectionWithJob, verb string, wait bool) error {
	if c.opts.json {
		if err := c.printJSON(res); err != nil {
			return err
		}
	} else {
		msg := fmt.Sprintf("connection %d %q %s", res.Connection.ID, res.Connection.Name, verb)
		if res.JobID != nil {
			msg += fmt.Sprintf("; job %d started", *res.JobID)
		}
		fmt.Fprintln(c.stdout, msg)
	}
	if wait && res.JobID != nil {
		return c.follow(ctx, cl, *res.JobID)
	}
	return nil
}

func (c *cli) connCheck(ctx context.Context, args []string) error {
	fs := c.flagSet("connections check", "ID [--set key=value]... [--wait]")
	var sets setFlag
	fs.Var(&sets, "set", "`key=value` to check instead of the stored value, repeatable; key=- reads stdin without echo")
	wait := fs.Bool("wait", false, "follow the check's job")
	id, cl, err := c.idAndClient(fs, args, "connection")
	if err != nil {
		return err
	}
	var in *api.CheckInput
	if len(sets) > 0 {
		spec, err := connectionSpec(ctx, cl, id)
		if err != nil {
			return err
		}
		creds, settings, err := applySets(spec, sets, c.readValue)
		if err != nil {
			return err
		}
		in = &api.CheckInput{Credentials: creds, Settings: settings}
	}
	res, err := cl.CheckConnection(ctx, id, in)
	if err != nil {
		return fmt.Errorf("check connection %d: %w", id, err)
	}
	if c.opts.json {
		if err := c.printJSON(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(c.stdout, checkLine(id, res))
	}
	if *wait && res.JobID != 0 {
		if err := c.follow(ctx, cl, res.JobID); err != nil {
			return err
		}
	}
	if !res.OK {
		return fmt.Errorf("check of connection %d failed: %s", id, checkReason(res))
	}
	return nil
}

func checkLine(id int64, res api.CheckResult) string {
	if res.OK {
		line := fmt.Sprintf("connection %d: check ok", id)
		if res.Message != "" {
			line += ": " + res.Message
		}
		return line
	}
	return fmt.Sprintf("connection %d: check failed: %s", id, checkReason(res))
}

func checkReason(res api.CheckResult) string {
	var parts []string
	for _, fe := range res.FieldErrors {
		parts = append(parts, fe.Field+": "+fe.Message)
	}
	if len(parts) == 0 {
		return orDash(res.Message)
	}
	return strings.Join(parts, "; ")
}

// connAction runs sync, enable, disable or delete on one connection.
func (c *cli) connAction(ctx context.Context, action string, args []string) error {
	fs := c.flagSet("connections "+action, "ID [--wait]")
	wait := fs.Bool("wait", false, "follow the job the action starts and fail when it fails")
	id, cl, err := c.idAndClient(fs, args, "connection")
	if err != nil {
		return err
	}
	switch action {
	case "enable", "disable":
		call := cl.EnableConnection
		if action == "disable" {
			call = cl.DisableConnection
		}
		res, err := call(ctx, id)
		if err != nil {
			return fmt.Errorf("%s connection %d: %w", action, id, err)
		}
		return c.changed(ctx, cl, res, action+"d", *wait)
	}
	call, what := cl.SyncConnection, "sync"
	if action == "delete" {
		call, what = cl.DeleteConnection, "purge"
	}
	ref, err := call(ctx, id)
	if err != nil {
		return fmt.Errorf("%s connection %d: %w", action, id, err)
	}
	if c.opts.json {
		if err := c.printJSON(ref); err != nil {
			return err
		}
	} else if ref.Existing {
		fmt.Fprintf(c.stdout, "connection %d: %s job %d already pending or running\n", id, what, ref.JobID)
	} else {
		fmt.Fprintf(c.stdout, "connection %d: %s job %d started\n", id, what, ref.JobID)
	}
	if *wait {
		return c.follow(ctx, cl, ref.JobID)
	}
	return nil
}

func (c *cli) connBulk(ctx context.Context, args []string) error {
	fs := c.flagSet("connections bulk", "--action sync|enable|disable|delete ID...")
	action := fs.String("action", "", "`action` to apply: sync, enable, disable or delete")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch *action {
	case "sync", "enable", "disable", "delete":
	case "":
		return usagef("--action is required")
	default:
		return usagef("--action must be sync, enable, disable or delete, got %q", *action)
	}
	if len(pos) == 0 {
		return usagef("give at least one connection id")
	}
	in := api.BulkInput{Action: *action}
	for _, p := range pos {
		id, err := parseID("connection", p)
		if err != nil {
			return err
		}
		in.IDs = append(in.IDs, id)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	results, err := cl.BulkConnections(ctx, in)
	if err != nil {
		return fmt.Errorf("bulk %s: %w", *action, err)
	}
	if c.opts.json {
		err = c.printJSON(map[string]any{"results": results})
	} else {
		err = c.printBulk(results)
	}
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		if !r.OK {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("bulk %s: %d of %d failed", *action, failed, len(results))
	}
	return nil
}

func (c *cli) printBulk(results []api.BulkResult) error {
	tw := c.table()
	fmt.Fprintln(tw, "ID\tRESULT\tSTATUS\tJOB\tERROR")
	for _, r := range results {
		job := "-"
		if r.JobID != nil {
			job = strconv.FormatInt(*r.JobID, 10)
		}
		result := "ok"
		if !r.OK {
			result = "failed"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\n", r.ID, result, r.Status, job, orDash(r.Error))
	}
	return tw.Flush()
}

func (c *cli) connCatalog(ctx context.Context, args []string) error {
	fs := c.flagSet("connections catalog", "ID")
	id, cl, err := c.idAndClient(fs, args, "connection")
	if err != nil {
		return err
	}
	cat, err := cl.Catalog(ctx, id)
	if err != nil {
		return fmt.Errorf("catalog of connection %d: %w", id, err)
	}
	if c.opts.json {
		return c.printJSON(cat)
	}
	tw := c.table()
	fmt.Fprintln(tw, "ENTITY\tKEY\tCURSOR\tATTRIBUTES")
	for _, e := range cat.Entities {
		names := make([]string, len(e.Attributes))
		for i, a := range e.Attributes {
			names[i] = a.Name + ":" + a.Type
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, orDash(strings.Join(e.Key, ",")), orDash(e.Cursor),
			truncate(strings.Join(names, " "), 80))
	}
	if len(cat.ValueLists) > 0 {
		fmt.Fprintln(tw, "\nVALUE LIST\tVALUES\t\t")
		for _, vl := range cat.ValueLists {
			fmt.Fprintf(tw, "%s\t%d\t\t\n", vl.Name, len(vl.Values))
		}
	}
	return tw.Flush()
}

func (c *cli) connRecords(ctx context.Context, args []string) error {
	fs := c.flagSet("connections records", "ID [--entity E] [--state live|gone] [--limit N] [--after KEY]")
	var q client.RecordQuery
	fs.StringVar(&q.Entity, "entity", "", "only records of this `entity`")
	fs.StringVar(&q.State, "state", "", "only records in this `state`: live or gone")
	fs.IntVar(&q.Limit, "limit", 0, "at most `n` records (the server's default when 0)")
	fs.StringVar(&q.After, "after", "", "the page after this `cursor` (printed at the end of a page)")
	id, cl, err := c.idAndClient(fs, args, "connection")
	if err != nil {
		return err
	}
	page, err := cl.Records(ctx, id, q)
	if err != nil {
		return fmt.Errorf("records of connection %d: %w", id, err)
	}
	if c.opts.json {
		return c.printJSON(page)
	}
	tw := c.table()
	fmt.Fprintln(tw, "ENTITY\tKEY\tSTATE\tLAST SEEN\tFIELDS")
	for _, r := range page.Records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Entity, r.Key, r.State, fmtTime(&r.LastSeen),
			truncate(string(r.Fields), 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(c.stderr, "more: junction connections records %d --after %s\n", id, page.Next)
	}
	return nil
}

// parseScope reads --scope: "everyone", or "users:1,2;groups:3" for a restricted scope.
func parseScope(s string) (api.Scope, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "everyone" {
		return api.Scope{Mode: "everyone"}, nil
	}
	sc := api.Scope{Mode: "restricted"}
	for _, part := range strings.Split(s, ";") {
		kind, ids, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return sc, usagef("--scope: %q is not users:IDS or groups:IDS", part)
		}
		for _, v := range strings.Split(ids, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || id <= 0 {
				return sc, usagef("--scope: %q is not an id", v)
			}
			switch kind {
			case "users":
				sc.Users = append(sc.Users, id)
			case "groups":
				sc.Groups = append(sc.Groups, id)
			default:
				return sc, usagef("--scope: %q is not users or groups", kind)
			}
		}
	}
	return sc, nil
}

// scopeString is the --scope form of a scope.
func scopeString(sc api.Scope) string {
	if sc.Mode != "restricted" {
		return "everyone"
	}
	var parts []string
	for _, l := range []struct {
		kind string
		ids  []int64
	}{{"users", sc.Users}, {"groups", sc.Groups}} {
		if len(l.ids) == 0 {
			continue
		}
		ids := make([]string, len(l.ids))
		for i, id := range l.ids {
			ids[i] = strconv.FormatInt(id, 10)
		}
		parts = append(parts, l.kind+":"+strings.Join(ids, ","))
	}
	return strings.Join(parts, ";")
}
