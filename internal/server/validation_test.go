package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/junction-hub/junction/internal/server/servertest"
)

// TestCreateRejectsBadInput: each bad create answers 422 naming the field, and stores nothing.
func TestCreateRejectsBadInput(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	pg := map[string]any{"host": "127.0.0.1", "port": 5432, "database": "x", "user": "u", "password": "topsecret-value"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range pg {
			m[key] = val
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no name", map[string]any{"driver": "sqlite", "credentials": map[string]any{"path": "/x"}}, "name"},
		{"no driver", map[string]any{"name": "n"}, "driver"},
		{"unknown driver", map[string]any{"name": "n", "driver": "oracle"}, "driver"},
		{"missing required", map[string]any{"name": "n", "driver": "postgres", "credentials": with("database", nil)}, "credentials.database"},
		{"port not a number", map[string]any{"name": "n", "driver": "postgres", "credentials": with("port", "abc")}, "credentials.port"},
		{"unknown field", map[string]any{"name": "n", "driver": "postgres", "credentials": with("colour", "red")}, "credentials.colour"},
		{"bad select option", map[string]any{"name": "n", "driver": "postgres", "credentials": pg, "settings": map[string]any{"tls_mode": "maybe"}}, "settings.tls_mode"},
		{"missing sqlite file", map[string]any{"name": "n", "driver": "sqlite", "credentials": map[string]any{"path": "/nonexistent/shop.db"}}, "credentials.path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p problem
			code := srv.Do(t, "POST", "/api/v1/connections", tt.body, &p)
			if code != http.StatusUnprocessableEntity || !p.names(tt.field) {
				t.Fatalf("%d %+v; want 422 naming %s", code, p, tt.field)
			}
			if strings.Contains(p.Detail+p.Title, "topsecret-value") {
				t.Fatal("the error echoes the password")
			}
		})
	}
	var list struct {
		Connections []conn `json:"connections"`
	}
	srv.Do(t, "GET", "/api/v1/connections", nil, &list)
	if len(list.Connections) != 0 {
		t.Fatalf("bad input stored %d connections", len(list.Connections))
	}
}
