package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/junction-hub/junction/internal/flow"
)

// TestFlowScreenShowsEveryPart renders the flow screen for a definition with every part
// (lines with a parent field, value maps with auto-mapped pairs, on-success, write-back,
// deactivation) and checks each is shown readably.
func TestFlowScreenShowsEveryPart(t *testing.T) {
	c := New(http.NewServeMux(), Deps{})
	var def flow.Definition
	if err := json.Unmarshal([]byte(`{
		"name": "orders", "source": {"connection_id": 1, "entity": "orders"}, "target": {"connection_id": 2, "entity": "orders"},
		"trigger": "schedule", "schedule": "15m", "write_mode": "upsert", "priority": "newest",
		"condition": {"status_field": "status_id", "status_in": ["1", "2"], "keys": ["7"]},
		"fields": {
			"order_no": {"template": "SHOP-{{id}}"},
			"status_id": {"constant": 10},
			"currency_id": {"source": "currency", "values": {"map": {"PLN": "1"}, "auto": true, "auto_mapped": {"EUR": "2"}, "unmapped": "default", "default": "1"}}
		},
		"lines": [{"source_entity": "order_lines", "source_parent": "order_id", "target_entity": "order_lines",
			"fields": {"order_no": {"parent": "order_no"}, "line_no": {"source": "id"}}}],
		"on_success": {"status_id": 3},
		"write_back": [{"field": "status_id", "in": ["30"], "set": {"status_id": 4}}],
		"removal": {"policy": "deactivate", "set": {"active": false}}
	}`), &def); err != nil {
		t.Fatal(err)
	}
	p := flowPage{flowRow: flowRow{ID: 5, Name: def.Name, Trigger: def.Trigger, Schedule: def.Schedule,
		Source: sideView{ConnID: 1, Conn: "shop", Entity: "orders"}, Target: sideView{ConnID: 2, Entity: "orders"}},
		Def: def, Tab: "definition"}
	describeFlow(&p, def)
	var buf bytes.Buffer
	if err := c.pages["flow"].ExecuteTemplate(&buf, "layout", view{Title: def.Name, Data: p}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"status_id is one of 1, 2", "only the records 7", "upsert", "newest wins",
		"deactivate: set active = false", "set source status_id = 3",
		"when the target's <code>status_id</code> is one of 30, set the source's status_id = 4",
		"<code>PLN</code> → <code>1</code></li>", "<code>EUR</code> → <code>2</code> <span class=\"badge info\">auto</span>",
		"Unmapped: use <code>1</code>", "Lines: order_lines by order_id → order_lines", "parent's <code>order_no</code>",
		"<code>SHOP-{{id}}</code>", "connection #2 (deleted)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the flow screen lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(page)
	}
}

// TestFlowFormRoundTrip checks that a stored mapping shown in the form and posted back
// unchanged is the same mapping, and that typed constants keep their JSON type.
func TestFlowFormRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, typ, typed string
		want             string
	}{
		{"text stays text", "string", "10", `"10"`},
		{"a number is a number", "integer", "10", `10`},
		{"a decimal is a number", "decimal", "9.50", `9.50`},
		{"not a number stays text", "number", "ten", `"ten"`},
		{"boolean", "boolean", "true", `true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(typedJSON(tc.typed, tc.typ)); got != tc.want {
				t.Fatalf("typedJSON(%q, %s) = %s, want %s", tc.typed, tc.typ, got, tc.want)
			}
		})
	}
	m := flow.FieldMapping{Source: "payment", Default: json.RawMessage(`"card"`),
		Values: &flow.ValueMap{Map: map[string]string{"paypal": "3", "card": "1"}, Auto: true, Unmapped: "default", Default: json.RawMessage(`"1"`)}}
	row := rowOf("payment_id", m)
	row.Type = "string"
	got, ok := row.mapping()
	if !ok {
		t.Fatal("the row is not mapped")
	}
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Fatalf("round trip:\n got %s\nwant %s", b, a)
	}
}
