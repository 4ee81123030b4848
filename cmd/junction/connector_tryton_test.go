package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/junction-hub/junction/internal/drivers/tryton/trytontest"
)

// TestConnectorServeTryton serves the tryton driver with `junction connector serve
// --driver tryton` against a real Tryton and runs `junction connector test` on it: every
// row of the kit passes.
func TestConnectorServeTryton(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	var ids []int64
	if err := c.Call(t.Context(), "model.party.party.create", &ids, []any{
		map[string]any{"name": "A"}, map[string]any{"name": "B"}, map[string]any{"name": "C"}, map[string]any{"name": "D"},
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := in.Credentials()
	bad["password"] = "wrong-password"
	good := file("good.json", in.Credentials())
	badFile := file("bad.json", bad)
	settings := file("settings.json", map[string]any{"models": "party.party,sale.sale"})
	write := file("write.json", map[string]any{"key": strconv.FormatInt(ids[1], 10), "fields": map[string]any{"name": "written by the kit"}})

	url := serveConnector(t, "tryton")

	var out bytes.Buffer
	code := run(context.Background(), []string{"connector", "test", url, "--token", "tk",
		"--credentials", good, "--bad-credentials", badFile, "--settings", settings,
		"--entity", "party.party", "--write", write}, nil, &out, &out)
	if code != 0 || !strings.Contains(out.String(), "checks passed") || strings.Contains(out.String(), "skip") {
		t.Fatalf("kit exit %d:\n%s", code, out.String())
	}
	if strings.Contains(out.String(), "wrong-password") || strings.Contains(out.String(), trytontest.AdminPassword) {
		t.Fatalf("the kit's output shows a password:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}
