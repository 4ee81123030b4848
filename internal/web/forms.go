package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

// fieldView is one input of a form drawn from a driver's spec.
type fieldView struct {
	Name      string // form name: "credentials.host", the same as driver.FieldError.Field
	ID        string
	Label     string
	Input     string // HTML input type, or "select"
	Step      string // for number inputs
	Options   []string
	Value     string // never a secret's value
	Help      string
	Required  bool
	Secret    bool
	SecretSet bool // editing: the stored secret exists
	Error     string
}

// specFields turns a group of a spec's fields into inputs. values are what to show (typed
// or stored, secrets left out); errs are the messages by form name; stored says which
// secrets are set when editing (nil when creating).
func specFields(group string, fields []driver.Field, values map[string]any, errs map[string]string, stored map[string]bool) []fieldView {
	out := make([]fieldView, 0, len(fields))
	for _, f := range fields {
		name := group + "." + f.Name
		v := fieldView{Name: name, ID: "f-" + strings.ReplaceAll(name, ".", "-"), Label: f.Label, Help: f.Help,
			Required: f.Required, Secret: f.IsSecret(), Error: errs[name]}
		if v.Label == "" {
			v.Label = f.Name
		}
		switch f.Type {
		case driver.TypeInteger:
			v.Input, v.Step = "number", "1"
		case driver.TypeNumber:
			v.Input, v.Step = "number", "any"
		case driver.TypeBoolean:
			v.Input, v.Options = "select", []string{"true", "false"}
		case driver.TypeSelect:
			v.Input, v.Options = "select", f.Options
		case driver.TypeURL:
			v.Input = "url"
		case driver.TypeEmail:
			v.Input = "email"
		default:
			v.Input = "text"
		}
		if v.Input == "select" && !f.Required && f.Default == nil {
			// An optional choice without a default can stay unset.
			v.Options = append([]string{""}, v.Options...)
		}
		if v.Secret {
			v.Input = "password"
			v.SecretSet = stored[f.Name]
			if stored != nil {
				v.Required = false // empty keeps the stored value
			}
		} else if raw, ok := values[f.Name]; ok && raw != nil {
			v.Value = fmt.Sprint(raw)
		} else if f.Default != nil {
			v.Value = fmt.Sprint(f.Default)
		}
		if f.Type == driver.TypeDuration && v.Help == "" {
			v.Help = "A duration such as 90s, 15m or 2h."
		}
		out = append(out, v)
	}
	return out
}

// formValues reads a spec group's fields from a posted form. Empty fields are left out
// when creating (the spec's defaults apply); when editing, an empty secret is left out
// (the stored one stays) and an empty other field is sent empty (cleared).
func formValues(r *http.Request, group string, fields []driver.Field, editing bool) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		v := r.PostFormValue(group + "." + f.Name)
		if f.Type != driver.TypePassword && !f.IsSecret() {
			v = strings.TrimSpace(v)
		}
		if v == "" && (!editing || f.IsSecret()) {
			continue
		}
		out[f.Name] = v
	}
	return out
}

// typedValues are the non-secret values of a posted form, to show again after an error.
func typedValues(vals map[string]any, fields []driver.Field) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := vals[f.Name]; ok && !f.IsSecret() {
			out[f.Name] = v
		}
	}
	return out
}

// withoutDefaults drops the values that are just the fields' defaults.
func withoutDefaults(vals map[string]any, fields []driver.Field) map[string]any {
	for _, f := range fields {
		if f.Default != nil && fmt.Sprint(vals[f.Name]) == fmt.Sprint(f.Default) {
			delete(vals, f.Name)
		}
	}
	return vals
}

// fieldErrors spreads errors over the form: by field name, plus what names no field shown.
func fieldErrors(fe driver.FieldErrors, shown func(string) bool) (map[string]string, []string) {
	byField := map[string]string{}
	var other []string
	for _, e := range fe {
		if shown(e.Field) {
			if byField[e.Field] != "" {
				byField[e.Field] += "; "
			}
			byField[e.Field] += e.Message
			continue
		}
		other = append(other, e.Field+": "+e.Message)
	}
	return byField, other
}

// readScope reads the scope inputs: mode, and the users' and groups' ids when restricted.
func readScope(r *http.Request) (store.Scope, error) {
	sc := store.Scope{Mode: r.PostFormValue("scope")}
	if sc.Mode == "" {
		sc.Mode = store.ScopeEveryone
	}
	if sc.Mode != store.ScopeRestricted {
		return sc, nil
	}
	for _, raw := range r.PostForm["scope_user"] {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return sc, fmt.Errorf("scope user %q: not an id", raw)
		}
		sc.UserIDs = append(sc.UserIDs, id)
	}
	for _, raw := range r.PostForm["scope_group"] {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return sc, fmt.Errorf("scope group %q: not an id", raw)
		}
		sc.GroupIDs = append(sc.GroupIDs, id)
	}
	return sc, nil
}
