package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/flow"
	"github.com/junction-hub/junction/internal/store"
)

// dryRunLimit is how many records a dry run previews unless the user asks for another number.
const dryRunLimit = 20

// sideView is one end of a flow: a connection's entity.
type sideView struct {
	ConnID int64
	Conn   string // "" when the connection no longer exists
	Entity string
}

// flowRow is one line of the flows list.
type flowRow struct {
	ID        int64
	Name      string
	Source    sideView
	Target    sideView
	Trigger   string
	Schedule  string
	NextRunAt *time.Time
	LastJob   *store.Job
	Failed    int64
}

// visibleFlow loads a flow the user may see, by the API's rule: one of the workspace
// whose two connections the user may see. A connection deleted since hides nothing (the
// flow stays visible, to be fixed or deleted); any other flow is not found.
func (c *Console) visibleFlow(req *request, id int64) (flow.Flow, error) {
	f, err := c.Flows.Get(req.ctx, req.id.WorkspaceID, id)
	if err != nil {
		return f, err
	}
	if err := c.canSeeFlow(req, f); err != nil {
		return flow.Flow{}, err
	}
	return f, nil
}

// canSeeFlow is nil when the user may see both (still existing) connections of f, and
// store.ErrNotFound when not.
func (c *Console) canSeeFlow(req *request, f flow.Flow) error {
	for _, conn := range []int64{f.SourceConnectionID, f.TargetConnectionID} {
		if _, err := c.Store.GetConnection(req.ctx, req.id.WorkspaceID, conn); errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if _, err := c.Store.GetVisibleConnection(req.ctx, req.id.Viewer(), conn); err != nil {
			return err
		}
	}
	return nil
}

// flowFromPath is visibleFlow for the {id} of the request's path.
func (c *Console) flowFromPath(r *http.Request, req *request) (flow.Flow, error) {
	id, ok := pathID(r)
	if !ok {
		return flow.Flow{}, store.ErrNotFound
	}
	return c.visibleFlow(req, id)
}

// connectionNames maps the ids of the connections the user sees to their names.
func (c *Console) connectionNames(req *request) (map[int64]string, error) {
	list, err := c.Store.ListVisibleConnections(req.ctx, req.id.Viewer())
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(list))
	for _, conn := range list {
		out[conn.ID] = conn.Name
	}
	return out, nil
}

func (c *Console) flowList(w http.ResponseWriter, r *http.Request, req *request) {
	list, err := c.Flows.List(req.ctx, req.id.WorkspaceID)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	names, err := c.connectionNames(req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	rows := make([]flowRow, 0, len(list))
	for _, f := range list {
		if err := c.canSeeFlow(req, f); errors.Is(err, store.ErrNotFound) {
			continue // a connection the user may not see
		} else if err != nil {
			c.fail(w, r, req, err)
			return
		}
		row, err := c.flowRow(req, f, names)
		if err != nil {
			c.fail(w, r, req, err)
			return
		}
		rows = append(rows, row)
	}
	c.render(w, r, req, http.StatusOK, "flows", view{Title: "Flows", Nav: "flows", Data: rows})
}

func (c *Console) flowRow(req *request, f flow.Flow, names map[int64]string) (flowRow, error) {
	row := flowRow{ID: f.ID, Name: f.Name, Trigger: f.Trigger, Schedule: f.Schedule, NextRunAt: f.NextRunAt,
		Source: sideView{ConnID: f.SourceConnectionID, Conn: names[f.SourceConnectionID], Entity: f.SourceEntity},
		Target: sideView{ConnID: f.TargetConnectionID, Conn: names[f.TargetConnectionID], Entity: f.TargetEntity}}
	if f.LastRunJobID != nil {
		if j, err := c.Store.GetJob(req.ctx, req.id.WorkspaceID, *f.LastRunJobID); err == nil {
			row.LastJob = &j
		} else if !errors.Is(err, store.ErrNotFound) {
			return row, err
		}
	}
	var err error
	row.Failed, err = c.Store.CountFailures(req.ctx, f.ID)
	return row, err
}

// mappingView is one target attribute of a mapping as the flow screen shows it.
type mappingView struct {
	Target  string
	Kind    string // source, constant, template, parent
	Value   string
	Default string
	Values  *valuesView
}

type valuesView struct {
	Pairs    []pairView
	Auto     bool
	Unmapped string
	Default  string
}

type pairView struct {
	From, To string
	Auto     bool // paired by name, not by the user
}

type lineView struct {
	From, To string // "order_lines by order_id", "field lines"
	Fields   []mappingView
}

type writeBackView struct {
	Field string
	In    string
	Set   string
}

// flowPage is the data of the flow screen.
type flowPage struct {
	flowRow
	Def       flow.Definition
	Condition []string // readable parts of the condition; empty: every record
	Fields    []mappingView
	Lines     []lineView
	OnSuccess string
	WriteBack []writeBackView
	Removal   string
	Tab       string // definition, dry-run, failed, links
	// Dry run, and a run of chosen records.
	Limit  int
	Keys   string // the chosen source keys as typed; empty: what the next run would handle
	DryRun []dryRunItem
	Ran    bool
	// Failed records.
	Failures []store.Failure
	// Links.
	LinkState string
	Links     []store.Link
	NextLinks string // the source key to continue after, "" on the last page
	FirstPage bool
}

type dryRunItem struct {
	flow.Item
	Output []recordField
	Lines  int
}

func (c *Console) flowShow(w http.ResponseWriter, r *http.Request, req *request) {
	f, err := c.flowFromPath(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	names, err := c.connectionNames(req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	row, err := c.flowRow(req, f, names)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	q := r.URL.Query()
	p := flowPage{flowRow: row, Def: f.Definition, Tab: q.Get("tab")}
	describeFlow(&p, f.Definition)
	switch p.Tab {
	case "dry-run":
		p.Limit = dryRunLimit
		if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
			p.Limit = min(n, 1000)
		}
		p.Keys = strings.Join(splitKeys(q.Get("keys")), " ")
		if q.Get("run") != "" {
			items, err := c.Flows.DryRun(req.ctx, req.id.WorkspaceID, f.ID, splitKeys(p.Keys), p.Limit)
			if driver.IsConfig(err) {
				c.render(w, r, req, http.StatusUnprocessableEntity, "flow", view{Title: f.Name, Nav: "flows", Data: p,
					Flash: []flash{{"error", "Dry run: " + err.Error()}}})
				return
			}
			if err != nil {
				c.fail(w, r, req, err)
				return
			}
			p.Ran = true
			for _, it := range items {
				p.DryRun = append(p.DryRun, dryRunItem{Item: it, Output: readableFields(it.Fields), Lines: len(it.Lines)})
			}
		}
	case "failed":
		if p.Failures, err = c.Store.ListFailures(req.ctx, f.ID, q.Get("after"), 1000); err != nil {
			c.fail(w, r, req, err)
			return
		}
	case "links":
		p.LinkState = q.Get("state")
		switch p.LinkState {
		case store.LinkPending, store.LinkLinked, store.LinkSkipped, store.LinkRemoved:
		default:
			p.LinkState = ""
		}
		p.FirstPage = q.Get("after") == ""
		const perPage = 100
		if p.Links, err = c.Store.ListLinks(req.ctx, store.LinkFilter{FlowID: f.ID, State: p.LinkState, AfterKey: q.Get("after"), Limit: perPage}); err != nil {
			c.fail(w, r, req, err)
			return
		}
		if len(p.Links) == perPage {
			p.NextLinks = p.Links[len(p.Links)-1].SourceKey
		}
	default:
		p.Tab = "definition"
	}
	c.render(w, r, req, http.StatusOK, "flow", view{Title: f.Name, Nav: "flows", Data: p})
}

// describeFlow turns a definition into what the flow screen shows.
func describeFlow(p *flowPage, def flow.Definition) {
	cond := def.Condition
	if cond.StatusField != "" {
		p.Condition = append(p.Condition, fmt.Sprintf("%s is one of %s", cond.StatusField, strings.Join(cond.StatusIn, ", ")))
	}
	for _, w := range cond.Where {
		part := w.Field + " " + w.Op
		if w.Value != nil {
			part += " " + jsonText(w.Value)
		}
		p.Condition = append(p.Condition, part)
	}
	if len(cond.Keys) > 0 {
		p.Condition = append(p.Condition, "only the records "+strings.Join(cond.Keys, ", "))
	}
	p.Fields = mappingViews(def.Fields)
	for _, l := range def.Lines {
		lv := lineView{Fields: mappingViews(l.Fields)}
		if l.SourceEntity != "" {
			lv.From = fmt.Sprintf("%s by %s", l.SourceEntity, l.SourceParent)
		} else {
			lv.From = "field " + l.SourceField
		}
		if l.TargetEntity != "" {
			lv.To = l.TargetEntity
		} else {
			lv.To = "field " + l.TargetField
		}
		p.Lines = append(p.Lines, lv)
	}
	if len(def.OnSuccess) > 0 {
		p.OnSuccess = assignments(def.OnSuccess)
	}
	for _, wb := range def.WriteBack {
		p.WriteBack = append(p.WriteBack, writeBackView{Field: wb.Field, In: strings.Join(wb.In, ", "), Set: assignments(wb.Set)})
	}
	p.Removal = def.Removal.Policy
	if def.Removal.Policy == flow.RemoveDeactivate {
		p.Removal += ": set " + assignments(def.Removal.Set)
	}
}

func mappingViews(fields map[string]flow.FieldMapping) []mappingView {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]mappingView, 0, len(names))
	for _, n := range names {
		f := fields[n]
		mv := mappingView{Target: n, Default: rawText(f.Default)}
		switch {
		case f.Source != "":
			mv.Kind, mv.Value = "source", f.Source
		case len(f.Constant) > 0:
			mv.Kind, mv.Value = "constant", rawText(f.Constant)
		case f.Template != "":
			mv.Kind, mv.Value = "template", f.Template
		case f.Parent != "":
			mv.Kind, mv.Value = "parent", f.Parent
		}
		if vm := f.Values; vm != nil {
			vv := &valuesView{Auto: vm.Auto, Unmapped: vm.Unmapped, Default: rawText(vm.Default)}
			if vv.Unmapped == "" {
				vv.Unmapped = flow.UnmappedFail
			}
			for _, from := range sortedKeys(vm.Map) {
				vv.Pairs = append(vv.Pairs, pairView{From: from, To: vm.Map[from]})
			}
			for _, from := range sortedKeys(vm.AutoMapped) {
				vv.Pairs = append(vv.Pairs, pairView{From: from, To: vm.AutoMapped[from], Auto: true})
			}
			mv.Values = vv
		}
		out = append(out, mv)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// assignments shows a set of field values as "status_id = 3, note = "sent"".
func assignments(m map[string]any) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, n+" = "+jsonText(m[n]))
	}
	return strings.Join(parts, ", ")
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// rawText shows a JSON value as people typed it: a string without its quotes.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// readableFields lists a mapped output by field name.
func readableFields(fields map[string]any) []recordField {
	out := make([]recordField, 0, len(fields))
	for n, v := range fields {
		s, ok := v.(string)
		if !ok {
			s = jsonText(v)
		}
		out = append(out, recordField{Name: n, Value: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// maxChosenKeys is how many records one run of chosen records may name, as in the API.
const maxChosenKeys = 10000

// splitKeys reads source keys typed into a form: separated by commas, spaces or lines.
func splitKeys(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// flowRun starts a run: of the chosen records when keys are posted (sent even when
// unchanged, as the API's run with keys), otherwise of every changed record.
func (c *Console) flowRun(w http.ResponseWriter, r *http.Request, req *request) {
	f, err := c.flowFromPath(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	back := fmt.Sprintf("/flows/%d", f.ID)
	if r.PostFormValue("back") == "/flows" {
		back = "/flows"
	}
	keys := splitKeys(r.PostFormValue("keys"))
	if len(keys) > maxChosenKeys {
		redirect(w, r, back, flash{"error", fmt.Sprintf("%s: keys: at most %d records at a time, not %d.", f.Name, maxChosenKeys, len(keys))})
		return
	}
	j, existing, err := c.Flows.Run(req.ctx, req.id.WorkspaceID, f.ID, keys)
	if err != nil {
		redirect(w, r, back, flash{"error", f.Name + ": " + c.message(err)})
		return
	}
	msg := fmt.Sprintf("%s: run started as job %d.", f.Name, j.ID)
	switch {
	case existing:
		msg = fmt.Sprintf("%s: a run is already waiting to start (job %d).", f.Name, j.ID)
	case len(keys) == 1:
		msg = fmt.Sprintf("%s: run of record %s started as job %d.", f.Name, keys[0], j.ID)
	case len(keys) > 1:
		msg = fmt.Sprintf("%s: run of %d chosen records started as job %d.", f.Name, len(keys), j.ID)
	}
	redirect(w, r, back, flash{"ok", msg})
}

// flowRetry starts a run of the failed records: the one posted as key, or all of them.
func (c *Console) flowRetry(w http.ResponseWriter, r *http.Request, req *request) {
	f, err := c.flowFromPath(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	var keys []string
	if k := r.PostFormValue("key"); k != "" {
		keys = []string{k}
	}
	back := fmt.Sprintf("/flows/%d?tab=failed", f.ID)
	j, err := c.Flows.Retry(req.ctx, req.id.WorkspaceID, f.ID, keys)
	if err != nil {
		redirect(w, r, back, flash{"error", f.Name + ": " + c.message(err)})
		return
	}
	what := "all failed records"
	if len(keys) == 1 {
		what = "record " + keys[0]
	}
	redirect(w, r, back, flash{"ok", fmt.Sprintf("Retry of %s started as job %d.", what, j.ID)})
}

// flowDelete removes a flow with its links and failed records; admins only.
func (c *Console) flowDelete(w http.ResponseWriter, r *http.Request, req *request) {
	f, err := c.flowFromPath(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	if !c.onlyAdmins(w, r, req) {
		return
	}
	if err := c.Flows.Delete(req.ctx, req.id.WorkspaceID, f.ID); err != nil {
		redirect(w, r, fmt.Sprintf("/flows/%d", f.ID), flash{"error", f.Name + ": " + c.message(err)})
		return
	}
	redirect(w, r, "/flows", flash{"ok", fmt.Sprintf("Flow “%s” deleted with its links and failed records.", f.Name)})
}
