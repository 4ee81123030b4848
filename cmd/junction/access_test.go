package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/api"
)

// TestCLIWorkspacesUsersTokens creates a workspace, adds a user to it with a password read
// from stdin, makes a group, and creates, lists and revokes a token, all through the CLI.
func TestCLIWorkspacesUsersTokens(t *testing.T) {
	base, token := startTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	junction := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append(args, "--server", base, "--token", token)
		code := run(ctx, args, strings.NewReader(stdin), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := junction(stdin, args...)
		if code != 0 {
			t.Fatalf("junction %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}

	var w api.Workspace
	if err := json.Unmarshal([]byte(mustRun("", "workspaces", "create", "acme", "--json")), &w); err != nil || w.Name != "acme" {
		t.Fatalf("workspaces create: %+v %v", w, err)
	}
	if out := mustRun("", "workspaces"); !strings.Contains(out, "default") || !strings.Contains(out, "acme") {
		t.Fatalf("workspaces list:\n%s", out)
	}
	ws := fmt.Sprint(w.ID)

	// A password is read from stdin; a short one is refused with the field named.
	code, _, errOut := junction("short\n", "--workspace", ws, "users", "add", "maria", "--role", "member", "--password", "-")
	if code != 1 || !strings.Contains(errOut, "password") {
		t.Fatalf("short password: exit %d: %s", code, errOut)
	}
	if code, _, _ := junction("", "users", "add", "maria", "--role", "member", "--password", "secret"); code != 2 {
		t.Fatalf("--password with a value: exit %d, want 2", code)
	}
	mustRun("correct horse battery staple\n", "--workspace", ws, "users", "add", "maria", "--role", "member", "--display-name", "Maria", "--password", "-")
	var users struct{ Users []api.User }
	if err := json.Unmarshal([]byte(mustRun("", "users", "list", "--workspace", ws, "--json")), &users); err != nil || len(users.Users) != 2 {
		t.Fatalf("users of acme: %+v %v", users, err)
	}
	maria := users.Users[1]
	if maria.Name != "maria" || maria.Role != "member" {
		t.Fatalf("maria: %+v", maria)
	}
	if out := mustRun("", "users", "list"); strings.Contains(out, "maria") {
		t.Fatalf("maria listed in the default workspace:\n%s", out)
	}
	if out := mustRun("", "users", "edit", fmt.Sprint(maria.ID), "--role", "admin", "--workspace", ws); !strings.Contains(out, "is admin") {
		t.Fatalf("users edit: %s", out)
	}

	// Groups.
	var g api.Group
	if err := json.Unmarshal([]byte(mustRun("", "groups", "create", "sales", "--workspace", ws, "--json")), &g); err != nil {
		t.Fatal(err)
	}
	mustRun("", "groups", "add-member", fmt.Sprint(g.ID), fmt.Sprint(maria.ID), "--workspace", ws)
	if out := mustRun("", "groups", "--workspace", ws); !strings.Contains(out, "sales") || !strings.Contains(out, fmt.Sprint(maria.ID)) {
		t.Fatalf("groups list:\n%s", out)
	}
	if code, _, errOut := junction("", "groups", "add-member", fmt.Sprint(g.ID), fmt.Sprint(maria.ID)); code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("acme's group from the default workspace: exit %d: %s", code, errOut)
	}

	// Tokens: the secret is printed once, on stdout alone; the list never shows it.
	secret := strings.TrimSpace(mustRun("", "tokens", "create", "ci", "--expires-in-days", "7"))
	if !strings.HasPrefix(secret, "jct_") {
		t.Fatalf("tokens create printed %q", secret)
	}
	list := mustRun("", "tokens", "list")
	if !strings.Contains(list, "ci") || strings.Contains(list, secret) {
		t.Fatalf("tokens list:\n%s", list)
	}
	var tokens struct{ Tokens []api.Token }
	if err := json.Unmarshal([]byte(mustRun("", "tokens", "--json")), &tokens); err != nil || len(tokens.Tokens) != 2 {
		t.Fatalf("tokens --json: %+v %v", tokens, err)
	}
	mustRun("", "tokens", "revoke", fmt.Sprint(tokens.Tokens[0].ID))
	var out, errBuf bytes.Buffer
	if code := run(ctx, []string{"workspaces", "--server", base, "--token", secret}, strings.NewReader(""), &out, &errBuf); code != 1 ||
		!strings.Contains(errBuf.String(), "401") {
		t.Fatalf("revoked token: exit %d: %s", code, errBuf.String())
	}
}
