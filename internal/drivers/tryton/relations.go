package tryton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
)

// What a write does beyond plain values, so that another system's record can be written
// as it is: many2one fields by code, one2many lines as records, and the values Tryton's
// client would fill in.

// matchFields reads the match_fields setting: model → the field its records are found by.
func matchFields(cfg driver.Config) (map[string]string, error) {
	list := cfg.Settings.List("match_fields")
	if len(list) == 0 {
		list = strings.Split(DefaultMatchFields, ",")
	}
	out := map[string]string{}
	for _, pair := range list {
		model, name, ok := strings.Cut(pair, ":")
		model, name = strings.TrimSpace(model), strings.TrimSpace(name)
		if !ok || model == "" || name == "" || strings.ContainsAny(name, ". ") {
			return nil, fmt.Errorf("%q is not MODEL:FIELD (such as party.party:code)", pair)
		}
		if _, twice := out[model]; twice {
			return nil, fmt.Errorf("%s is listed twice", model)
		}
		out[model] = name
	}
	return out, nil
}

// checkMatchFields verifies that every model and field of match_fields exists.
func checkMatchFields(ctx context.Context, c *rpc.Client, cfg driver.Config) error {
	mf, err := matchFields(cfg)
	if err != nil {
		return driver.SettingError("match_fields", err.Error())
	}
	names := make([]string, 0, len(mf))
	for m := range mf {
		names = append(names, m)
	}
	sort.Strings(names)
	if _, err := loadModels(ctx, c, names); err != nil {
		var missing *missingModelError
		if errors.As(err, &missing) {
			return driver.SettingError("match_fields", err.Error())
		}
		return callError(cfg, err)
	}
	for _, m := range names {
		var defs map[string]json.RawMessage
		if err := c.Call(ctx, "model."+m+".fields_get", &defs, []string{mf[m]}); err != nil {
			return callError(cfg, err)
		}
		if _, ok := defs[mf[m]]; !ok {
			return driver.SettingError("match_fields", fmt.Sprintf("%s has no field %s", m, mf[m]))
		}
	}
	return nil
}

// converted is one record's fields as Tryton takes them.
type converted struct {
	values map[string]any // typed values; one2many fields given as Tryton commands
	// lists are the one2many fields given as a list of records, each converted.
	lists   map[string][]converted
	buttons []string
}

// convert checks and converts a record's fields for model: values typed, many2one codes
// resolved to ids, lines given as records converted in turn. Problems with the content
// come back together as a recordError naming each field (lines[1].product: …); other
// errors are Tryton or the network failing.
func (w *writer) convert(ctx context.Context, model string, in map[string]any) (converted, error) {
	var problems []string
	out, err := w.convertInto(ctx, model, in, "", true, &problems)
	if err != nil {
		return out, err
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return out, &recordError{strings.Join(problems, "; ")}
	}
	return out, nil
}

func (w *writer) convertInto(ctx context.Context, model string, in map[string]any, path string, top bool, problems *[]string) (converted, error) {
	out := converted{values: make(map[string]any, len(in)), lists: map[string][]converted{}}
	fields, err := w.fieldsOf(ctx, model)
	if err != nil {
		return out, err
	}
	bad := func(name, msg string) { *problems = append(*problems, path+name+": "+msg) }
	for name, v := range in {
		if name == ButtonsField && top {
			b, ok := buttonList(v)
			if !ok {
				bad(name, "must be a list of button names")
			}
			out.buttons = b
			continue
		}
		if setByTryton[name] {
			bad(name, "is set by Tryton")
			continue
		}
		f, ok := fields[name]
		if !ok {
			bad(name, "is not a field of "+model)
			continue
		}
		if s, isText := v.(string); isText && (f.Type == "many2one" || f.Type == "one2one") && w.match[f.Relation] != "" {
			id, msg, err := w.resolve(ctx, f.Relation, s)
			if err != nil {
				return out, err
			}
			if msg != "" {
				bad(name, msg)
				continue
			}
			out.values[name] = id
			continue
		}
		if recs, isRecords := records(v); isRecords && f.Type == "one2many" {
			if f.Relation == "" {
				bad(name, "is not a list Tryton can write")
				continue
			}
			lines := make([]converted, len(recs))
			for i, r := range recs {
				lines[i], err = w.convertInto(ctx, f.Relation, r, fmt.Sprintf("%s%s[%d].", path, name, i), false, problems)
				if err != nil {
					return out, err
				}
			}
			out.lists[name] = lines
			continue
		}
		tv, err := rpc.Typed(f.Type, v)
		if err != nil {
			bad(name, err.Error())
			continue
		}
		out.values[name] = tv
	}
	return out, nil
}

// records reports whether v is a non-empty list of objects (lines given as records, not
// as Tryton's commands).
func records(v any) ([]map[string]any, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	out := make([]map[string]any, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		out[i] = m
	}
	return out, true
}

// createValues is what Tryton's create takes: the values with each list of records as
// one create command, recursively.
func (c converted) createValues() map[string]any {
	out := make(map[string]any, len(c.values)+len(c.lists))
	for k, v := range c.values {
		out[k] = v
	}
	for name, lines := range c.lists {
		vals := make([]any, len(lines))
		for i, l := range lines {
			vals[i] = l.createValues()
		}
		out[name] = []any{[]any{"create", vals}}
	}
	return out
}

// resolve finds the id of the one active record of model whose match field is value. A missing
// or ambiguous match is a message for the record, not an error.
func (w *writer) resolve(ctx context.Context, model, value string) (int64, string, error) {
	name := w.match[model]
	cacheKey := model + "\x00" + value
	if id, ok := w.resolved[cacheKey]; ok {
		return id, "", nil
	}
	// Only active records: a product no longer sold may share its code with its successor.
	w.c.Context["active_test"] = true
	var ids []int64
	err := w.c.Call(ctx, "model."+model+".search", &ids, []any{[]any{name, "=", value}}, 0, 2, nil)
	w.c.Context["active_test"] = false
	if err != nil {
		if rpc.IsError(err) {
			return 0, fmt.Sprintf("cannot search %s by %s: %v", model, name, err), nil
		}
		return 0, "", err
	}
	switch len(ids) {
	case 0:
		return 0, fmt.Sprintf("no %s has %s %q", model, name, value), nil
	case 1:
		w.resolved[cacheKey] = ids[0]
		return ids[0], "", nil
	}
	return 0, fmt.Sprintf("more than one %s has %s %q", model, name, value), nil
}

// fieldsOf returns the fields of a model by name, loaded once per write.
func (w *writer) fieldsOf(ctx context.Context, model string) (map[string]field, error) {
	if fs, ok := w.fields[model]; ok {
		return fs, nil
	}
	ms, err := loadModels(ctx, w.c, []string{model})
	if err != nil {
		return nil, err
	}
	list, err := loadFields(ctx, w.c, ms[0])
	if err != nil {
		return nil, err
	}
	fs := make(map[string]field, len(list))
	for _, f := range list {
		fs[f.Name] = f
	}
	w.fields[model] = fs
	return fs, nil
}

// defaultsOf returns the default values Tryton gives a new record of model.
func (w *writer) defaultsOf(ctx context.Context, model string) (map[string]any, error) {
	if d, ok := w.defaults[model]; ok {
		return d, nil
	}
	fields, err := w.fieldsOf(ctx, model)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	var d map[string]any
	if err := w.c.Call(ctx, "model."+model+".default_get", &d, names); err != nil {
		return nil, fmt.Errorf("defaults of %s: %w", model, err)
	}
	for k := range d {
		if strings.Contains(k, ".") {
			delete(d, k) // display names of the default records
		}
	}
	w.defaults[model] = d
	return d, nil
}

// complete fills in what Tryton's client would when a user enters the given fields in a
// new record's form: it runs the model's on_change methods of those fields over the
// defaults and the given values (a sale's addresses come from its party, a line's unit
// from its product) and adds each changed field that was not given; given values always
// win. Lines are completed after their parent, seeing its values as the client's lines
// do. parentField names the lines' field pointing to parent.
func (w *writer) complete(ctx context.Context, model string, rec *converted, parent map[string]any, parentField string) error {
	fields, err := w.fieldsOf(ctx, model)
	if err != nil {
		return err
	}
	defaults, err := w.defaultsOf(ctx, model)
	if err != nil {
		return err
	}
	// The form holds single values only: Tryton's client sends lists in another shape
	// than create takes them, and the on_change methods that matter do not read them.
	single := func(k string) bool { t := fields[k].Type; return t != "one2many" && t != "many2many" }
	form := make(map[string]any, len(defaults)+len(rec.values))
	for k, v := range defaults {
		if single(k) {
			form[k] = v
		}
	}
	given := make([]string, 0, len(rec.values))
	for k, v := range rec.values {
		if single(k) {
			form[k] = v
			given = append(given, k)
		}
	}
	for k, v := range parent {
		form["_parent_"+parentField+"."+k] = v
	}
	sort.Strings(given)
	if len(given) > 0 {
		var changes []map[string]any
		if err := w.c.Call(ctx, "model."+model+".on_change", &changes, form, given); err != nil {
			return fmt.Errorf("on_change of %s: %w", model, err)
		}
		for _, ch := range changes {
			for k, v := range ch {
				f, ok := fields[k]
				// Only stored fields: computed ones (a line's amount) cannot be written.
				if _, isGiven := rec.values[k]; isGiven || !ok || !single(f.Name) || !f.mirrored() || setByTryton[k] {
					continue
				}
				rec.values[k], form[k] = v, v
			}
		}
	}
	for name, lines := range rec.lists {
		back := fields[name].RelationField
		scalars := map[string]any{}
		for k, v := range form {
			if !strings.HasPrefix(k, "_parent_") {
				scalars[k] = v
			}
		}
		for i := range lines {
			if err := w.complete(ctx, fields[name].Relation, &lines[i], scalars, back); err != nil {
				return err
			}
		}
	}
	return nil
}

// linesCommands turns the lists of records of an update into commands: a list equal to
// the record's current lines (same count, and each line's given fields the same) is left
// alone, so writing the same record twice changes nothing; another one replaces them.
func (w *writer) linesCommands(ctx context.Context, model string, id int64, rec *converted) error {
	if len(rec.lists) == 0 {
		return nil
	}
	names := make([]string, 0, len(rec.lists))
	for n := range rec.lists {
		names = append(names, n)
	}
	sort.Strings(names)
	var rows []map[string]any
	if err := w.c.Call(ctx, "model."+model+".read", &rows, []int64{id}, names); err != nil {
		return err
	}
	if len(rows) != 1 {
		return fmt.Errorf("read %s %d: %d records", model, id, len(rows))
	}
	fields, err := w.fieldsOf(ctx, model)
	if err != nil {
		return err
	}
	for _, name := range names {
		var current []int64
		for _, v := range asList(rows[0][name]) {
			if n, ok := rpc.Int(v); ok {
				current = append(current, n)
			}
		}
		lines := rec.lists[name]
		same, err := w.sameLines(ctx, fields[name].Relation, current, lines)
		if err != nil {
			return err
		}
		if same {
			continue
		}
		parent, err := w.currentForm(ctx, model, id, rec.values)
		if err != nil {
			return err
		}
		for i := range lines {
			if err := w.complete(ctx, fields[name].Relation, &lines[i], parent, fields[name].RelationField); err != nil {
				return err
			}
		}
		vals := make([]any, len(lines))
		for i, l := range lines {
			vals[i] = l.createValues()
		}
		var cmds []any
		if len(current) > 0 {
			cmds = append(cmds, []any{"delete", current})
		}
		rec.values[name] = append(cmds, []any{"create", vals})
	}
	rec.lists = nil
	return nil
}

// currentForm is what the lines of an existing record see of it when they are completed:
// its stored single values, with the update's given values over them.
func (w *writer) currentForm(ctx context.Context, model string, id int64, given map[string]any) (map[string]any, error) {
	fields, err := w.fieldsOf(ctx, model)
	if err != nil {
		return nil, err
	}
	var names []string
	for n, f := range fields {
		if f.mirrored() && f.Type != "binary" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var rows []map[string]any
	if err := w.c.Call(ctx, "model."+model+".read", &rows, []int64{id}, names); err != nil {
		return nil, err
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("read %s %d: %d records", model, id, len(rows))
	}
	form := rows[0]
	for k, v := range given {
		if t := fields[k].Type; t != "one2many" && t != "many2many" {
			form[k] = v
		}
	}
	return form, nil
}

// sameLines reports whether the lines with ids hold, in order, the given lines' values.
func (w *writer) sameLines(ctx context.Context, model string, ids []int64, lines []converted) (bool, error) {
	if len(ids) != len(lines) {
		return false, nil
	}
	if len(ids) == 0 {
		return true, nil
	}
	var names []string
	for _, l := range lines {
		if len(l.lists) > 0 {
			return false, nil
		}
		for k := range l.values {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	fields, err := w.fieldsOf(ctx, model)
	if err != nil {
		return false, err
	}
	order := "id"
	if _, ok := fields["sequence"]; ok {
		order = "sequence" // lines are shown, and were created, in this order
	}
	var rows []map[string]any
	if err := w.c.Call(ctx, "model."+model+".search_read", &rows, []any{[]any{"id", "in", ids}}, 0, nil,
		[][]string{{order, "ASC"}, {"id", "ASC"}}, names); err != nil {
		return false, err
	}
	if len(rows) != len(lines) {
		return false, nil
	}
	for i, l := range lines {
		for k, v := range l.values {
			if !sameValue(rpc.Plain(rows[i][k]), rpc.Plain(v)) {
				return false, nil
			}
		}
	}
	return true, nil
}

// sameValue compares two plain values: as numbers when both are numbers (9.5 and
// "9.5000"), as text otherwise.
func sameValue(a, b any) bool {
	as, bs := fmt.Sprint(a), fmt.Sprint(b)
	if as == bs {
		return true
	}
	af, aerr := strconv.ParseFloat(as, 64)
	bf, berr := strconv.ParseFloat(bs, 64)
	return aerr == nil && berr == nil && af == bf
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
