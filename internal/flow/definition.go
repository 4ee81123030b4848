// Package flow moves records from one connection's entity to another's: a mapping of
// fields, value lists, defaults and templates, conditions, write modes, on-success actions,
// write-back rules and a removal policy, run as jobs with exactly-once effect.
package flow

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/schedule"
)

// Triggers, write modes, removal policies and priorities.
const (
	TriggerAutomatic = "automatic" // after every sync of the source (or of the target, for write-back)
	TriggerSchedule  = "schedule"
	TriggerManual    = "manual"

	ModeCreate = "create" // create each source record once; never update it
	ModeUpsert = "upsert" // create, then keep the target up to date
	ModeUpdate = "update" // only update target records that exist

	RemoveNothing    = "nothing"
	RemoveDeactivate = "deactivate"
	RemoveDelete     = "delete"

	PrioritySource = "source"
	PriorityTarget = "target"
	PriorityNewest = "newest"

	UnmappedFail    = "fail"
	UnmappedDefault = "default"
)

// Definition is a flow as users write it (JSON through the API and `junction flows
// create --file`). It is validated against both connections' catalogs before it is stored.
type Definition struct {
	Name      string                  `json:"name"`
	Source    Side                    `json:"source"`
	Target    Side                    `json:"target"`
	Trigger   string                  `json:"trigger,omitempty" doc:"automatic (default), schedule or manual"`
	Schedule  string                  `json:"schedule,omitempty" doc:"with trigger schedule: an interval (15m) or a cron expression, in UTC"`
	Condition Condition               `json:"condition,omitempty"`
	WriteMode string                  `json:"write_mode,omitempty" doc:"create (default), upsert or update"`
	Fields    map[string]FieldMapping `json:"fields" doc:"target attribute → where its value comes from"`
	Reference string                  `json:"reference,omitempty" doc:"for targets that make their own keys: a mapped target attribute that identifies the source record (an external reference), by which a re-run finds an earlier write"`
	Lines     []LineMapping           `json:"lines,omitempty" doc:"nested lines (order → order lines)"`
	OnSuccess map[string]any          `json:"on_success,omitempty" doc:"source fields set after a record is written (e.g. a status)"`
	WriteBack []WriteBackRule         `json:"write_back,omitempty"`
	Removal   Removal                 `json:"removal,omitempty"`
	Priority  string                  `json:"priority,omitempty" doc:"when both sides changed a field: source (default), target or newest"`
}

// Side is a connection's entity.
type Side struct {
	ConnectionID int64  `json:"connection_id"`
	Entity       string `json:"entity"`
}

// Condition selects the source records a flow writes; all parts must hold.
type Condition struct {
	StatusField string      `json:"status_field,omitempty"`
	StatusIn    []string    `json:"status_in,omitempty"`
	Where       []Predicate `json:"where,omitempty"`
	Keys        []string    `json:"keys,omitempty" doc:"an explicit selection: only these source keys"`
}

// Predicate compares one source field with a value.
type Predicate struct {
	Field string `json:"field"`
	Op    string `json:"op" enum:"eq,ne,gt,gte,lt,lte,in,not_in,empty,not_empty,contains"`
	Value any    `json:"value,omitempty"`
}

// FieldMapping says where a target attribute's value comes from: exactly one of a source
// attribute, a constant, a template, or (in lines) a field of the parent's mapped output.
type FieldMapping struct {
	Source   string          `json:"source,omitempty"`
	Constant json.RawMessage `json:"constant,omitempty"`
	Template string          `json:"template,omitempty" doc:"e.g. {{first_name}} {{last_name}}"`
	Parent   string          `json:"parent,omitempty" doc:"in lines: the parent's mapped target field"`
	Default  json.RawMessage `json:"default,omitempty" doc:"used when the source value is empty"`
	Values   *ValueMap       `json:"values,omitempty" doc:"maps source value ids to target value ids"`
}

// ValueMap maps a value list: source id → target id.
type ValueMap struct {
	Map      map[string]string `json:"map,omitempty"`
	Auto     bool              `json:"auto,omitempty" doc:"map the ids of values with the same name on both sides"`
	Unmapped string            `json:"unmapped,omitempty" doc:"fail (default): the record fails with the reason; default: use default"`
	Default  json.RawMessage   `json:"default,omitempty"`
	// AutoMapped is filled in by Compile: the pairs found by name, shown as such.
	AutoMapped map[string]string `json:"auto_mapped,omitempty" readOnly:"true"`
}

// LineMapping maps nested lines. Source lines are a separate entity whose SourceParent attribute
// holds the parent's key, or an array field of the source record; target lines are a
// separate entity written after the parent (by upsert, so a re-run never doubles them), or
// an array field of the target record.
type LineMapping struct {
	SourceEntity string                  `json:"source_entity,omitempty"`
	SourceParent string                  `json:"source_parent,omitempty"`
	SourceField  string                  `json:"source_field,omitempty"`
	TargetEntity string                  `json:"target_entity,omitempty"`
	TargetField  string                  `json:"target_field,omitempty"`
	Fields       map[string]FieldMapping `json:"fields"`
}

// WriteBackRule sets source fields when the target record reaches a state: when the
// target's Field is one of In, the source gets Set.
type WriteBackRule struct {
	Field string         `json:"field"`
	In    []string       `json:"in"`
	Set   map[string]any `json:"set"`
}

// Removal is what happens to the target when a linked source record is gone upstream.
type Removal struct {
	Policy string         `json:"policy,omitempty" doc:"nothing (default), deactivate or delete"`
	Set    map[string]any `json:"set,omitempty" doc:"with deactivate: the target fields to set"`
}

// Catalogs are what Compile checks a definition against.
type Catalogs struct {
	Source, Target *driver.Catalog
	// SourceWrites and TargetWrites say whether the drivers implement driver.Writer.
	SourceWrites, TargetWrites bool
}

var placeholder = regexp.MustCompile(`\{\{\s*([^{}\s]+)\s*\}\}`)

// Compile validates def field by field against the catalogs, fills in defaults and the
// auto-mapped value pairs, and returns the definition ready to run. Every problem is a
// driver.FieldError naming the field ("fields.currency_id.source"), so a bad mapping is
// answered with all its mistakes at once and nothing is stored.
func Compile(def Definition, cats Catalogs) (Definition, error) {
	var errs driver.FieldErrors
	bad := func(field, format string, args ...any) {
		errs = append(errs, driver.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	def.Name = strings.TrimSpace(def.Name)
	if def.Name == "" {
		bad("name", "is required")
	}
	def.Trigger = or(def.Trigger, TriggerAutomatic)
	def.WriteMode = or(def.WriteMode, ModeCreate)
	def.Removal.Policy = or(def.Removal.Policy, RemoveNothing)
	def.Priority = or(def.Priority, PrioritySource)
	switch def.Trigger {
	case TriggerAutomatic, TriggerManual:
		if def.Schedule != "" {
			bad("schedule", "only a flow with trigger schedule has one")
		}
	case TriggerSchedule:
		if s, err := schedule.Parse(def.Schedule); err != nil {
			bad("schedule", "%v", err)
		} else if s.Manual() {
			bad("schedule", "is required with trigger schedule (an interval like 15m or a cron expression)")
		}
	default:
		bad("trigger", "must be automatic, schedule or manual")
	}
	if !slices.Contains([]string{ModeCreate, ModeUpsert, ModeUpdate}, def.WriteMode) {
		bad("write_mode", "must be create, upsert or update")
	}
	if !slices.Contains([]string{PrioritySource, PriorityTarget, PriorityNewest}, def.Priority) {
		bad("priority", "must be source, target or newest")
	}
	src := entityOf(cats.Source, def.Source, "source", bad)
	tgt := entityOf(cats.Target, def.Target, "target", bad)
	if tgt != nil && !cats.TargetWrites {
		bad("target.connection_id", "the target's driver cannot write")
	}
	if src != nil {
		c := def.Condition
		if c.StatusField != "" {
			attrOf(src, c.StatusField, "condition.status_field", "source", bad)
			if len(c.StatusIn) == 0 {
				bad("condition.status_in", "list at least one status")
			}
		} else if len(c.StatusIn) > 0 {
			bad("condition.status_field", "is required with status_in")
		}
		for i, p := range c.Where {
			at := fmt.Sprintf("condition.where[%d]", i)
			attrOf(src, p.Field, at+".field", "source", bad)
			if !slices.Contains([]string{"eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "empty", "not_empty", "contains"}, p.Op) {
				bad(at+".op", "must be one of eq, ne, gt, gte, lt, lte, in, not_in, empty, not_empty, contains")
			}
			if (p.Op == "in" || p.Op == "not_in") && !isList(p.Value) {
				bad(at+".value", "must be a list with op %s", p.Op)
			}
		}
	}
	if src != nil && tgt != nil {
		if len(def.Fields) == 0 {
			bad("fields", "map at least one target attribute")
		}
		compileFields(def.Fields, "fields", src, tgt, cats, false, false, bad)
		if def.Reference != "" {
			attrOf(tgt, def.Reference, "reference", "target", bad)
			if _, ok := def.Fields[def.Reference]; !ok {
				bad("reference", "map the reference attribute %s (from the source key, say)", def.Reference)
			}
			if def.hasEntityLines() && !def.mapsKey(tgt) {
				bad("reference", "lines written to a separate target entity need the target key mapped: the parent's key is not known before the target makes it")
			}
		} else {
			for _, k := range tgt.Key {
				if _, ok := def.Fields[k]; !ok {
					bad("fields", "map the target key %s, or name a reference attribute: that is what keeps a re-run from creating a record twice", k)
				}
			}
		}
		if len(tgt.Key) == 0 {
			bad("target.entity", "%s has no key; a flow needs one to write each record once", tgt.Name)
		}
		for i := range def.Lines {
			compileLines(&def.Lines[i], fmt.Sprintf("lines[%d]", i), src, tgt, cats, bad)
		}
		for name := range def.OnSuccess {
			attrOf(src, name, "on_success."+name, "source", bad)
		}
		if len(def.OnSuccess) > 0 && !cats.SourceWrites {
			bad("on_success", "the source's driver cannot write")
		}
		for i, r := range def.WriteBack {
			at := fmt.Sprintf("write_back[%d]", i)
			attrOf(tgt, r.Field, at+".field", "target", bad)
			if len(r.In) == 0 {
				bad(at+".in", "list at least one target value")
			}
			if len(r.Set) == 0 {
				bad(at+".set", "set at least one source field")
			}
			for name := range r.Set {
				attrOf(src, name, at+".set."+name, "source", bad)
			}
			if !cats.SourceWrites {
				bad(at, "the source's driver cannot write")
			}
		}
		switch def.Removal.Policy {
		case RemoveNothing, RemoveDelete:
			if len(def.Removal.Set) > 0 {
				bad("removal.set", "only the deactivate policy sets fields")
			}
		case RemoveDeactivate:
			if len(def.Removal.Set) == 0 {
				bad("removal.set", "name the target fields that deactivate a record")
			}
			for name := range def.Removal.Set {
				attrOf(tgt, name, "removal.set."+name, "target", bad)
			}
		default:
			bad("removal.policy", "must be nothing, deactivate or delete")
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return def, errs
	}
	return def, nil
}

// mapsKey reports whether every key attribute of the target is mapped.
func (def Definition) mapsKey(tgt *driver.Entity) bool {
	for _, k := range tgt.Key {
		if _, ok := def.Fields[k]; !ok {
			return false
		}
	}
	return len(tgt.Key) > 0
}

func compileLines(l *LineMapping, at string, src, tgt *driver.Entity, cats Catalogs, bad func(string, string, ...any)) {
	var lsrc, ltgt *driver.Entity
	switch {
	case l.SourceEntity != "" && l.SourceField == "":
		lsrc = entityOf(cats.Source, Side{Entity: l.SourceEntity}, at+".source_entity", bad)
		if lsrc != nil {
			attrOf(lsrc, l.SourceParent, at+".source_parent", "source", bad)
		}
	case l.SourceField != "" && l.SourceEntity == "":
		attrOf(src, l.SourceField, at+".source_field", "source", bad)
	default:
		bad(at+".source_entity", "give either source_entity (with source_parent) or source_field")
	}
	switch {
	case l.TargetEntity != "" && l.TargetField == "":
		ltgt = entityOf(cats.Target, Side{Entity: l.TargetEntity}, at+".target_entity", bad)
		if ltgt != nil {
			if len(ltgt.Key) == 0 {
				bad(at+".target_entity", "%s has no key; lines are written by key so a re-run never doubles them", ltgt.Name)
			}
			for _, k := range ltgt.Key {
				if _, ok := l.Fields[k]; !ok {
					bad(at+".fields", "map the key %s of %s: lines are written by key so a re-run never doubles them", k, ltgt.Name)
				}
			}
		}
	case l.TargetField != "" && l.TargetEntity == "":
		attrOf(tgt, l.TargetField, at+".target_field", "target", bad)
	default:
		bad(at+".target_entity", "give either target_entity or target_field")
	}
	if len(l.Fields) == 0 {
		bad(at+".fields", "map at least one line attribute")
	}
	compileFields(l.Fields, at+".fields", lsrc, ltgt, cats, true, l.SourceField != "", bad)
}

// compileFields checks a field map; src or tgt nil means "not an entity the catalog
// describes" (array fields, or an entity already reported unknown), where attribute names
// cannot be checked. arraySource says the lines come from an array field.
func compileFields(fields map[string]FieldMapping, at string, src, tgt *driver.Entity, cats Catalogs, lines, arraySource bool,
	bad func(string, string, ...any)) {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		f := fields[name]
		fat := at + "." + name
		var tattr *driver.Attribute
		if tgt != nil {
			tattr = attrOf(tgt, name, fat, "target", bad)
		}
		kinds := 0
		for _, set := range []bool{f.Source != "", len(f.Constant) > 0, f.Template != "", f.Parent != ""} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			bad(fat, "give exactly one of source, constant, template or parent")
		}
		if f.Parent != "" && !lines {
			bad(fat+".parent", "only line fields take a parent field")
		}
		var sattr *driver.Attribute
		if f.Source != "" && src != nil {
			sattr = attrOf(src, f.Source, fat+".source", "source", bad)
		}
		if f.Template != "" && src != nil {
			for _, m := range placeholder.FindAllStringSubmatch(f.Template, -1) {
				attrOf(src, m[1], fat+".template", "source", bad)
			}
		}
		for _, raw := range []struct {
			name string
			v    json.RawMessage
		}{{"constant", f.Constant}, {"default", f.Default}} {
			if len(raw.v) > 0 && !json.Valid(raw.v) {
				bad(fat+"."+raw.name, "is not valid JSON")
			}
		}
		if f.Values == nil {
			continue
		}
		vm := f.Values
		vm.Unmapped = or(vm.Unmapped, UnmappedFail)
		switch vm.Unmapped {
		case UnmappedFail:
		case UnmappedDefault:
			if len(vm.Default) == 0 {
				bad(fat+".values.default", "is required with unmapped: default")
			}
		default:
			bad(fat+".values.unmapped", "must be fail or default")
		}
		if len(vm.Map) == 0 && !vm.Auto {
			bad(fat+".values", "give a map, or auto to map values with the same name")
		}
		vm.AutoMapped = nil
		if vm.Auto && (src != nil || arraySource) {
			sl, tl := valueList(cats.Source, sattr), valueList(cats.Target, tattr)
			switch {
			case sl == nil:
				bad(fat+".values.auto", "the source attribute has no value list to map by name")
			case tl == nil:
				bad(fat+".values.auto", "the target attribute %s has no value list to map by name", name)
			default:
				vm.AutoMapped = autoMap(*sl, *tl, vm.Map)
			}
		}
		fields[name] = f
	}
}

// autoMap pairs the values of two lists that have the same name (ignoring case and
// surrounding spaces), leaving out source ids mapped explicitly.
func autoMap(src, tgt driver.ValueList, explicit map[string]string) map[string]string {
	byName := map[string]string{}
	for _, v := range tgt.Values {
		byName[strings.ToLower(strings.TrimSpace(v.Name))] = v.ID
	}
	out := map[string]string{}
	for _, v := range src.Values {
		if _, ok := explicit[v.ID]; ok {
			continue
		}
		if id, ok := byName[strings.ToLower(strings.TrimSpace(v.Name))]; ok {
			out[v.ID] = id
		}
	}
	return out
}

func valueList(cat *driver.Catalog, a *driver.Attribute) *driver.ValueList {
	if cat == nil || a == nil || a.ValueList == "" {
		return nil
	}
	for i := range cat.ValueLists {
		if cat.ValueLists[i].Name == a.ValueList {
			return &cat.ValueLists[i]
		}
	}
	return nil
}

func entityOf(cat *driver.Catalog, side Side, at string, bad func(string, string, ...any)) *driver.Entity {
	field := at
	if !strings.Contains(at, ".") {
		field = at + ".entity"
	}
	if cat == nil {
		bad(strings.TrimSuffix(field, ".entity")+".connection_id", "the connection has no catalog yet; wait for its first sync")
		return nil
	}
	if side.Entity == "" {
		bad(field, "is required")
		return nil
	}
	e, ok := cat.Entity(side.Entity)
	if !ok {
		bad(field, "the connection has no entity %q", side.Entity)
		return nil
	}
	return &e
}

func attrOf(e *driver.Entity, name, at, side string, bad func(string, string, ...any)) *driver.Attribute {
	if name == "" {
		bad(at, "is required")
		return nil
	}
	a, ok := e.Attribute(name)
	if !ok {
		bad(at, "the %s entity %s has no attribute %q", side, e.Name, name)
		return nil
	}
	return &a
}

func isList(v any) bool {
	_, ok := v.([]any)
	return ok
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// hasEntityLines reports whether lines go to a separate target entity (which needs the parent's key).
func (def Definition) hasEntityLines() bool {
	for _, l := range def.Lines {
		if l.TargetEntity != "" {
			return true
		}
	}
	return false
}
