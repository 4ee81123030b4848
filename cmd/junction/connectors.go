package main

import (
	"context"
	"fmt"
	"time"

	"github.com/junction-hub/junction/internal/api"
)

// runConnectors manages the remote connectors registered with the server. `serve` and
// `test` are handed to the connector command, which works without a server.
func (c *cli) runConnectors(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "serve" || args[0] == "test") {
		return connectorCommand(ctx, args, c.stdout, c.stderr)
	}
	sub, args, err := c.subcommand("connectors", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		fs := c.flagSet("connectors list", "")
		if pos, err := c.parse(fs, args); err != nil {
			return err
		} else if len(pos) > 0 {
			return usagef("connectors list takes no arguments")
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		list, err := cl.Connectors(ctx)
		if err != nil {
			return fmt.Errorf("list connectors: %w", err)
		}
		if c.opts.json {
			return c.printJSON(map[string]any{"connectors": list})
		}
		tw := c.table()
		fmt.Fprintln(tw, "NAME\tURL\tLABEL\tCAPABILITIES\tFETCHED")
		for _, k := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, k.URL, orDash(k.Spec.Label), capabilities(k.Spec.Capabilities),
				k.FetchedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "add":
		fs := c.flagSet("connectors add", "NAME URL")
		authHeader := fs.String("auth-header", "", "Authorization header value the connector needs, e.g. 'Bearer T'; - reads it from standard input")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return usagef("expected NAME and URL, got %d arguments", len(pos))
		}
		auth := *authHeader
		if auth == "-" {
			if auth, err = c.readValue("auth-header"); err != nil {
				return err
			}
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		k, err := cl.RegisterConnector(ctx, api.ConnectorInput{Name: pos[0], URL: pos[1], AuthHeader: auth})
		if err != nil {
			return fmt.Errorf("add connector %s: %w", pos[0], err)
		}
		if c.opts.json {
			return c.printJSON(k)
		}
		fmt.Fprintf(c.stdout, "connector %s registered (%s, %s); create connections with --driver %s\n",
			k.Name, orDash(k.Spec.Label), capabilities(k.Spec.Capabilities), k.Name)
		return nil
	case "refresh":
		fs := c.flagSet("connectors refresh", "NAME")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("expected one connector name, got %d arguments", len(pos))
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		res, err := cl.RefreshConnector(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("refresh connector %s: %w", pos[0], err)
		}
		if c.opts.json {
			return c.printJSON(res)
		}
		fmt.Fprintf(c.stdout, "connector %s: spec fetched at %s\n", res.Name, res.FetchedAt.Format(time.RFC3339))
		if len(res.Connections) == 0 {
			fmt.Fprintln(c.stdout, "no connections use it")
			return nil
		}
		tw := c.table()
		fmt.Fprintln(tw, "CONNECTION\tNAME\tVALID\tMESSAGE")
		failed := 0
		for _, r := range res.Connections {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.ConnectionID, r.Name, yesNo(r.OK), orDash(r.Message))
			if !r.OK {
				failed++
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if failed > 0 {
			return exitError{code: 1}
		}
		return nil
	case "remove", "delete":
		fs := c.flagSet("connectors remove", "NAME")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("expected one connector name, got %d arguments", len(pos))
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		if err := cl.RemoveConnector(ctx, pos[0]); err != nil {
			return fmt.Errorf("remove connector %s: %w", pos[0], err)
		}
		if !c.opts.json {
			fmt.Fprintf(c.stdout, "connector %s removed\n", pos[0])
		}
		return nil
	}
	c.cmd = "connectors"
	return usagef("unknown connectors command %q (want list, add, refresh or remove)", sub)
}
