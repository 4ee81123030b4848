package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// MappingError is why a record cannot be mapped (an unmapped value, say). The record
// fails with it as the reason; the rest of the run goes on.
type MappingError struct {
	Field  string // the target attribute
	Reason string
}

func (e *MappingError) Error() string { return e.Field + ": " + e.Reason }

// decodeFields reads a record's JSON fields keeping numbers exact.
func decodeFields(doc string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode record fields: %w", err)
	}
	return out, nil
}

func decodeRaw(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v)
	return v
}

// MapFields applies a field map to one source record. parent is the parent's mapped
// output, for lines (nil otherwise).
func MapFields(fields map[string]FieldMapping, rec, parent map[string]any) (map[string]any, error) {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names) // the first failing field is always the same one
	out := make(map[string]any, len(fields))
	for _, name := range names {
		v, err := mapField(name, fields[name], rec, parent)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

func mapField(name string, f FieldMapping, rec, parent map[string]any) (any, error) {
	var v any
	switch {
	case f.Source != "":
		v = rec[f.Source]
	case len(f.Constant) > 0:
		v = decodeRaw(f.Constant)
	case f.Template != "":
		v = Render(f.Template, rec)
	case f.Parent != "":
		v = parent[f.Parent]
	}
	if isEmpty(v) && len(f.Default) > 0 {
		v = decodeRaw(f.Default)
	}
	if f.Values == nil || v == nil {
		return v, nil
	}
	id := Text(v)
	if to, ok := f.Values.Map[id]; ok {
		return to, nil
	}
	if to, ok := f.Values.AutoMapped[id]; ok {
		return to, nil
	}
	if f.Values.Unmapped == UnmappedDefault {
		return decodeRaw(f.Values.Default), nil
	}
	from := f.Source
	if from == "" {
		from = "the template"
	}
	return nil, &MappingError{Field: name, Reason: fmt.Sprintf("no mapping for the value %q of %s", id, from)}
}

// Render fills a template's {{placeholders}} with the record's fields; an absent or null
// field renders as nothing, and the result is trimmed of surrounding spaces.
func Render(tmpl string, rec map[string]any) string {
	return strings.TrimSpace(placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		if v, ok := rec[name]; ok && v != nil {
			return Text(v)
		}
		return ""
	}))
}

// Text is a value as the text that value maps and conditions compare.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func isEmpty(v any) bool {
	return v == nil || v == ""
}

// Match reports whether a source record passes the condition, and if not, why.
func (c Condition) Match(key string, rec map[string]any) (bool, string) {
	if len(c.Keys) > 0 && !slices.Contains(c.Keys, key) {
		return false, "not in the flow's selection of records"
	}
	if c.StatusField != "" {
		st := Text(rec[c.StatusField])
		if !slices.Contains(c.StatusIn, st) {
			return false, fmt.Sprintf("%s is %q, not one of %s", c.StatusField, st, strings.Join(quoteAll(c.StatusIn), ", "))
		}
	}
	for _, p := range c.Where {
		if ok, why := p.match(rec); !ok {
			return false, why
		}
	}
	return true, ""
}

func (p Predicate) match(rec map[string]any) (bool, string) {
	v := rec[p.Field]
	got := Text(v)
	want := Text(p.Value)
	ok := false
	switch p.Op {
	case "eq":
		ok = compare(v, p.Value) == 0
	case "ne":
		ok = compare(v, p.Value) != 0
	case "gt":
		ok = compare(v, p.Value) > 0
	case "gte":
		ok = compare(v, p.Value) >= 0
	case "lt":
		ok = compare(v, p.Value) < 0
	case "lte":
		ok = compare(v, p.Value) <= 0
	case "in", "not_in":
		list, _ := p.Value.([]any)
		for _, x := range list {
			if Text(x) == got {
				ok = true
			}
		}
		if p.Op == "not_in" {
			ok = !ok
		}
	case "empty":
		ok = isEmpty(v)
	case "not_empty":
		ok = !isEmpty(v)
	case "contains":
		ok = strings.Contains(got, want)
	}
	if ok {
		return true, ""
	}
	return false, fmt.Sprintf("%s is %q: not %s %s", p.Field, got, p.Op, want)
}

// compare orders two values: as numbers when both are numbers, as text otherwise.
func compare(a, b any) int {
	as, bs := Text(a), Text(b)
	af, aerr := strconv.ParseFloat(as, 64)
	bf, berr := strconv.ParseFloat(bs, 64)
	if aerr == nil && berr == nil {
		switch {
		case af < bf:
			return -1
		case af > bf:
			return 1
		}
		return 0
	}
	return strings.Compare(as, bs)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// sameValue reports whether two field values are equal as the mirror would store them.
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return compare(a, b) == 0
}
