package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
)

// runDrivers lists the server's drivers, or shows one driver's fields.
func (c *cli) runDrivers(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("drivers", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		fs := c.flagSet("drivers list", "")
		if pos, err := c.parse(fs, args); err != nil {
			return err
		} else if len(pos) > 0 {
			return usagef("drivers list takes no arguments")
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		specs, err := cl.Drivers(ctx)
		if err != nil {
			return fmt.Errorf("list drivers: %w", err)
		}
		if c.opts.json {
			return c.printJSON(map[string]any{"drivers": specs})
		}
		return c.printDrivers(specs)
	case "show":
		fs := c.flagSet("drivers show", "NAME")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("expected one driver name, got %d arguments", len(pos))
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		spec, err := cl.Driver(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("show driver %s: %w", pos[0], err)
		}
		if c.opts.json {
			return c.printJSON(spec)
		}
		return c.printDriver(spec)
	}
	c.cmd = "drivers"
	return usagef("unknown drivers command %q (want list or show)", sub)
}

func (c *cli) printDrivers(specs []driver.Spec) error {
	tw := c.table()
	fmt.Fprintln(tw, "NAME\tLABEL\tCAPABILITIES")
	for _, s := range specs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Label, capabilities(s.Capabilities))
	}
	return tw.Flush()
}

func capabilities(c driver.Capabilities) string {
	var out []string
	for _, x := range []struct {
		on   bool
		name string
	}{{c.Read, "read"}, {c.Write, "write"}, {c.Lookup, "lookup"}, {c.Webhooks, "webhooks"}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return orDash(strings.Join(out, ","))
}

// printDriver shows what --set accepts for a driver: its credential and setting fields.
func (c *cli) printDriver(s driver.Spec) error {
	fmt.Fprintf(c.stdout, "%s (%s): %s\n", s.Name, s.Label, orDash(s.Description))
	fmt.Fprintf(c.stdout, "capabilities: %s\n", capabilities(s.Capabilities))
	if len(s.Entities) > 0 {
		fmt.Fprintf(c.stdout, "entities: %s\n", strings.Join(s.Entities, ", "))
	}
	for _, group := range []struct {
		title  string
		fields []driver.Field
	}{{"credentials", s.Credentials}, {"settings", s.Settings}} {
		fmt.Fprintf(c.stdout, "\n%s:\n", group.title)
		if len(group.fields) == 0 {
			fmt.Fprintln(c.stdout, "  (none)")
			continue
		}
		tw := c.table()
		fmt.Fprintln(tw, "  NAME\tTYPE\tREQUIRED\tDEFAULT\tSECRET\tHELP")
		for _, f := range group.fields {
			typ := string(f.Type)
			if len(f.Options) > 0 {
				typ += " (" + strings.Join(f.Options, "|") + ")"
			}
			def := "-"
			if f.Default != nil {
				def = fmt.Sprint(f.Default)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n",
				f.Name, typ, yesNo(f.Required), def, yesNo(f.IsSecret()), orDash(f.Help))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
