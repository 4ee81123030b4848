package main

import (
	"context"
	"fmt"

	"github.com/junction-hub/junction/internal/api"
)

// runWorkspaces dispatches `junction workspaces SUBCOMMAND`; without one it lists.
func (c *cli) runWorkspaces(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("workspaces", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list", "ls":
		fs := c.flagSet("workspaces list", "")
		if pos, err := c.parse(fs, args); err != nil {
			return err
		} else if len(pos) > 0 {
			return usagef("workspaces list takes no arguments")
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		list, err := cl.Workspaces(ctx)
		if err != nil {
			return fmt.Errorf("list workspaces: %w", err)
		}
		if c.opts.json {
			return c.printJSON(map[string]any{"workspaces": list})
		}
		return c.printWorkspaces(list)
	case "create":
		fs := c.flagSet("workspaces create", "NAME")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("expected one workspace name, got %d arguments", len(pos))
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		w, err := cl.CreateWorkspace(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("create workspace %s: %w", pos[0], err)
		}
		if c.opts.json {
			return c.printJSON(w)
		}
		fmt.Fprintf(c.stdout, "created workspace %d %s; act in it with --workspace %d\n", w.ID, w.Name, w.ID)
		return nil
	}
	c.cmd = "workspaces"
	return usagef("unknown workspaces command %q (want list or create)", sub)
}

func (c *cli) printWorkspaces(list []api.Workspace) error {
	tw := c.table()
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED")
	for _, w := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", w.ID, w.Name, w.Role, fmtTime(&w.CreatedAt))
	}
	return tw.Flush()
}
