package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/junction-hub/junction/internal/driver"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestMapFields(t *testing.T) {
	rec, err := decodeFields(`{"id": 7, "first_name": "Anna", "last_name": "Nowak", "middle": null, "currency": "EUR",
		"payment": "paypal", "price": 12.50, "note": "", "vat": "23.00"}`)
	if err != nil {
		t.Fatal(err)
	}
	parent := map[string]any{"order_no": "SHOP-7"}
	tests := []struct {
		name    string
		field   FieldMapping
		want    any
		wantErr string
	}{
		{"source", FieldMapping{Source: "first_name"}, "Anna", ""},
		{"source keeps numbers exact", FieldMapping{Source: "price"}, json.Number("12.50"), ""},
		{"absent source is null", FieldMapping{Source: "nope"}, nil, ""},
		{"constant number", FieldMapping{Constant: raw(`10`)}, json.Number("10"), ""},
		{"constant text", FieldMapping{Constant: raw(`"to produce"`)}, "to produce", ""},
		{"template", FieldMapping{Template: "{{first_name}} {{last_name}}"}, "Anna Nowak", ""},
		{"template with a null field", FieldMapping{Template: "{{first_name}} {{middle}}"}, "Anna", ""},
		{"template with a number", FieldMapping{Template: "SHOP-{{id}}"}, "SHOP-7", ""},
		{"parent field", FieldMapping{Parent: "order_no"}, "SHOP-7", ""},
		{"default for empty text", FieldMapping{Source: "note", Default: raw(`"(none)"`)}, "(none)", ""},
		{"default for null", FieldMapping{Source: "middle", Default: raw(`"-"`)}, "-", ""},
		{"default not used when set", FieldMapping{Source: "first_name", Default: raw(`"-"`)}, "Anna", ""},
		{"value map", FieldMapping{Source: "currency", Values: &ValueMap{Map: map[string]string{"PLN": "1", "EUR": "2"}}}, "2", ""},
		{"value map of a number", FieldMapping{Source: "id", Values: &ValueMap{Map: map[string]string{"7": "seven"}}}, "seven", ""},
		{"value map of a decimal", FieldMapping{Source: "vat", Values: &ValueMap{Map: map[string]string{"23.00": "1"}}}, "1", ""},
		{"auto-mapped value", FieldMapping{Source: "currency", Values: &ValueMap{AutoMapped: map[string]string{"EUR": "978"}}}, "978", ""},
		{"explicit wins over auto", FieldMapping{Source: "currency",
			Values: &ValueMap{Map: map[string]string{"EUR": "2"}, AutoMapped: map[string]string{"EUR": "978"}}}, "2", ""},
		{"unmapped fails with the reason", FieldMapping{Source: "payment", Values: &ValueMap{Map: map[string]string{"card": "1"}, Unmapped: UnmappedFail}},
			nil, `payment_method_id: no mapping for the value "paypal" of payment`},
		{"unmapped uses the default", FieldMapping{Source: "payment",
			Values: &ValueMap{Map: map[string]string{"card": "1"}, Unmapped: UnmappedDefault, Default: raw(`"9"`)}}, "9", ""},
		{"null is not looked up", FieldMapping{Source: "middle", Values: &ValueMap{Map: map[string]string{"x": "1"}}}, nil, ""},
		{"default then value map", FieldMapping{Source: "note", Default: raw(`"PLN"`), Values: &ValueMap{Map: map[string]string{"PLN": "1"}}}, "1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MapFields(map[string]FieldMapping{"payment_method_id": tt.field}, rec, parent)
			if tt.wantErr != "" {
				var me *MappingError
				if !errors.As(err, &me) || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%#v", got["payment_method_id"]) != fmt.Sprintf("%#v", tt.want) {
				t.Fatalf("got %#v, want %#v", got["payment_method_id"], tt.want)
			}
		})
	}
}

func TestConditionMatch(t *testing.T) {
	rec, _ := decodeFields(`{"status_id": 1, "total": 99.5, "country": "PL", "note": "", "tags": "gift,express"}`)
	tests := []struct {
		name string
		cond Condition
		key  string
		want bool
		why  string
	}{
		{"empty condition", Condition{}, "1", true, ""},
		{"status in the set", Condition{StatusField: "status_id", StatusIn: []string{"1", "5"}}, "1", true, ""},
		{"status not in the set", Condition{StatusField: "status_id", StatusIn: []string{"2"}}, "1", false, `status_id is "1", not one of "2"`},
		{"selection includes", Condition{Keys: []string{"1", "2"}}, "2", true, ""},
		{"selection excludes", Condition{Keys: []string{"1", "2"}}, "3", false, "not in the flow's selection of records"},
		{"gt as numbers", Condition{Where: []Predicate{{Field: "total", Op: "gt", Value: 100.0}}}, "1", false, `total is "99.5": not gt 100`},
		{"lte as numbers", Condition{Where: []Predicate{{Field: "total", Op: "lte", Value: 99.5}}}, "1", true, ""},
		{"eq text", Condition{Where: []Predicate{{Field: "country", Op: "eq", Value: "PL"}}}, "1", true, ""},
		{"ne text", Condition{Where: []Predicate{{Field: "country", Op: "ne", Value: "PL"}}}, "1", false, `country is "PL": not ne PL`},
		{"in", Condition{Where: []Predicate{{Field: "country", Op: "in", Value: []any{"DE", "PL"}}}}, "1", true, ""},
		{"not_in", Condition{Where: []Predicate{{Field: "country", Op: "not_in", Value: []any{"DE", "PL"}}}}, "1", false, `country is "PL": not not_in ["DE","PL"]`},
		{"empty", Condition{Where: []Predicate{{Field: "note", Op: "empty"}}}, "1", true, ""},
		{"not_empty of absent", Condition{Where: []Predicate{{Field: "absent", Op: "not_empty"}}}, "1", false, `absent is "": not not_empty `},
		{"contains", Condition{Where: []Predicate{{Field: "tags", Op: "contains", Value: "express"}}}, "1", true, ""},
		{"all must hold", Condition{StatusField: "status_id", StatusIn: []string{"1"},
			Where: []Predicate{{Field: "country", Op: "eq", Value: "DE"}}}, "1", false, `country is "PL": not eq DE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := tt.cond.Match(tt.key, rec)
			if got != tt.want || why != tt.why {
				t.Fatalf("Match = %v %q, want %v %q", got, why, tt.want, tt.why)
			}
		})
	}
}

// catalogs of a shop and a production system, as the SQL drivers discover them.
func testCatalogs() Catalogs {
	return Catalogs{
		Source: &driver.Catalog{
			Entities: []driver.Entity{
				{Name: "orders", Key: []string{"id"}, Attributes: []driver.Attribute{
					{Name: "id", Type: driver.AttrInteger, Key: true}, {Name: "status_id", Type: driver.AttrInteger},
					{Name: "first_name"}, {Name: "last_name"}, {Name: "currency", ValueList: "currency"},
					{Name: "payment_method"}, {Name: "items", Type: driver.AttrJSON}}},
				{Name: "order_lines", Key: []string{"id"}, Attributes: []driver.Attribute{
					{Name: "id", Key: true}, {Name: "order_id", Reference: "orders"}, {Name: "unit", ValueList: "line_unit"}, {Name: "sku"}}},
			},
			ValueLists: []driver.ValueList{
				{Name: "currency", Values: []driver.Value{{ID: "PLN", Name: "PLN"}, {ID: "EUR", Name: "EUR"}, {ID: "CHF", Name: "CHF"}}},
				{Name: "line_unit", Values: []driver.Value{{ID: "pcs", Name: "pcs"}, {ID: "kg", Name: "kg"}}},
			},
		},
		Target: &driver.Catalog{
			Entities: []driver.Entity{
				{Name: "orders", Key: []string{"order_no"}, Attributes: []driver.Attribute{
					{Name: "order_no", Key: true}, {Name: "status_id"}, {Name: "customer"}, {Name: "currency_id", ValueList: "currencies"},
					{Name: "payment_method_id"}, {Name: "active"}, {Name: "lines", Type: driver.AttrJSON}}},
				{Name: "order_lines", Key: []string{"order_no", "line_no"}, Attributes: []driver.Attribute{
					{Name: "order_no", Key: true}, {Name: "line_no", Key: true}, {Name: "unit", ValueList: "units"}, {Name: "sku"}}},
			},
			ValueLists: []driver.ValueList{
				{Name: "currencies", Values: []driver.Value{{ID: "1", Name: "pln"}, {ID: "2", Name: " EUR "}}},
				{Name: "units", Values: []driver.Value{{ID: "pcs", Name: "pcs"}, {ID: "kg", Name: "kg"}}},
			},
		},
		SourceWrites: true, TargetWrites: true,
	}
}

func goodDefinition() Definition {
	return Definition{
		Name:      "orders",
		Source:    Side{ConnectionID: 1, Entity: "orders"},
		Target:    Side{ConnectionID: 2, Entity: "orders"},
		Condition: Condition{StatusField: "status_id", StatusIn: []string{"1"}},
		Fields: map[string]FieldMapping{
			"order_no":          {Template: "SHOP-{{id}}"},
			"status_id":         {Constant: raw(`10`)},
			"customer":          {Template: "{{first_name}} {{last_name}}"},
			"currency_id":       {Source: "currency", Values: &ValueMap{Auto: true, Map: map[string]string{"CHF": "3"}}},
			"payment_method_id": {Source: "payment_method", Values: &ValueMap{Map: map[string]string{"card": "1"}}},
		},
		Lines: []LineMapping{{SourceEntity: "order_lines", SourceParent: "order_id", TargetEntity: "order_lines",
			Fields: map[string]FieldMapping{"order_no": {Parent: "order_no"}, "line_no": {Source: "id"},
				"unit": {Source: "unit", Values: &ValueMap{Auto: true}}, "sku": {Source: "sku"}}}},
		OnSuccess: map[string]any{"status_id": 3},
		WriteBack: []WriteBackRule{{Field: "status_id", In: []string{"30"}, Set: map[string]any{"status_id": 4}}},
	}
}

func TestCompileFillsDefaultsAndAutoMaps(t *testing.T) {
	def, err := Compile(goodDefinition(), testCatalogs())
	if err != nil {
		t.Fatal(err)
	}
	if def.Trigger != TriggerAutomatic || def.WriteMode != ModeCreate || def.Removal.Policy != RemoveNothing || def.Priority != PrioritySource {
		t.Fatalf("defaults: %+v", def)
	}
	// Names compare without case and surrounding spaces; an explicitly mapped id is left out.
	if got := def.Fields["currency_id"].Values.AutoMapped; len(got) != 2 || got["PLN"] != "1" || got["EUR"] != "2" {
		t.Fatalf("auto-mapped currencies = %v", got)
	}
	if def.Fields["currency_id"].Values.Unmapped != UnmappedFail {
		t.Fatalf("unmapped policy defaults to fail: %+v", def.Fields["currency_id"].Values)
	}
	if got := def.Lines[0].Fields["unit"].Values.AutoMapped; got["pcs"] != "pcs" || got["kg"] != "kg" {
		t.Fatalf("auto-mapped units = %v", got)
	}
}

func TestCompileNamesEveryWrongField(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *Definition, c *Catalogs)
		fields []string
	}{
		{"no name", func(d *Definition, _ *Catalogs) { d.Name = " " }, []string{"name"}},
		{"unknown source entity", func(d *Definition, _ *Catalogs) { d.Source.Entity = "invoices" }, []string{"source.entity"}},
		{"target without catalog", func(_ *Definition, c *Catalogs) { c.Target = nil }, []string{"target.connection_id"}},
		{"target cannot write", func(_ *Definition, c *Catalogs) { c.TargetWrites = false }, []string{"target.connection_id"}},
		{"unknown target attribute", func(d *Definition, _ *Catalogs) { d.Fields["colour"] = FieldMapping{Source: "id"} }, []string{"fields.colour"}},
		{"unknown source attribute", func(d *Definition, _ *Catalogs) { d.Fields["customer"] = FieldMapping{Source: "name"} },
			[]string{"fields.customer.source"}},
		{"unknown template placeholder", func(d *Definition, _ *Catalogs) {
			d.Fields["customer"] = FieldMapping{Template: "{{first_name}} {{middle_name}}"}
		}, []string{"fields.customer.template"}},
		{"two sources", func(d *Definition, _ *Catalogs) {
			d.Fields["customer"] = FieldMapping{Source: "first_name", Constant: raw(`"x"`)}
		},
			[]string{"fields.customer"}},
		{"bad constant", func(d *Definition, _ *Catalogs) { d.Fields["status_id"] = FieldMapping{Constant: raw(`{nope`)} },
			[]string{"fields.status_id.constant"}},
		{"key not mapped", func(d *Definition, _ *Catalogs) { delete(d.Fields, "order_no") }, []string{"fields"}},
		{"auto without a target list", func(d *Definition, _ *Catalogs) {
			d.Fields["payment_method_id"] = FieldMapping{Source: "payment_method", Values: &ValueMap{Auto: true}}
		}, []string{"fields.payment_method_id.values.auto"}},
		{"unmapped default without default", func(d *Definition, _ *Catalogs) {
			d.Fields["payment_method_id"] = FieldMapping{Source: "payment_method", Values: &ValueMap{Map: map[string]string{"a": "1"}, Unmapped: UnmappedDefault}}
		}, []string{"fields.payment_method_id.values.default"}},
		{"parent outside lines", func(d *Definition, _ *Catalogs) { d.Fields["customer"] = FieldMapping{Parent: "x"} },
			[]string{"fields.customer.parent"}},
		{"bad write mode", func(d *Definition, _ *Catalogs) { d.WriteMode = "merge" }, []string{"write_mode"}},
		{"schedule without trigger schedule", func(d *Definition, _ *Catalogs) { d.Schedule = "15m" }, []string{"schedule"}},
		{"trigger schedule without schedule", func(d *Definition, _ *Catalogs) { d.Trigger = TriggerSchedule }, []string{"schedule"}},
		{"bad trigger", func(d *Definition, _ *Catalogs) { d.Trigger = "hourly" }, []string{"trigger"}},
		{"status field unknown", func(d *Definition, _ *Catalogs) { d.Condition.StatusField = "state" }, []string{"condition.status_field"}},
		{"bad predicate", func(d *Definition, _ *Catalogs) {
			d.Condition.Where = []Predicate{{Field: "total", Op: "like"}}
		}, []string{"condition.where[0].field", "condition.where[0].op"}},
		{"line key not mapped", func(d *Definition, _ *Catalogs) { delete(d.Lines[0].Fields, "line_no") }, []string{"lines[0].fields"}},
		{"line parent unknown", func(d *Definition, _ *Catalogs) { d.Lines[0].SourceParent = "order" }, []string{"lines[0].source_parent"}},
		{"line without source", func(d *Definition, _ *Catalogs) { d.Lines[0].SourceEntity = "" }, []string{"lines[0].source_entity"}},
		{"on-success on unknown field", func(d *Definition, _ *Catalogs) { d.OnSuccess = map[string]any{"state": 3} }, []string{"on_success.state"}},
		{"source cannot write back", func(_ *Definition, c *Catalogs) { c.SourceWrites = false }, []string{"on_success", "write_back[0]"}},
		{"write-back on unknown target field", func(d *Definition, _ *Catalogs) { d.WriteBack[0].Field = "state" }, []string{"write_back[0].field"}},
		{"deactivate without fields", func(d *Definition, _ *Catalogs) { d.Removal.Policy = RemoveDeactivate }, []string{"removal.set"}},
		{"deactivate unknown field", func(d *Definition, _ *Catalogs) {
			d.Removal = Removal{Policy: RemoveDeactivate, Set: map[string]any{"enabled": false}}
		}, []string{"removal.set.enabled"}},
		{"bad removal", func(d *Definition, _ *Catalogs) { d.Removal.Policy = "archive" }, []string{"removal.policy"}},
		{"bad priority", func(d *Definition, _ *Catalogs) { d.Priority = "oldest" }, []string{"priority"}},
		// A target that makes its own keys cannot take lines in a separate entity: their
		// parent's key is unknown before the write.
		{"reference with entity lines", func(d *Definition, _ *Catalogs) {
			d.Fields["customer"] = FieldMapping{Template: "SHOP-{{id}}"}
			d.Reference = "customer"
			delete(d.Fields, "order_no")
		}, []string{"reference"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, cats := goodDefinition(), testCatalogs()
			tt.change(&def, &cats)
			_, err := Compile(def, cats)
			var fe driver.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want field errors", err)
			}
			var got []string
			for _, e := range fe {
				got = append(got, e.Field)
			}
			for _, want := range tt.fields {
				if !slices.Contains(got, want) {
					t.Fatalf("errors name %v, want %s among them: %v", got, want, err)
				}
			}
			if len(got) != len(tt.fields) {
				t.Fatalf("errors name %v, want exactly %v: %v", got, tt.fields, err)
			}
		})
	}
}

func TestRender(t *testing.T) {
	rec := map[string]any{"a": "x", "n": json.Number("3"), "b": true}
	for tmpl, want := range map[string]string{
		"{{a}}-{{n}}":         "x-3",
		"{{ a }} and {{b}}":   "x and true",
		"  {{missing}} {{a}}": "x",
		"plain":               "plain",
	} {
		if got := Render(tmpl, rec); got != want {
			t.Errorf("Render(%q) = %q, want %q", tmpl, got, want)
		}
	}
	if strings.Contains(Render("{{a}}", nil), "{{") {
		t.Error("a missing record leaves placeholders")
	}
}
