package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/flow"
	"github.com/junction-hub/junction/internal/store"
)

// spareValuePairs is how many empty source → target pairs a value-map editor offers.
const spareValuePairs = 2

// flowForm is the data of the create and edit pages. What the form's table and fields do
// not cover (lines, write-back, on-success, removal, predicates, reference) travels in
// Advanced as JSON.
type flowForm struct {
	Editing     bool
	ID          int64
	Name        string
	Source      string // "connection id:entity"
	Target      string
	Trigger     string
	Schedule    string
	WriteMode   string
	Priority    string
	StatusField string
	StatusIn    string // comma-separated
	Advanced    string
	Sources     []entityGroup
	Targets     []entityGroup
	SourceAttrs []string
	Rows        []formRow
	Errors      map[string]string
	Problem     string
}

// entityGroup is one connection's entities in a drop-down.
type entityGroup struct {
	Conn     string
	Entities []entityOption
}

type entityOption struct {
	Value string // "connection id:entity"
	Label string
}

// formRow is one target attribute in the mapping table.
type formRow struct {
	I        int
	Name     string
	Type     string
	Key      bool
	Required bool
	Kind     string // "" (not mapped), source, constant, template
	Source   string
	Value    string // the constant or the template
	Default  string
	Error    string
	// The value-map editor.
	ShowValues   bool
	Auto         bool
	Unmapped     string
	VDefault     string
	Pairs        []formPair
	TargetValues []driver.Value // the target attribute's value list; nil: type the target value
	AutoMapped   []pairView
}

type formPair struct {
	J        int
	From     string
	FromName string // the source value's name in its list
	To       string
	AutoTo   string // what auto-mapping by name paired From with, when To is empty
}

func sideValue(s flow.Side) string {
	if s.ConnectionID == 0 {
		return ""
	}
	return fmt.Sprintf("%d:%s", s.ConnectionID, s.Entity)
}

func parseSide(v string) flow.Side {
	id, entity, ok := strings.Cut(v, ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil {
		return flow.Side{}
	}
	return flow.Side{ConnectionID: n, Entity: entity}
}

// flowCatalogs are the visible connections with their catalogs, for the drop-downs.
type flowCatalogs struct {
	conns []store.Connection
	cats  map[int64]*driver.Catalog
}

func (c *Console) flowCatalogs(req *request) (flowCatalogs, error) {
	out := flowCatalogs{cats: map[int64]*driver.Catalog{}}
	var err error
	if out.conns, err = c.Store.ListVisibleConnections(req.ctx, req.id.Viewer()); err != nil {
		return out, err
	}
	for _, conn := range out.conns {
		doc, _, err := c.Store.GetCatalog(req.ctx, req.id.WorkspaceID, conn.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // not discovered yet
		}
		if err != nil {
			return out, err
		}
		var cat driver.Catalog
		if err := json.Unmarshal(doc, &cat); err != nil {
			return out, fmt.Errorf("catalog of connection %d: %w", conn.ID, err)
		}
		out.cats[conn.ID] = &cat
	}
	return out, nil
}

func (fc flowCatalogs) groups() []entityGroup {
	var out []entityGroup
	for _, conn := range fc.conns {
		cat := fc.cats[conn.ID]
		if cat == nil {
			continue
		}
		g := entityGroup{Conn: conn.Name}
		for _, e := range cat.Entities {
			g.Entities = append(g.Entities, entityOption{Value: fmt.Sprintf("%d:%s", conn.ID, e.Name), Label: conn.Name + " · " + e.Name})
		}
		out = append(out, g)
	}
	return out
}

func (fc flowCatalogs) entity(s flow.Side) (*driver.Catalog, *driver.Entity) {
	cat := fc.cats[s.ConnectionID]
	if cat == nil {
		return nil, nil
	}
	e, ok := cat.Entity(s.Entity)
	if !ok {
		return cat, nil
	}
	return cat, &e
}

func listOf(cat *driver.Catalog, e *driver.Entity, attr string) *driver.ValueList {
	if cat == nil || e == nil || attr == "" {
		return nil
	}
	a, ok := e.Attribute(attr)
	if !ok || a.ValueList == "" {
		return nil
	}
	for i := range cat.ValueLists {
		if cat.ValueLists[i].Name == a.ValueList {
			return &cat.ValueLists[i]
		}
	}
	return nil
}

// fill completes the form from the catalogs: the drop-downs, the source attributes and one
// row per target attribute with what def maps to it.
func (fc flowCatalogs) fill(f *flowForm, def flow.Definition, keep []formRow) {
	f.Sources, f.Targets = fc.groups(), fc.groups()
	if f.Source == "" && len(f.Sources) > 0 {
		f.Source = f.Sources[0].Entities[0].Value
	}
	if f.Target == "" && len(f.Targets) > 0 {
		f.Target = f.Targets[0].Entities[0].Value
	}
	scat, src := fc.entity(parseSide(f.Source))
	tcat, tgt := fc.entity(parseSide(f.Target))
	f.SourceAttrs = nil
	if src != nil {
		for _, a := range src.Attributes {
			f.SourceAttrs = append(f.SourceAttrs, a.Name)
		}
	}
	typed := map[string]formRow{}
	for _, r := range keep {
		typed[r.Name] = r
	}
	var names []string
	attrs := map[string]driver.Attribute{}
	if tgt != nil {
		for _, a := range tgt.Attributes {
			names = append(names, a.Name)
			attrs[a.Name] = a
		}
	}
	// Mapped names the target entity lacks stay visible, to be fixed or cleared.
	var extra []string
	for n := range def.Fields {
		if _, ok := attrs[n]; !ok {
			extra = append(extra, n)
		}
	}
	for n := range typed {
		if _, ok := attrs[n]; !ok && def.Fields == nil && typed[n].Error != "" {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	names = append(names, extra...)
	f.Rows = f.Rows[:0]
	for i, n := range names {
		a := attrs[n]
		row, ok := typed[n]
		if !ok {
			row = rowOf(n, def.Fields[n])
		}
		row.I, row.Name, row.Type, row.Key, row.Required = i, n, a.Type, a.Key, a.Required
		tl := listOf(tcat, tgt, n)
		sl := listOf(scat, src, row.Source)
		if row.Kind != "source" {
			sl = nil
		}
		row.ShowValues = row.ShowValues || tl != nil || sl != nil
		if tl != nil {
			row.TargetValues = tl.Values
		}
		if row.ShowValues {
			row.Pairs = valuePairs(row.Pairs, sl)
			auto := map[string]string{}
			for _, p := range row.AutoMapped {
				auto[p.From] = p.To
			}
			for j := range row.Pairs {
				if row.Pairs[j].To == "" && row.Auto {
					row.Pairs[j].AutoTo = auto[row.Pairs[j].From]
				}
			}
		}
		if row.Unmapped == "" {
			row.Unmapped = flow.UnmappedFail
		}
		f.Rows = append(f.Rows, row)
	}
}

// rowOf is a row of the table from a stored mapping.
func rowOf(name string, m flow.FieldMapping) formRow {
	row := formRow{Name: name, Default: rawText(m.Default)}
	switch {
	case m.Source != "":
		row.Kind, row.Source = "source", m.Source
	case len(m.Constant) > 0:
		row.Kind, row.Value = "constant", rawText(m.Constant)
	case m.Template != "":
		row.Kind, row.Value = "template", m.Template
	}
	if vm := m.Values; vm != nil {
		row.ShowValues, row.Auto, row.Unmapped, row.VDefault = true, vm.Auto, vm.Unmapped, rawText(vm.Default)
		for _, from := range sortedKeys(vm.Map) {
			row.Pairs = append(row.Pairs, formPair{From: from, To: vm.Map[from]})
		}
		for _, from := range sortedKeys(vm.AutoMapped) {
			row.AutoMapped = append(row.AutoMapped, pairView{From: from, To: vm.AutoMapped[from], Auto: true})
		}
	}
	return row
}

// valuePairs lists the source values to map: every value of the source list (with what
// it maps to so far), then the other pairs given, then a few empty ones.
func valuePairs(given []formPair, sl *driver.ValueList) []formPair {
	to := map[string]string{}
	for _, p := range given {
		if p.From != "" {
			to[p.From] = p.To
		}
	}
	var out []formPair
	seen := map[string]bool{}
	if sl != nil {
		for _, v := range sl.Values {
			out = append(out, formPair{From: v.ID, FromName: v.Name, To: to[v.ID]})
			seen[v.ID] = true
		}
	}
	for _, p := range given {
		if p.From != "" && !seen[p.From] {
			out = append(out, formPair{From: p.From, To: p.To})
			seen[p.From] = true
		}
	}
	for range spareValuePairs {
		out = append(out, formPair{})
	}
	for i := range out {
		out[i].J = i
	}
	return out
}

// readFlowForm reads the posted form into the form's data and the definition to save.
// Only an Advanced text that is not valid JSON is an error here; everything else is
// for the flow service to judge.
func readFlowForm(r *http.Request, f *flowForm) (flow.Definition, error) {
	post := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f.Name, f.Source, f.Target = post("name"), post("source"), post("target")
	f.Trigger, f.Schedule, f.WriteMode, f.Priority = post("trigger"), post("schedule"), post("write_mode"), post("priority")
	f.StatusField, f.StatusIn, f.Advanced = post("status_field"), post("status_in"), r.PostFormValue("advanced")
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	f.Rows = nil
	for i := range min(n, 2000) {
		at := fmt.Sprintf("r%d.", i)
		row := formRow{Name: r.PostFormValue(at + "name"), Kind: post(at + "kind"), Source: post(at + "source"),
			Value: r.PostFormValue(at + "value"), Default: r.PostFormValue(at + "default"),
			ShowValues: r.PostFormValue(at+"values") != "", Auto: r.PostFormValue(at+"auto") != "",
			Unmapped: post(at + "unmapped"), VDefault: r.PostFormValue(at + "vdefault"), Type: r.PostFormValue(at + "type")}
		if row.Name == "" {
			continue
		}
		pairs, _ := strconv.Atoi(r.PostFormValue(at + "pairs"))
		for j := range min(pairs, 5000) {
			p := formPair{From: post(fmt.Sprintf("%sfrom%d", at, j)), To: post(fmt.Sprintf("%sto%d", at, j))}
			if p.From != "" {
				row.Pairs = append(row.Pairs, p)
			}
		}
		f.Rows = append(f.Rows, row)
	}

	var def flow.Definition
	var advErr error
	if strings.TrimSpace(f.Advanced) != "" {
		dec := json.NewDecoder(strings.NewReader(f.Advanced))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&def); err != nil {
			advErr = driver.FieldErrors{{Field: "advanced", Message: "not a JSON object of a flow's other parts: " + err.Error()}}
			def = flow.Definition{}
		}
	}
	def.Name, def.Source, def.Target = f.Name, parseSide(f.Source), parseSide(f.Target)
	def.Trigger, def.Schedule, def.WriteMode, def.Priority = f.Trigger, f.Schedule, f.WriteMode, f.Priority
	if def.Trigger != flow.TriggerSchedule {
		def.Schedule = "" // a schedule typed and then another trigger chosen is not an error
	}
	def.Condition.StatusField, def.Condition.StatusIn = f.StatusField, splitList(f.StatusIn)
	def.Fields = map[string]flow.FieldMapping{}
	for _, row := range f.Rows {
		m, ok := row.mapping()
		if ok {
			def.Fields[row.Name] = m
		}
	}
	return def, advErr
}

// mapping is the row as a field mapping; false when the attribute is not mapped.
func (row formRow) mapping() (flow.FieldMapping, bool) {
	var m flow.FieldMapping
	// A kind chosen without its value stays empty: the service then names the row.
	switch row.Kind {
	case "source":
		m.Source = row.Source
	case "constant":
		m.Constant = typedJSON(row.Value, row.Type)
	case "template":
		m.Template = row.Value
	default:
		return m, false
	}
	if row.Default != "" {
		m.Default = typedJSON(row.Default, row.Type)
	}
	if row.ShowValues {
		vm := flow.ValueMap{Auto: row.Auto, Unmapped: row.Unmapped, Map: map[string]string{}}
		for _, p := range row.Pairs {
			if p.From != "" && p.To != "" {
				vm.Map[p.From] = p.To
			}
		}
		if vm.Unmapped == flow.UnmappedDefault {
			vm.Default = typedJSON(row.VDefault, row.Type)
		}
		if len(vm.Map) > 0 || vm.Auto || vm.Unmapped == flow.UnmappedDefault {
			if len(vm.Map) == 0 {
				vm.Map = nil
			}
			m.Values = &vm
		}
	}
	return m, true
}

// typedJSON encodes what was typed for an attribute: text for text and dates, the JSON
// value for numbers, booleans and JSON when it is one, else text.
func typedJSON(s, attrType string) json.RawMessage {
	switch attrType {
	case driver.AttrInteger, driver.AttrNumber, driver.AttrDecimal, driver.AttrBoolean, driver.AttrJSON:
		if t := strings.TrimSpace(s); t != "" && json.Valid([]byte(t)) {
			return json.RawMessage(t)
		}
	}
	b, _ := json.Marshal(s)
	return b
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// advancedJSON is the part of a definition the form's fields and table do not show.
func advancedJSON(def flow.Definition) string {
	rest := map[string]any{}
	if len(def.Lines) > 0 {
		rest["lines"] = def.Lines
	}
	if def.Reference != "" {
		rest["reference"] = def.Reference
	}
	if len(def.OnSuccess) > 0 {
		rest["on_success"] = def.OnSuccess
	}
	if len(def.WriteBack) > 0 {
		rest["write_back"] = def.WriteBack
	}
	if (def.Removal.Policy != "" && def.Removal.Policy != flow.RemoveNothing) || len(def.Removal.Set) > 0 {
		rest["removal"] = def.Removal
	}
	if len(def.Condition.Where) > 0 || len(def.Condition.Keys) > 0 {
		rest["condition"] = flow.Condition{Where: def.Condition.Where, Keys: def.Condition.Keys}
	}
	if len(rest) == 0 {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rest); err != nil {
		return ""
	}
	return strings.TrimSpace(buf.String())
}

// placeErrors puts each of the service's field errors beside its input or row; what has
// none (lines, write-back…) goes beside the Advanced text.
func (f *flowForm) placeErrors(fe driver.FieldErrors) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	add := func(key, msg string) {
		if f.Errors[key] != "" {
			f.Errors[key] += "; "
		}
		f.Errors[key] += msg
	}
	for _, e := range fe {
		switch {
		case strings.HasPrefix(e.Field, "fields."):
			if i := f.rowFor(strings.TrimPrefix(e.Field, "fields.")); i >= 0 {
				row := &f.Rows[i]
				what := strings.TrimPrefix(strings.TrimPrefix(e.Field, "fields."+row.Name), ".")
				msg := e.Message
				if what != "" {
					msg = what + ": " + msg
				}
				if row.Error != "" {
					row.Error += "; "
				}
				row.Error += msg
				continue
			}
			add("fields", e.Field+": "+e.Message)
		case e.Field == "fields":
			add("fields", e.Message)
		case e.Field == "name", e.Field == "trigger", e.Field == "schedule", e.Field == "write_mode", e.Field == "priority", e.Field == "advanced":
			add(e.Field, e.Message)
		case strings.HasPrefix(e.Field, "source."), e.Field == "source":
			add("source", e.Message)
		case strings.HasPrefix(e.Field, "target."), e.Field == "target":
			add("target", e.Message)
		case e.Field == "condition.status_field", e.Field == "condition.status_in":
			add("condition", strings.TrimPrefix(e.Field, "condition.")+": "+e.Message)
		default:
			add("advanced", e.Field+": "+e.Message)
		}
	}
}

// rowFor finds the row a field error's path ("customer.template") is about: the longest
// attribute name it starts with.
func (f *flowForm) rowFor(path string) int {
	best, bestLen := -1, -1
	for i, row := range f.Rows {
		if (path == row.Name || strings.HasPrefix(path, row.Name+".")) && len(row.Name) > bestLen {
			best, bestLen = i, len(row.Name)
		}
	}
	return best
}

func (c *Console) flowNew(w http.ResponseWriter, r *http.Request, req *request) {
	if !c.onlyAdmins(w, r, req) {
		return
	}
	f := flowForm{Trigger: flow.TriggerManual, WriteMode: flow.ModeCreate, Priority: flow.PrioritySource}
	c.showFlowForm(w, r, req, http.StatusOK, f, flow.Definition{}, nil)
}

func (c *Console) flowEdit(w http.ResponseWriter, r *http.Request, req *request) {
	fl, err := c.flowFromPath(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	if !c.onlyAdmins(w, r, req) {
		return
	}
	def := fl.Definition
	f := flowForm{Editing: true, ID: fl.ID, Name: def.Name, Source: sideValue(def.Source), Target: sideValue(def.Target),
		Trigger: def.Trigger, Schedule: def.Schedule, WriteMode: def.WriteMode, Priority: def.Priority,
		StatusField: def.Condition.StatusField, StatusIn: strings.Join(def.Condition.StatusIn, ", "), Advanced: advancedJSON(def)}
	c.showFlowForm(w, r, req, http.StatusOK, f, def, nil)
}

// showFlowForm renders the form; keep are the rows as typed (after an error or a refresh).
func (c *Console) showFlowForm(w http.ResponseWriter, r *http.Request, req *request, status int, f flowForm, def flow.Definition, keep []formRow) {
	fc, err := c.flowCatalogs(req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	if keep != nil {
		def.Fields = nil
	}
	fc.fill(&f, def, keep)
	title := "New flow"
	if f.Editing {
		title = "Edit " + f.Name
	}
	c.render(w, r, req, status, "flow_form", view{Title: title, Nav: "flows", Data: f})
}

func (c *Console) flowCreate(w http.ResponseWriter, r *http.Request, req *request) {
	if !c.onlyAdmins(w, r, req) {
		return
	}
	c.saveFlow(w, r, req, flowForm{})
}

func (c *Console) flowSave(w http.ResponseWriter, r *http.Request, req *request) {
	fl, err := c.flowFromPath(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	if !c.onlyAdmins(w, r, req) {
		return
	}
	c.saveFlow(w, r, req, flowForm{Editing: true, ID: fl.ID})
}

// saveFlow validates the posted flow through the flow service and stores it, or shows the
// form again with each error beside its field and everything as typed.
func (c *Console) saveFlow(w http.ResponseWriter, r *http.Request, req *request, f flowForm) {
	def, advErr := readFlowForm(r, &f)
	typed := append([]formRow(nil), f.Rows...)
	if r.PostFormValue("step") == "refresh" {
		// Another source or target was chosen, or values are to be mapped: show the table anew.
		c.showFlowForm(w, r, req, http.StatusOK, f, def, typed)
		return
	}
	err := advErr
	if err == nil {
		err = c.checkFlowSides(req, def)
	}
	if err == nil {
		var saved flow.Flow
		if f.Editing {
			saved, err = c.Flows.Update(req.ctx, req.id.WorkspaceID, f.ID, def)
		} else {
			saved, err = c.Flows.Create(req.ctx, req.id.WorkspaceID, def)
		}
		if err == nil {
			verb := "created"
			if f.Editing {
				verb = "saved"
			}
			redirect(w, r, fmt.Sprintf("/flows/%d", saved.ID), flash{"ok", fmt.Sprintf("Flow “%s” %s.", saved.Name, verb)})
			return
		}
	}
	var fe driver.FieldErrors
	if !errors.As(err, &fe) {
		f.Problem = c.message(err)
		c.showFlowForm(w, r, req, http.StatusUnprocessableEntity, f, def, typed)
		return
	}
	f.placeErrors(fe)
	for i := range typed {
		typed[i].Error = f.Rows[i].Error
	}
	f.Problem = "Nothing was saved. Please correct the fields marked below."
	c.showFlowForm(w, r, req, http.StatusUnprocessableEntity, f, def, typed)
}

// checkFlowSides answers a connection the user may not see as a wrong field, exactly like
// one that does not exist, as the API does.
func (c *Console) checkFlowSides(req *request, def flow.Definition) error {
	var fe driver.FieldErrors
	for _, s := range []struct {
		at string
		id int64
	}{{"source.connection_id", def.Source.ConnectionID}, {"target.connection_id", def.Target.ConnectionID}} {
		if s.id == 0 {
			fe = append(fe, driver.FieldError{Field: s.at, Message: "choose a connection's entity"})
			continue
		}
		if _, err := c.Store.GetVisibleConnection(req.ctx, req.id.Viewer(), s.id); errors.Is(err, store.ErrNotFound) {
			fe = append(fe, driver.FieldError{Field: s.at, Message: fmt.Sprintf("no connection %d", s.id)})
		} else if err != nil {
			return err
		}
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}
