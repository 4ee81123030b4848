package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/client"
)

// runJobs dispatches `junction jobs SUBCOMMAND`; without one it lists.
func (c *cli) runJobs(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("jobs", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list", "ls":
		return c.jobsList(ctx, args)
	case "show":
		return c.jobsShow(ctx, args)
	case "cancel":
		return c.jobsCancel(ctx, args)
	}
	c.cmd = "jobs"
	return usagef("unknown jobs command %q (want list, show or cancel)", sub)
}

func (c *cli) jobsList(ctx context.Context, args []string) error {
	fs := c.flagSet("jobs list", "[--connection ID] [--state S] [--kind K] [--limit N] [--before ID]")
	var q client.JobQuery
	fs.Int64Var(&q.Connection, "connection", 0, "only jobs of this connection `id`")
	fs.StringVar(&q.State, "state", "", "only jobs in this `state`: pending, running, succeeded, failed or cancelled")
	fs.StringVar(&q.Kind, "kind", "", "only jobs of this `kind`: check, sync, purge or flow")
	fs.IntVar(&q.Limit, "limit", 0, "at most `n` jobs (the server's default when 0)")
	fs.StringVar(&q.Before, "before", "", "the page of jobs older than this `id` (printed at the end of a page)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("jobs list takes no arguments; filter with --connection, --state or --kind")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	page, err := cl.Jobs(ctx, q)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	if c.opts.json {
		out := map[string]any{"jobs": page.Jobs}
		if page.Next != "" {
			out["next"] = page.Next
		}
		return c.printJSON(out)
	}
	if err := c.printJobs(page.Jobs, time.Now()); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(c.stderr, "more: junction jobs list --before %s\n", page.Next)
	}
	return nil
}

func (c *cli) printJobs(jobs []api.Job, now time.Time) error {
	tw := c.table()
	fmt.Fprintln(tw, "ID\tKIND\tCONNECTION\tSTATE\tREAD\tWRITTEN\tUNCHANGED\tGONE\tCREATED\tDURATION\tERROR")
	for _, j := range jobs {
		p := j.Progress
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n",
			j.ID, j.Kind, optID(j.ConnectionID), j.State, p.Read, p.Written, p.Unchanged, p.Gone,
			fmtTime(&j.CreatedAt), jobDuration(j, now), orDash(truncate(j.Error, 60)))
	}
	return tw.Flush()
}

// jobDuration is how long a job ran, or has been running so far.
func jobDuration(j api.Job, now time.Time) string {
	switch {
	case j.StartedAt == nil:
		return "-"
	case j.FinishedAt != nil:
		return fmtDuration(j.FinishedAt.Sub(*j.StartedAt))
	}
	return fmtDuration(now.Sub(*j.StartedAt))
}

func optID(id *int64) string {
	if id == nil {
		return "-"
	}
	return strconv.FormatInt(*id, 10)
}

func (c *cli) jobsShow(ctx context.Context, args []string) error {
	fs := c.flagSet("jobs show", "ID")
	id, cl, err := c.idAndClient(fs, args, "job")
	if err != nil {
		return err
	}
	job, err := cl.Job(ctx, id)
	if err != nil {
		return fmt.Errorf("show job %d: %w", id, err)
	}
	if c.opts.json {
		return c.printJSON(job)
	}
	return c.printJob(job, time.Now())
}

func (c *cli) printJob(j api.Job, now time.Time) error {
	tw := c.table()
	p := j.Progress
	progress := fmt.Sprintf("read %d, written %d (inserted %d, updated %d), unchanged %d, gone %d",
		p.Read, p.Written, p.Inserted, p.Updated, p.Unchanged, p.Gone)
	if j.Kind == "flow" {
		progress = fmt.Sprintf("considered %d, written %d (created %d, updated %d), skipped %d, failed %d",
			p.Considered, p.Written, p.Inserted, p.Updated, p.Skipped, p.Failed)
	}
	for _, row := range [][2]string{
		{"ID", strconv.FormatInt(j.ID, 10)},
		{"Kind", j.Kind},
		{"Connection", optID(j.ConnectionID)},
		{"State", j.State},
		{"Attempts", fmt.Sprintf("%d of %d", j.Attempts, j.MaxAttempts)},
		{"Progress", progress},
		{"Created", fmtTime(&j.CreatedAt)},
		{"Started", fmtTime(j.StartedAt)},
		{"Finished", fmtTime(j.FinishedAt)},
		{"Duration", jobDuration(j, now)},
		{"Error", orDash(j.Error)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(j.Log) == 0 {
		return nil
	}
	fmt.Fprintln(c.stdout, "Log:")
	tw = c.table()
	for _, l := range j.Log {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", fmtTime(&l.At), l.Level, l.Message)
	}
	return tw.Flush()
}

func (c *cli) jobsCancel(ctx context.Context, args []string) error {
	fs := c.flagSet("jobs cancel", "ID")
	id, cl, err := c.idAndClient(fs, args, "job")
	if err != nil {
		return err
	}
	job, err := cl.CancelJob(ctx, id)
	if err != nil {
		return fmt.Errorf("cancel job %d: %w", id, err)
	}
	if c.opts.json {
		return c.printJSON(job)
	}
	if client.Finished(job) {
		fmt.Fprintf(c.stdout, "job %d %s\n", id, job.State)
	} else {
		fmt.Fprintf(c.stdout, "job %d: cancel requested; it stops at its next checkpoint (now %s)\n", id, job.State)
	}
	return nil
}
