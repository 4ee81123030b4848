package syncer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/junction-hub/junction/internal/driver"
)

func TestDiffCatalogs(t *testing.T) {
	base := func() *driver.Catalog {
		return &driver.Catalog{
			Entities: []driver.Entity{
				{Name: "orders", Key: []string{"id"}, Cursor: "updated_at", Attributes: []driver.Attribute{
					{Name: "id", Type: "integer", Key: true}, {Name: "status", Type: "string", ValueList: "status"},
					{Name: "updated_at", Type: "datetime"}},
					AttributeSets: []driver.AttributeSet{{Name: "basic", Attributes: []string{"id", "status"}}}},
				{Name: "items", Key: []string{"id"}, Attributes: []driver.Attribute{{Name: "id", Type: "integer", Key: true}}},
			},
			ValueLists: []driver.ValueList{{Name: "status", Values: []driver.Value{{ID: "1", Name: "new"}, {ID: "2", Name: "paid"}}}},
		}
	}
	tests := []struct {
		name   string
		change func(c *driver.Catalog)
		want   []string
	}{
		{"nothing", func(c *driver.Catalog) {}, nil},
		{"entity added and removed", func(c *driver.Catalog) {
			c.Entities[1] = driver.Entity{Name: "customers", Key: []string{"id"}}
		}, []string{"entity_added customers  0 attributes", "entity_removed items  "}},
		{"attributes", func(c *driver.Catalog) {
			c.Entities[0].Attributes[1].Type = "integer"
			c.Entities[0].Attributes[1].Required = true
			c.Entities[0].Attributes = append(c.Entities[0].Attributes[:2], driver.Attribute{Name: "total", Type: "decimal"})
		}, []string{`attribute_changed orders status type string → integer; required false → true`,
			"attribute_added orders total decimal", "attribute_removed orders updated_at datetime"}},
		{"key and cursor", func(c *driver.Catalog) {
			c.Entities[0].Key = []string{"no"}
			c.Entities[0].Cursor = ""
		}, []string{"key_changed orders  [id] → [no]", `cursor_changed orders  "updated_at" → ""`}},
		{"attribute set", func(c *driver.Catalog) {
			c.Entities[0].AttributeSets[0].Attributes = []string{"id"}
		}, []string{"attribute_set_changed orders basic id"}},
		{"value lists", func(c *driver.Catalog) {
			c.ValueLists[0].Values = []driver.Value{{ID: "1", Name: "New"}, {ID: "3", Name: "shipped"}}
			c.ValueLists = append(c.ValueLists, driver.ValueList{Name: "currency"})
		}, []string{`value_list_changed  status added 3; removed 2; renamed 1: "new" → "New"`, "value_list_added  currency 0 values"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := base()
			tt.change(cur)
			var got []string
			for _, c := range DiffCatalogs(base(), cur) {
				got = append(got, fmt.Sprintf("%s %s %s %s", c.Kind, c.Entity, c.Name, c.Detail))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	if DiffCatalogs(nil, base()) != nil {
		t.Fatal("the first discovery is reported as changes")
	}
}
