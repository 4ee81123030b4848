package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// runGroups dispatches `junction groups SUBCOMMAND`; without one it lists.
func (c *cli) runGroups(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("groups", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list", "ls":
		fs := c.flagSet("groups list", "")
		if pos, err := c.parse(fs, args); err != nil {
			return err
		} else if len(pos) > 0 {
			return usagef("groups list takes no arguments")
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		list, err := cl.Groups(ctx)
		if err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
		if c.opts.json {
			return c.printJSON(map[string]any{"groups": list})
		}
		tw := c.table()
		fmt.Fprintln(tw, "ID\tNAME\tMEMBERS")
		for _, g := range list {
			ids := make([]string, len(g.Members))
			for i, m := range g.Members {
				ids[i] = strconv.FormatInt(m, 10)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", g.ID, g.Name, orDash(strings.Join(ids, ",")))
		}
		return tw.Flush()
	case "create":
		fs := c.flagSet("groups create", "NAME")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("expected one group name, got %d arguments", len(pos))
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		g, err := cl.CreateGroup(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("create group %s: %w", pos[0], err)
		}
		if c.opts.json {
			return c.printJSON(g)
		}
		fmt.Fprintf(c.stdout, "created group %d %s\n", g.ID, g.Name)
		return nil
	case "delete", "rm":
		fs := c.flagSet("groups delete", "ID")
		id, cl, err := c.idAndClient(fs, args, "group")
		if err != nil {
			return err
		}
		if err := cl.DeleteGroup(ctx, id); err != nil {
			return fmt.Errorf("delete group %d: %w", id, err)
		}
		fmt.Fprintf(c.stdout, "deleted group %d\n", id)
		return nil
	case "add-member", "remove-member":
		fs := c.flagSet("groups "+sub, "GROUP_ID USER_ID")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return usagef("expected a group id and a user id, got %d arguments", len(pos))
		}
		gid, err := parseID("group", pos[0])
		if err != nil {
			return err
		}
		uid, err := parseID("user", pos[1])
		if err != nil {
			return err
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		if sub == "add-member" {
			if err := cl.AddGroupMember(ctx, gid, uid); err != nil {
				return fmt.Errorf("add user %d to group %d: %w", uid, gid, err)
			}
			fmt.Fprintf(c.stdout, "user %d is in group %d\n", uid, gid)
			return nil
		}
		if err := cl.RemoveGroupMember(ctx, gid, uid); err != nil {
			return fmt.Errorf("remove user %d from group %d: %w", uid, gid, err)
		}
		fmt.Fprintf(c.stdout, "user %d left group %d\n", uid, gid)
		return nil
	}
	c.cmd = "groups"
	return usagef("unknown groups command %q (want list, create, delete, add-member or remove-member)", sub)
}
