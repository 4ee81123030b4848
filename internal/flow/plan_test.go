package flow

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

// TestDecide covers what a run plans for one record, from its link and the definition.
func TestDecide(t *testing.T) {
	base := Definition{
		WriteMode: ModeCreate, Priority: PrioritySource, Removal: Removal{Policy: RemoveNothing},
		Condition: Condition{StatusField: "status", StatusIn: []string{"new"}},
		Fields: map[string]FieldMapping{
			"no":    {Template: "S-{{id}}"},
			"title": {Source: "name"},
		},
	}
	rec := `{"id": 7, "status": "new", "name": "Mug"}`
	linked := &store.Link{State: store.LinkLinked, TargetKey: "S-7", SourceHash: "old", Written: `{"no":"S-7","title":"Mug"}`}
	tests := []struct {
		name   string
		change func(d *Definition)
		fields string
		state  string
		hash   string
		link   *store.Link
		force  bool
		action string
		op     driver.WriteOp
		reason string
	}{
		{name: "new record is created", action: "create", op: driver.OpCreate},
		{name: "condition leaves it out", fields: `{"id": 7, "status": "done", "name": "Mug"}`, action: "skip", reason: `status is "done"`},
		{name: "created once in create mode", link: linked, action: "skip", reason: "already created as S-7"},
		{name: "unchanged since written", link: linked, hash: "old", change: func(d *Definition) { d.WriteMode = ModeUpsert },
			action: "skip", reason: "unchanged"},
		{name: "chosen records go even unchanged", link: linked, hash: "old", force: true, change: func(d *Definition) { d.WriteMode = ModeUpsert },
			action: "update", op: driver.OpUpdate},
		{name: "changed record is updated in upsert mode", link: linked, change: func(d *Definition) { d.WriteMode = ModeUpsert },
			action: "update", op: driver.OpUpdate},
		{name: "new record in upsert mode", change: func(d *Definition) { d.WriteMode = ModeUpsert }, action: "upsert", op: driver.OpUpsert},
		{name: "update mode only updates", change: func(d *Definition) { d.WriteMode = ModeUpdate }, action: "update", op: driver.OpUpdate},
		{name: "a pending write is redone by key, never created again", link: &store.Link{State: store.LinkPending},
			action: "upsert", op: driver.OpUpsert, reason: "may have landed"},
		{name: "gone and never written", state: store.RecordGone, action: "skip", reason: "never written"},
		{name: "gone, policy nothing", state: store.RecordGone, link: linked, action: "unlink"},
		{name: "gone, policy delete", state: store.RecordGone, link: linked, change: func(d *Definition) { d.Removal.Policy = RemoveDelete },
			action: "delete", op: driver.OpDelete},
		{name: "gone, policy deactivate", state: store.RecordGone, link: linked,
			change: func(d *Definition) {
				d.Removal = Removal{Policy: RemoveDeactivate, Set: map[string]any{"active": false}}
			},
			action: "deactivate", op: driver.OpUpdate},
		{name: "unmapped value fails", change: func(d *Definition) {
			d.Fields["title"] = FieldMapping{Source: "name", Values: &ValueMap{Map: map[string]string{"Cup": "1"}, Unmapped: UnmappedFail}}
		}, action: "fail", reason: `title: no mapping for the value "Mug" of name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := base
			def.Fields = map[string]FieldMapping{}
			for k, v := range base.Fields {
				def.Fields[k] = v
			}
			if tt.change != nil {
				tt.change(&def)
			}
			r := &run{def: def, keyMapped: true}
			it := Item{Key: "7", link: tt.link, cand: store.Candidate{Key: "7", Fields: or(tt.fields, rec), Hash: or(tt.hash, "new"),
				State: or(tt.state, store.RecordLive)}}
			if tt.link != nil {
				it.TargetKey = tt.link.TargetKey
			}
			r.decide(&it, tt.force, nil, nil)
			if it.Action != tt.action || it.op != tt.op || !strings.Contains(it.Reason, tt.reason) {
				t.Fatalf("planned %s/%s %q, want %s/%s containing %q", it.Action, it.op, it.Reason, tt.action, tt.op, tt.reason)
			}
			if it.op == driver.OpCreate || it.op == driver.OpUpsert {
				if it.Fields["no"] != "S-7" || it.Fields["title"] != "Mug" {
					t.Fatalf("mapped %v", it.Fields)
				}
			}
		})
	}
}

// TestDecideArrayLines maps lines kept as an array field on both sides.
func TestDecideArrayLines(t *testing.T) {
	def := Definition{WriteMode: ModeCreate, Priority: PrioritySource,
		Fields: map[string]FieldMapping{"no": {Template: "S-{{id}}"}},
		Lines: []LineMapping{{SourceField: "items", TargetField: "positions", Fields: map[string]FieldMapping{
			"order": {Parent: "no"}, "sku": {Source: "sku"},
			"unit": {Source: "unit", Values: &ValueMap{Map: map[string]string{"pcs": "PCE"}, Unmapped: UnmappedFail}},
		}}},
	}
	r := &run{def: def, keyMapped: true}
	it := Item{Key: "7", cand: store.Candidate{Key: "7", State: store.RecordLive,
		Fields: `{"id": 7, "items": [{"sku": "A", "unit": "pcs"}, {"sku": "B", "unit": "pcs"}]}`}}
	r.decide(&it, false, make([]map[string][]store.Candidate, 1), nil)
	got, _ := json.Marshal(it.Fields["positions"])
	if it.Action != "create" || string(got) != `[{"order":"S-7","sku":"A","unit":"PCE"},{"order":"S-7","sku":"B","unit":"PCE"}]` {
		t.Fatalf("planned %s %q: positions %s", it.Action, it.Reason, got)
	}
	it = Item{Key: "8", cand: store.Candidate{Key: "8", State: store.RecordLive,
		Fields: `{"id": 8, "items": [{"sku": "A", "unit": "pcs"}, {"sku": "C", "unit": "kg"}]}`}}
	r.decide(&it, false, make([]map[string][]store.Candidate, 1), nil)
	if it.Action != "fail" || it.Reason != `line 2: unit: no mapping for the value "kg" of unit` {
		t.Fatalf("a bad second line: %s %q", it.Action, it.Reason)
	}
}

// TestPriority leaves out of an update what the target changed since the flow wrote it,
// when the target wins.
func TestPriority(t *testing.T) {
	written := `{"title": "Mug", "price": "5.00"}`
	target := `{"title": "Mug (ERP)", "price": "5.00"}`
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		priority      string
		sourceUpdated time.Time
		want          string
	}{
		{PrioritySource, t0, `{"price":"6.00","title":"Mug v2"}`},
		{PriorityTarget, t0.Add(time.Hour), `{"price":"6.00"}`},
		{PriorityNewest, t0.Add(time.Hour), `{"price":"6.00","title":"Mug v2"}`}, // the source changed last
		{PriorityNewest, t0.Add(-time.Hour), `{"price":"6.00"}`},                 // the target changed last
	} {
		r := &run{def: Definition{Priority: tt.priority}}
		it := Item{link: &store.Link{TargetKey: "T", Written: written}, cand: store.Candidate{UpdatedAt: tt.sourceUpdated}}
		fields := map[string]any{"title": "Mug v2", "price": "6.00"}
		if tt.priority != PrioritySource {
			r.applyPriority(&it, fields, map[string]store.Candidate{"T": {Key: "T", Fields: target, UpdatedAt: t0}})
		}
		if got, _ := json.Marshal(fields); string(got) != tt.want {
			t.Errorf("priority %s, source changed %s: sent %s, want %s", tt.priority, tt.sourceUpdated.Format(time.Kitchen), got, tt.want)
		}
	}
}
