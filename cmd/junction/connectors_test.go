package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/connections"
	"github.com/junction-hub/junction/internal/driver"
)

func TestConnectorsCommands(t *testing.T) {
	csv := api.Connector{Name: "csv", URL: "http://127.0.0.1:8091", FetchedAt: t0,
		Spec: driver.Spec{Name: "csv", Label: "CSV folder", Capabilities: driver.Capabilities{Read: true}}}
	f, server := newFakeAPI(t, map[string]func(*http.Request) (int, any){
		"GET /api/v1/connectors":  answer(200, map[string]any{"connectors": []api.Connector{csv}}),
		"POST /api/v1/connectors": answer(201, csv),
		"POST /api/v1/connectors/csv/refresh": answer(200, api.ConnectorRefresh{Connector: csv,
			Connections: []connections.Revalidation{{ConnectionID: 7, Name: "files", Message: "credentials.region: is required"}}}),
		"DELETE /api/v1/connectors/csv": answer(204, nil),
	})
	if code, out, errOut := runCLI(t, server, "", "connectors", "list"); code != 0 || !strings.Contains(out, "csv") || !strings.Contains(out, "http://127.0.0.1:8091") {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, server, "Bearer s3cret\n", "connectors", "add", "--auth-header", "-", "csv", "http://127.0.0.1:8091"); code != 0 || !strings.Contains(out, "--driver csv") {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	var sent api.ConnectorInput
	if err := json.Unmarshal(f.bodies["POST /api/v1/connectors"], &sent); err != nil || sent.AuthHeader != "Bearer s3cret" || sent.Name != "csv" {
		t.Fatalf("add sent %+v, %v", sent, err)
	}
	if code, out, _ := runCLI(t, server, "", "connectors", "refresh", "csv"); code != 1 || !strings.Contains(out, "credentials.region") {
		t.Fatalf("refresh with a failing connection: %d %q, want exit 1 naming the field", code, out)
	}
	if code, out, errOut := runCLI(t, server, "", "connectors", "remove", "csv"); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %d %q %q", code, out, errOut)
	}
	if code, _, _ := runCLI(t, server, "", "connectors", "add", "csv"); code != 2 {
		t.Fatalf("add without URL: exit %d, want 2", code)
	}
}
