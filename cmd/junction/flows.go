package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/junction-hub/junction/internal/client"
	"github.com/junction-hub/junction/internal/flow"
)

// runFlows dispatches `junction flows SUBCOMMAND`; without one it lists.
func (c *cli) runFlows(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("flows", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list", "ls":
		return c.flowsList(ctx, args)
	case "show":
		return c.flowsShow(ctx, args)
	case "create":
		return c.flowsSave(ctx, args, false)
	case "edit":
		return c.flowsSave(ctx, args, true)
	case "delete", "rm":
		fs := c.flagSet("flows delete", "ID")
		id, cl, err := c.idAndClient(fs, args, "flow")
		if err != nil {
			return err
		}
		if err := cl.DeleteFlow(ctx, id); err != nil {
			return fmt.Errorf("delete flow %d: %w", id, err)
		}
		fmt.Fprintf(c.stdout, "deleted flow %d\n", id)
		return nil
	case "run", "retry":
		return c.flowsRun(ctx, sub, args)
	case "dry-run":
		return c.flowsDryRun(ctx, args)
	case "failed":
		return c.flowsFailed(ctx, args)
	case "links":
		return c.flowsLinks(ctx, args)
	}
	c.cmd = "flows"
	return usagef("unknown flows command %q", sub)
}

func (c *cli) flowsList(ctx context.Context, args []string) error {
	fs := c.flagSet("flows list", "")
	if pos, err := c.parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("flows list takes no arguments")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	list, err := cl.Flows(ctx)
	if err != nil {
		return fmt.Errorf("list flows: %w", err)
	}
	if c.opts.json {
		return c.printJSON(map[string]any{"flows": list})
	}
	tw := c.table()
	fmt.Fprintln(tw, "ID\tNAME\tSOURCE\tTARGET\tMODE\tTRIGGER\tLAST RUN")
	for _, f := range list {
		trigger := f.Trigger
		if f.Schedule != "" {
			trigger += " " + f.Schedule
		}
		fmt.Fprintf(tw, "%d\t%s\t%d:%s\t%d:%s\t%s\t%s\t%s\n", f.ID, f.Name, f.Source.ConnectionID, f.Source.Entity,
			f.Target.ConnectionID, f.Target.Entity, f.WriteMode, trigger, fmtTime(f.LastRunAt))
	}
	return tw.Flush()
}

// flowsShow prints a flow as JSON: its definition is what users write and read.
func (c *cli) flowsShow(ctx context.Context, args []string) error {
	fs := c.flagSet("flows show", "ID")
	id, cl, err := c.idAndClient(fs, args, "flow")
	if err != nil {
		return err
	}
	f, err := cl.Flow(ctx, id)
	if err != nil {
		return fmt.Errorf("show flow %d: %w", id, err)
	}
	return c.printJSON(f)
}

// flowsSave creates a flow, or replaces one's definition, from a JSON file ("-": stdin).
func (c *cli) flowsSave(ctx context.Context, args []string, edit bool) error {
	cmd, synopsis := "flows create", "--file FILE"
	if edit {
		cmd, synopsis = "flows edit", "ID --file FILE"
	}
	fs := c.flagSet(cmd, synopsis)
	file := fs.String("file", "", "the flow as JSON (- reads stdin); see README \"Flows and mappings\"")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	var id int64
	if edit {
		if id, err = oneID("flow", pos); err != nil {
			return err
		}
	} else if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *file == "" {
		return usagef("--file is required")
	}
	def, err := c.readDefinition(*file)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	verb := "created"
	var saved any
	if edit {
		f, err := cl.UpdateFlow(ctx, id, def)
		if err != nil {
			return fmt.Errorf("edit flow %d: %w", id, err)
		}
		saved, verb = f, "updated"
		id = f.ID
	} else {
		f, err := cl.CreateFlow(ctx, def)
		if err != nil {
			return fmt.Errorf("create flow: %w", err)
		}
		saved, id = f, f.ID
	}
	if c.opts.json {
		return c.printJSON(saved)
	}
	fmt.Fprintf(c.stdout, "%s flow %d %s\n", verb, id, def.Name)
	return nil
}

func (c *cli) readDefinition(path string) (flow.Definition, error) {
	var raw []byte
	var err error
	if path == "-" {
		raw, err = io.ReadAll(c.stdin)
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return flow.Definition{}, fmt.Errorf("read %s: %w", path, err)
	}
	var def flow.Definition
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&def); err != nil {
		return flow.Definition{}, usagef("%s is not a flow: %v", path, err)
	}
	return def, nil
}

// keyFlags collects repeated --key flags.
type keyFlags []string

func (k *keyFlags) String() string { return strings.Join(*k, ",") }
func (k *keyFlags) Set(v string) error {
	*k = append(*k, v)
	return nil
}

func (c *cli) flowsRun(ctx context.Context, sub string, args []string) error {
	synopsis := "ID [--key K]... [--wait]"
	fs := c.flagSet("flows "+sub, synopsis)
	var keys keyFlags
	help := "a source record key to send now (repeat it); none: every changed record"
	if sub == "retry" {
		help = "a failed record's source key to retry (repeat it); none: all failed records"
	}
	fs.Var(&keys, "key", help)
	wait := fs.Bool("wait", false, "follow the run and fail when it fails")
	id, cl, err := c.idAndClient(fs, args, "flow")
	if err != nil {
		return err
	}
	run := cl.RunFlow
	if sub == "retry" {
		run = cl.RetryFlow
	}
	ref, err := run(ctx, id, keys)
	if err != nil {
		return fmt.Errorf("%s flow %d: %w", sub, id, err)
	}
	if *wait {
		return c.follow(ctx, cl, ref.JobID)
	}
	if c.opts.json {
		return c.printJSON(ref)
	}
	note := ""
	if ref.Existing {
		note = " (a run was already pending)"
	}
	fmt.Fprintf(c.stdout, "flow %d: job %d%s\n", id, ref.JobID, note)
	return nil
}

func (c *cli) flowsDryRun(ctx context.Context, args []string) error {
	fs := c.flagSet("flows dry-run", "ID [--key K]... [--limit N]")
	var keys keyFlags
	fs.Var(&keys, "key", "a source record key to preview (repeat it); none: the next records a run would handle")
	limit := fs.Int("limit", 20, "records to preview")
	id, cl, err := c.idAndClient(fs, args, "flow")
	if err != nil {
		return err
	}
	res, err := cl.DryRunFlow(ctx, id, keys, *limit)
	if err != nil {
		return fmt.Errorf("dry run of flow %d: %w", id, err)
	}
	if c.opts.json {
		return c.printJSON(res)
	}
	tw := c.table()
	fmt.Fprintln(tw, "KEY\tACTION\tTARGET\tREASON / OUTPUT")
	for _, it := range res.Items {
		detail := it.Reason
		if detail == "" && it.Fields != nil {
			b, _ := json.Marshal(it.Fields)
			detail = string(b)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Key, it.Action, orDash(it.TargetKey), truncate(detail, 100))
	}
	return tw.Flush()
}

func (c *cli) flowsFailed(ctx context.Context, args []string) error {
	fs := c.flagSet("flows failed", "ID [--limit N] [--after KEY]")
	limit := fs.Int("limit", 100, "records per page")
	after := fs.String("after", "", "the source key the previous page ended with")
	id, cl, err := c.idAndClient(fs, args, "flow")
	if err != nil {
		return err
	}
	res, err := cl.FlowFailures(ctx, id, *after, *limit)
	if err != nil {
		return fmt.Errorf("failed records of flow %d: %w", id, err)
	}
	if c.opts.json {
		return c.printJSON(res)
	}
	tw := c.table()
	fmt.Fprintln(tw, "KEY\tATTEMPTS\tLAST FAILED\tREASON")
	for _, f := range res.Failed {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", f.SourceKey, f.Attempts, fmtTime(&f.LastFailedAt), f.Reason)
	}
	return c.flushPage(tw, res.Next)
}

func (c *cli) flowsLinks(ctx context.Context, args []string) error {
	fs := c.flagSet("flows links", "ID [--state S] [--limit N] [--after KEY]")
	state := fs.String("state", "", "pending, linked, skipped or removed")
	limit := fs.Int("limit", 100, "links per page")
	after := fs.String("after", "", "the source key the previous page ended with")
	id, cl, err := c.idAndClient(fs, args, "flow")
	if err != nil {
		return err
	}
	res, err := cl.FlowLinks(ctx, id, client.LinkQuery{State: *state, After: *after, Limit: *limit})
	if err != nil {
		return fmt.Errorf("links of flow %d: %w", id, err)
	}
	if c.opts.json {
		return c.printJSON(res)
	}
	tw := c.table()
	fmt.Fprintln(tw, "SOURCE\tTARGET\tSTATE\tWRITTEN BACK\tUPDATED\tNOTE")
	for _, l := range res.Links {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.SourceKey, orDash(l.TargetKey), l.State, orDash(l.WritebackValue),
			fmtTime(&l.UpdatedAt), truncate(l.Reason, 60))
	}
	return c.flushPage(tw, res.Next)
}

// flushPage prints a table and, when there is more, how to get the next page.
func (c *cli) flushPage(tw interface{ Flush() error }, next string) error {
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(c.stdout, "more: --after %s\n", next)
	}
	return nil
}

var _ flag.Value = (*keyFlags)(nil)
