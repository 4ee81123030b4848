package syncer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

// Kinds of catalog change, as the change history shows them.
const (
	EntityAdded      = "entity_added"
	EntityRemoved    = "entity_removed"
	KeyChanged       = "key_changed"
	CursorChanged    = "cursor_changed"
	AttributeAdded   = "attribute_added"
	AttributeRemoved = "attribute_removed"
	AttributeChanged = "attribute_changed"
	SetChanged       = "attribute_set_changed"
	ValueListAdded   = "value_list_added"
	ValueListRemoved = "value_list_removed"
	ValueListChanged = "value_list_changed"
)

// DiffCatalogs lists what changed from old to new, in a stable order. A nil old catalog
// (the first discovery) is no change: everything is simply there.
func DiffCatalogs(old, cur *driver.Catalog) []store.CatalogChange {
	if old == nil {
		return nil
	}
	var out []store.CatalogChange
	add := func(kind, entity, name, detail string) {
		out = append(out, store.CatalogChange{Kind: kind, Entity: entity, Name: name, Detail: detail})
	}
	oldEntities := byName(old.Entities, func(e driver.Entity) string { return e.Name })
	for _, e := range cur.Entities {
		was, ok := oldEntities[e.Name]
		if !ok {
			add(EntityAdded, e.Name, "", fmt.Sprintf("%d attributes", len(e.Attributes)))
			continue
		}
		if !slices.Equal(was.Key, e.Key) {
			add(KeyChanged, e.Name, "", fmt.Sprintf("[%s] → [%s]", strings.Join(was.Key, ", "), strings.Join(e.Key, ", ")))
		}
		if was.Cursor != e.Cursor {
			add(CursorChanged, e.Name, "", fmt.Sprintf("%q → %q", was.Cursor, e.Cursor))
		}
		oldAttrs := byName(was.Attributes, func(a driver.Attribute) string { return a.Name })
		for _, a := range e.Attributes {
			prev, ok := oldAttrs[a.Name]
			if !ok {
				add(AttributeAdded, e.Name, a.Name, a.Type)
			} else if d := attributeDiff(prev, a); d != "" {
				add(AttributeChanged, e.Name, a.Name, d)
			}
			delete(oldAttrs, a.Name)
		}
		for _, a := range was.Attributes {
			if _, gone := oldAttrs[a.Name]; gone {
				add(AttributeRemoved, e.Name, a.Name, a.Type)
			}
		}
		oldSets := byName(was.AttributeSets, func(s driver.AttributeSet) string { return s.Name })
		for _, s := range e.AttributeSets {
			if prev, ok := oldSets[s.Name]; !ok || !slices.Equal(prev.Attributes, s.Attributes) {
				add(SetChanged, e.Name, s.Name, strings.Join(s.Attributes, ", "))
			}
			delete(oldSets, s.Name)
		}
		for _, s := range was.AttributeSets {
			if _, gone := oldSets[s.Name]; gone {
				add(SetChanged, e.Name, s.Name, "removed")
			}
		}
		delete(oldEntities, e.Name)
	}
	for _, e := range old.Entities {
		if _, gone := oldEntities[e.Name]; gone {
			add(EntityRemoved, e.Name, "", "")
		}
	}
	oldLists := byName(old.ValueLists, func(l driver.ValueList) string { return l.Name })
	for _, l := range cur.ValueLists {
		prev, ok := oldLists[l.Name]
		if !ok {
			add(ValueListAdded, "", l.Name, fmt.Sprintf("%d values", len(l.Values)))
		} else if d := valuesDiff(prev.Values, l.Values); d != "" {
			add(ValueListChanged, "", l.Name, d)
		}
		delete(oldLists, l.Name)
	}
	for _, l := range old.ValueLists {
		if _, gone := oldLists[l.Name]; gone {
			add(ValueListRemoved, "", l.Name, "")
		}
	}
	return out
}

func attributeDiff(a, b driver.Attribute) string {
	var d []string
	if a.Type != b.Type {
		d = append(d, fmt.Sprintf("type %s → %s", a.Type, b.Type))
	}
	if a.Required != b.Required {
		d = append(d, fmt.Sprintf("required %v → %v", a.Required, b.Required))
	}
	if a.Key != b.Key {
		d = append(d, fmt.Sprintf("key %v → %v", a.Key, b.Key))
	}
	if a.ValueList != b.ValueList {
		d = append(d, fmt.Sprintf("value list %q → %q", a.ValueList, b.ValueList))
	}
	if a.Reference != b.Reference {
		d = append(d, fmt.Sprintf("reference %q → %q", a.Reference, b.Reference))
	}
	return strings.Join(d, "; ")
}

func valuesDiff(old, cur []driver.Value) string {
	was := byName(old, func(v driver.Value) string { return v.ID })
	var added, renamed []string
	for _, v := range cur {
		if p, ok := was[v.ID]; !ok {
			added = append(added, v.ID)
		} else if p.Name != v.Name {
			renamed = append(renamed, fmt.Sprintf("%s: %q → %q", v.ID, p.Name, v.Name))
		}
		delete(was, v.ID)
	}
	var removed []string
	for _, v := range old {
		if _, gone := was[v.ID]; gone {
			removed = append(removed, v.ID)
		}
	}
	var d []string
	if len(added) > 0 {
		d = append(d, "added "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		d = append(d, "removed "+strings.Join(removed, ", "))
	}
	if len(renamed) > 0 {
		d = append(d, "renamed "+strings.Join(renamed, ", "))
	}
	return strings.Join(d, "; ")
}

func byName[T any](items []T, name func(T) string) map[string]T {
	m := make(map[string]T, len(items))
	for _, it := range items {
		m[name(it)] = it
	}
	return m
}
