package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/auth"
)

// runTokens dispatches `junction tokens SUBCOMMAND`; without one it lists.
func (c *cli) runTokens(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("tokens", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list", "ls":
		fs := c.flagSet("tokens list", "")
		if pos, err := c.parse(fs, args); err != nil {
			return err
		} else if len(pos) > 0 {
			return usagef("tokens list takes no arguments")
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		list, err := cl.Tokens(ctx)
		if err != nil {
			return fmt.Errorf("list tokens: %w", err)
		}
		if c.opts.json {
			return c.printJSON(map[string]any{"tokens": list})
		}
		tw := c.table()
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
		for _, t := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, fmtTime(&t.CreatedAt),
				fmtTime(t.ExpiresAt), fmtTime(t.LastUsedAt), fmtTime(t.RevokedAt))
		}
		return tw.Flush()
	case "create":
		fs := c.flagSet("tokens create", "NAME [--expires-in-days N]")
		var in api.TokenInput
		fs.IntVar(&in.ExpiresInDays, "expires-in-days", 0, "the token expires after `n` days (0: never)")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("expected one token name, got %d arguments", len(pos))
		}
		in.Name = pos[0]
		cl, err := c.client()
		if err != nil {
			return err
		}
		t, err := cl.CreateToken(ctx, in)
		if err != nil {
			return fmt.Errorf("create token %s: %w", in.Name, err)
		}
		if c.opts.json {
			return c.printJSON(t)
		}
		fmt.Fprintf(c.stderr, "token %d %s (shown only this once; expires %s):\n", t.ID, t.Name, fmtTime(t.ExpiresAt))
		fmt.Fprintln(c.stdout, t.Secret)
		return nil
	case "revoke":
		fs := c.flagSet("tokens revoke", "ID")
		id, cl, err := c.idAndClient(fs, args, "token")
		if err != nil {
			return err
		}
		if err := cl.RevokeToken(ctx, id); err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		fmt.Fprintf(c.stdout, "revoked token %d\n", id)
		return nil
	case "integration":
		return c.runIntegrationTokens(ctx, args)
	}
	c.cmd = "tokens"
	return usagef("unknown tokens command %q (want list, create, revoke or integration)", sub)
}

// runIntegrationTokens is `junction tokens integration list|create`.
func (c *cli) runIntegrationTokens(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("tokens integration", args, "list")
	if err != nil {
		return err
	}
	switch sub {
	case "list", "ls":
		fs := c.flagSet("tokens integration list", "")
		if pos, err := c.parse(fs, args); err != nil {
			return err
		} else if len(pos) > 0 {
			return usagef("tokens integration list takes no arguments")
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		list, err := cl.IntegrationTokens(ctx)
		if err != nil {
			return fmt.Errorf("list integration tokens: %w", err)
		}
		if c.opts.json {
			return c.printJSON(map[string]any{"tokens": list})
		}
		tw := c.table()
		fmt.Fprintln(tw, "ID	NAME	USER	GRANTS	EXPIRES	LAST USED	REVOKED")
		for _, t := range list {
			grants := make([]string, len(t.Grants))
			for i, g := range t.Grants {
				grants[i] = grantString(g)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.User, strings.Join(grants, " "),
				fmtTime(t.ExpiresAt), fmtTime(t.LastUsedAt), fmtTime(t.RevokedAt))
		}
		return tw.Flush()
	case "create":
		fs := c.flagSet("tokens integration create", "NAME --user U --grant CONN:ENTITY:read|write[:KEY,KEY] --grant flow:ID:read|run [--expires-in-days N]")
		var in api.IntegrationTokenInput
		var grants setFlag
		fs.StringVar(&in.User, "user", "", "the integration `user` the token belongs to (created when new)")
		fs.Var(&grants, "grant", "`CONN:ENTITY:ACCESS[:KEYS]` (entity * for all; keys comma-separated) or flow:ID:ACCESS; repeatable")
		fs.IntVar(&in.ExpiresInDays, "expires-in-days", 0, "the token expires after `n` days (0: never)")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("expected one token name, got %d arguments", len(pos))
		}
		in.Name = pos[0]
		for _, g := range grants {
			grant, err := parseGrant(g)
			if err != nil {
				return err
			}
			in.Grants = append(in.Grants, grant)
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		t, err := cl.CreateIntegrationToken(ctx, in)
		if err != nil {
			return fmt.Errorf("create integration token %s: %w", in.Name, err)
		}
		if c.opts.json {
			return c.printJSON(t)
		}
		fmt.Fprintf(c.stderr, "integration token %d %s of %s (shown only this once; expires %s):\n", t.ID, t.Name, in.User, fmtTime(t.ExpiresAt))
		fmt.Fprintln(c.stdout, t.Secret)
		return nil
	}
	c.cmd = "tokens"
	return usagef("unknown tokens integration command %q (want list or create)", sub)
}

// parseGrant reads --grant: CONN:ENTITY:ACCESS[:KEY,KEY] or flow:ID:ACCESS.
func parseGrant(s string) (auth.Grant, error) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 3 {
		return auth.Grant{}, usagef("--grant %q: want CONN:ENTITY:ACCESS[:KEYS] or flow:ID:ACCESS", s)
	}
	if parts[0] == "flow" {
		id, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || len(parts) != 3 {
			return auth.Grant{}, usagef("--grant %q: want flow:ID:read|run", s)
		}
		return auth.Grant{Flow: id, Access: parts[2]}, nil
	}
	conn, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return auth.Grant{}, usagef("--grant %q: %q is not a connection id", s, parts[0])
	}
	g := auth.Grant{Connection: conn, Entity: parts[1], Access: parts[2]}
	if len(parts) == 4 {
		g.Keys = strings.Split(parts[3], ",")
	}
	return g, nil
}

// grantString is the --grant form of a grant.
func grantString(g auth.Grant) string {
	if g.Flow != 0 {
		return fmt.Sprintf("flow:%d:%s", g.Flow, g.Access)
	}
	s := fmt.Sprintf("%d:%s:%s", g.Connection, g.Entity, g.Access)
	if len(g.Keys) > 0 {
		s += ":" + strings.Join(g.Keys, ",")
	}
	return s
}
