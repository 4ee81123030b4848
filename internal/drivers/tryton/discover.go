package tryton

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
)

// model is one Tryton model as ir.model describes it.
type model struct {
	ID    int64
	Name  string // e.g. sale.sale
	Label string // e.g. Sale
}

// field is one field of a model, from ir.model.field and the model's fields_get.
type field struct {
	Name     string
	Label    string
	Type     string // Tryton's ttype: char, many2one, numeric…
	Relation string // target model of relational fields
	// RelationField is, for a one2many field, the many2one of the related model that
	// points back (sale.line's sale for sale.sale's lines).
	RelationField string
	Required      bool
	Sortable      bool       // Tryton can order by it: stored, or computed with an order method
	Lazy          bool       // loaded on demand: computed fields, texts, translated names…
	Readonly      bool       // computed fields without a setter are
	Selection     [][]string // [value, label] pairs of a static selection
}

type missingModelError struct{ names []string }

func (e *missingModelError) Error() string {
	return fmt.Sprintf("Tryton has no model %s (is its module activated?)", strings.Join(e.names, ", "))
}

// loadModels reads the named models from ir.model, in the order given.
func loadModels(ctx context.Context, c *rpc.Client, names []string) ([]model, error) {
	var rows []map[string]any
	if err := c.Call(ctx, "model.ir.model.search_read", &rows,
		[]any{[]any{"model", "in", names}}, 0, nil, nil, []string{"model", "name"}); err != nil {
		return nil, fmt.Errorf("read ir.model: %w", err)
	}
	found := map[string]model{}
	for _, r := range rows {
		id, _ := rpc.Int(r["id"])
		name, _ := r["model"].(string)
		label, _ := r["name"].(string)
		found[name] = model{ID: id, Name: name, Label: label}
	}
	var out []model
	var missing []string
	for _, n := range names {
		m, ok := found[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		out = append(out, m)
	}
	if len(missing) > 0 {
		return nil, &missingModelError{names: missing}
	}
	return out, nil
}

// loadFields reads a model's fields from ir.model.field, completed by fields_get for
// what the registry does not hold (required, stored, selection values).
func loadFields(ctx context.Context, c *rpc.Client, m model) ([]field, error) {
	var rows []map[string]any
	if err := c.Call(ctx, "model.ir.model.field.search_read", &rows,
		[]any{[]any{"model", "=", m.ID}}, 0, nil, [][]string{{"name", "ASC"}},
		[]string{"name", "field_description", "ttype", "relation"}); err != nil {
		return nil, fmt.Errorf("read ir.model.field of %s: %w", m.Name, err)
	}
	var defs map[string]json.RawMessage
	if err := c.Call(ctx, "model."+m.Name+".fields_get", &defs, nil); err != nil {
		return nil, fmt.Errorf("fields_get %s: %w", m.Name, err)
	}
	var out []field
	for _, r := range rows {
		f := field{}
		f.Name, _ = r["name"].(string)
		f.Label, _ = r["field_description"].(string)
		f.Type, _ = r["ttype"].(string)
		f.Relation, _ = r["relation"].(string)
		raw, ok := defs[f.Name]
		if !ok {
			continue // not readable by this user
		}
		var def struct {
			Required      bool            `json:"required"`
			RelationField string          `json:"relation_field"`
			Sortable      bool            `json:"sortable"`
			Readonly      bool            `json:"readonly"`
			Loading       string          `json:"loading"`
			Selection     json.RawMessage `json:"selection"`
		}
		if err := json.Unmarshal(raw, &def); err != nil {
			return nil, fmt.Errorf("fields_get %s.%s: %w", m.Name, f.Name, err)
		}
		f.Required, f.Sortable, f.Readonly, f.Lazy = def.Required, def.Sortable, def.Readonly, def.Loading == "lazy"
		f.RelationField = def.RelationField
		// A static selection is a list of pairs; a dynamic one names a method.
		var pairs [][]any
		if json.Unmarshal(def.Selection, &pairs) == nil {
			for _, p := range pairs {
				if len(p) == 2 {
					v, _ := p[0].(string)
					l, _ := p[1].(string)
					if v != "" || l != "" {
						f.Selection = append(f.Selection, []string{v, l})
					}
				}
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// mirrored reports whether a field is read into records: stored, single-valued fields.
// One2many and many2many lists, binary data and computed fields (which change without
// write_date moving, so incremental reads could not follow them) are left out;
// id, create_date and write_date are always in. Tryton's RPC does not say which fields
// are stored, so computed ones are told by what fields_get says of them: Tryton cannot
// order by most of them, and the others (such as the fields product.product takes from
// its template) are loaded lazily and read-only, which stored fields rarely are.
func (f field) mirrored() bool {
	switch f.Name {
	case "id", "create_date", "write_date":
		return true
	case "rec_name":
		return false
	}
	switch f.Type {
	case "one2many", "many2many", "binary":
		return false
	}
	return f.Sortable && !(f.Lazy && f.Readonly)
}

// writtenWithParent reports whether a field is a list of records written with their
// parent (a sale's lines): a writable one2many. It is in the catalog, so flows can map
// lines into it, but records do not carry it (the lines are their own entity).
func (f field) writtenWithParent() bool {
	return f.Type == "one2many" && !f.Readonly && f.Relation != "" && f.RelationField != ""
}

// attrType maps a Tryton field type to a catalog attribute type.
func attrType(ttype string) string {
	switch ttype {
	case "integer", "biginteger", "many2one", "one2one":
		return driver.AttrInteger
	case "float", "timedelta":
		return driver.AttrNumber
	case "numeric":
		return driver.AttrDecimal
	case "boolean":
		return driver.AttrBoolean
	case "date":
		return driver.AttrDate
	case "datetime", "timestamp":
		return driver.AttrDateTime
	case "dict", "multiselection", "one2many":
		return driver.AttrJSON
	case "binary":
		return driver.AttrBinary
	}
	return driver.AttrString // char, text, selection, reference, time, sha…
}

// Discover describes the configured models: one entity per model, keyed by id and
// followed by write_date; selection fields become value lists named MODEL.FIELD and
// many2one fields reference their target model.
func (d *Driver) Discover(ctx context.Context, cfg driver.Config) (*driver.Catalog, error) {
	c, err := d.session(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Logout(context.WithoutCancel(ctx))
	ms, err := loadModels(ctx, c, models(cfg))
	if err != nil {
		return nil, modelError(cfg, err)
	}
	cat := &driver.Catalog{}
	for _, m := range ms {
		fields, err := loadFields(ctx, c, m)
		if err != nil {
			return nil, callError(cfg, err)
		}
		buttons, err := loadButtons(ctx, c, m)
		if err != nil {
			return nil, callError(cfg, err)
		}
		e, lists := entity(m, fields, buttons)
		cat.Entities = append(cat.Entities, e)
		cat.ValueLists = append(cat.ValueLists, lists...)
	}
	return cat, nil
}

// loadButtons reads the workflow buttons of a model from ir.model.button, as value-list
// entries: name and label.
func loadButtons(ctx context.Context, c *rpc.Client, m model) ([]driver.Value, error) {
	var rows []map[string]any
	if err := c.Call(ctx, "model.ir.model.button.search_read", &rows,
		[]any{[]any{"model", "=", m.ID}}, 0, nil, [][]string{{"name", "ASC"}}, []string{"name", "string"}); err != nil {
		return nil, fmt.Errorf("read ir.model.button of %s: %w", m.Name, err)
	}
	var out []driver.Value
	for _, r := range rows {
		name, _ := r["name"].(string)
		label, _ := r["string"].(string)
		if name != "" {
			out = append(out, driver.Value{ID: name, Name: label})
		}
	}
	return out, nil
}

// entity builds the catalog entity of a model and the value lists of its selections
// and buttons. Writable one2many fields and the reserved _buttons field are write-only
// attributes: flows can map them, records never carry them.
func entity(m model, fields []field, buttons []driver.Value) (driver.Entity, []driver.ValueList) {
	e := driver.Entity{Name: m.Name, Label: m.Label, Key: []string{"id"}, Cursor: "write_date"}
	var lists []driver.ValueList
	for _, f := range fields {
		if !f.mirrored() {
			if f.writtenWithParent() {
				e.Attributes = append(e.Attributes, driver.Attribute{Name: f.Name, Type: attrType(f.Type), NativeType: f.Type})
			}
			continue
		}
		a := driver.Attribute{Name: f.Name, Type: attrType(f.Type), NativeType: f.Type,
			Required: f.Required, Key: f.Name == "id"}
		if f.Type == "many2one" || f.Type == "one2one" {
			a.Reference = f.Relation
		}
		if f.Type == "selection" && len(f.Selection) > 0 {
			l := driver.ValueList{Name: m.Name + "." + f.Name, Label: m.Label + " " + f.Label}
			for _, p := range f.Selection {
				l.Values = append(l.Values, driver.Value{ID: p[0], Name: p[1]})
			}
			a.ValueList = l.Name
			lists = append(lists, l)
		}
		e.Attributes = append(e.Attributes, a)
	}
	if len(buttons) > 0 {
		l := driver.ValueList{Name: m.Name + "." + ButtonsField, Label: m.Label + " buttons", Values: buttons}
		e.Attributes = append(e.Attributes, driver.Attribute{Name: ButtonsField, Type: driver.AttrJSON, NativeType: "buttons", ValueList: l.Name})
		lists = append(lists, l)
	}
	sort.SliceStable(e.Attributes, func(i, j int) bool { return e.Attributes[i].Name == "id" && e.Attributes[j].Name != "id" })
	return e, lists
}
