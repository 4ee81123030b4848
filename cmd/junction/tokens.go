package main

import (
	"context"
	"fmt"

	"github.com/junction-hub/junction/internal/api"
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
	}
	c.cmd = "tokens"
	return usagef("unknown tokens command %q (want list, create or revoke)", sub)
}
