package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/junction-hub/junction/internal/api"
)

// runUsers dispatches `junction users SUBCOMMAND`; without one it lists.
func (c *cli) runUsers(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("users", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list", "ls":
		return c.usersList(ctx, args)
	case "add":
		return c.usersAdd(ctx, args)
	case "edit":
		return c.usersEdit(ctx, args)
	case "remove", "rm":
		fs := c.flagSet("users remove", "ID")
		id, cl, err := c.idAndClient(fs, args, "user")
		if err != nil {
			return err
		}
		if err := cl.RemoveUser(ctx, id); err != nil {
			return fmt.Errorf("remove user %d: %w", id, err)
		}
		fmt.Fprintf(c.stdout, "removed user %d from the workspace\n", id)
		return nil
	}
	c.cmd = "users"
	return usagef("unknown users command %q (want list, add, edit or remove)", sub)
}

func (c *cli) usersList(ctx context.Context, args []string) error {
	fs := c.flagSet("users list", "")
	if pos, err := c.parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("users list takes no arguments")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	list, err := cl.Users(ctx)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	if c.opts.json {
		return c.printJSON(map[string]any{"users": list})
	}
	tw := c.table()
	fmt.Fprintln(tw, "ID\tNAME\tDISPLAY NAME\tKIND\tROLE\tCREATED")
	for _, u := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, orDash(u.DisplayName), u.Kind, u.Role, fmtTime(&u.CreatedAt))
	}
	return tw.Flush()
}

// password reads --password's value: only "-" is accepted, so that a password is read
// from standard input (without echo on a terminal) and never lands in the shell's history.
func (c *cli) password(flagValue string) (string, error) {
	if flagValue != "-" {
		return "", usagef("--password takes - and reads the password from standard input")
	}
	return c.readValue("password")
}

func (c *cli) usersAdd(ctx context.Context, args []string) error {
	fs := c.flagSet("users add", "NAME --role owner|admin|member [--display-name D] [--password -]")
	var in api.UserInput
	var pw string
	fs.StringVar(&in.Role, "role", "", "the user's `role` in the workspace: owner, admin or member")
	fs.StringVar(&in.DisplayName, "display-name", "", "the user's full `name`")
	fs.StringVar(&pw, "password", "", "- reads a new user's password (12 characters or more) from standard input")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("expected one user name, got %d arguments", len(pos))
	}
	if in.Role == "" {
		return usagef("--role is required: owner, admin or member")
	}
	in.Name = pos[0]
	if pw != "" {
		if in.Password, err = c.password(pw); err != nil {
			return err
		}
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	u, err := cl.AddUser(ctx, in)
	if err != nil {
		return fmt.Errorf("add user %s: %w", in.Name, err)
	}
	if c.opts.json {
		return c.printJSON(u)
	}
	fmt.Fprintf(c.stdout, "added user %d %s as %s\n", u.ID, u.Name, u.Role)
	return nil
}

func (c *cli) usersEdit(ctx context.Context, args []string) error {
	fs := c.flagSet("users edit", "ID [--role R] [--display-name D] [--password -]")
	var role, display, pw string
	fs.StringVar(&role, "role", "", "the new `role`: owner, admin or member")
	fs.StringVar(&display, "display-name", "", "the new display `name`")
	fs.StringVar(&pw, "password", "", "- reads the new password from standard input (your own, or as a server admin)")
	id, cl, err := c.idAndClient(fs, args, "user")
	if err != nil {
		return err
	}
	var patch api.UserPatch
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "role":
			patch.Role = &role
		case "display-name":
			patch.DisplayName = &display
		}
	})
	if pw != "" {
		p, err := c.password(pw)
		if err != nil {
			return err
		}
		patch.Password = &p
	}
	if patch.Role == nil && patch.DisplayName == nil && patch.Password == nil {
		return usagef("nothing to change: give --role, --display-name or --password -")
	}
	u, err := cl.UpdateUser(ctx, id, patch)
	if err != nil {
		return fmt.Errorf("edit user %d: %w", id, err)
	}
	if c.opts.json {
		return c.printJSON(u)
	}
	fmt.Fprintf(c.stdout, "user %d %s is %s\n", u.ID, u.Name, u.Role)
	return nil
}
