package main

import (
	"context"
	"fmt"

	"github.com/junction-hub/junction/internal/client"
)

// runAudit prints the workspace's audit log: `junction audit [--kind K] [--object ID]
// [--user ID] [--limit N]`. Owners and admins only.
func (c *cli) runAudit(ctx context.Context, args []string) error {
	fs := c.flagSet("audit", "[--kind connection|token|member|group|flow|workspace] [--object ID] [--user ID] [--limit N]")
	var q client.AuditQuery
	fs.StringVar(&q.Kind, "kind", "", "only entries about this `kind` of object")
	fs.Int64Var(&q.Object, "object", 0, "only entries about this object `id`")
	fs.Int64Var(&q.User, "user", 0, "only what this user `id` did")
	fs.IntVar(&q.Limit, "limit", 100, "at most `n` entries, newest first")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("audit takes no arguments")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	list, err := cl.Audit(ctx, q)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if c.opts.json {
		return c.printJSON(map[string]any{"entries": list})
	}
	tw := c.table()
	fmt.Fprintln(tw, "WHEN\tWHO\tACTION\tOBJECT\tDETAIL")
	for _, e := range list {
		who := e.UserName
		if e.TokenID != nil {
			who += fmt.Sprintf(" (token %d)", *e.TokenID)
		}
		obj := e.ObjectKind
		if e.ObjectID != nil {
			obj += fmt.Sprintf(" %d", *e.ObjectID)
		}
		if e.ObjectName != "" {
			obj += " " + e.ObjectName
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", fmtTime(&e.At), who, e.Action, obj, e.Detail)
	}
	return tw.Flush()
}
