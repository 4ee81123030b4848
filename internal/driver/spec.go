package driver

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FieldType is the kind of value a field holds; forms and validation follow it.
type FieldType string

const (
	TypeText     FieldType = "text"
	TypePassword FieldType = "password"
	TypeInteger  FieldType = "integer"
	TypeNumber   FieldType = "number"
	TypeBoolean  FieldType = "boolean"
	TypeSelect   FieldType = "select"
	TypeURL      FieldType = "url"
	TypeEmail    FieldType = "email"
	TypePath     FieldType = "path"
	TypeDuration FieldType = "duration"
)

var fieldTypes = map[FieldType]bool{
	TypeText: true, TypePassword: true, TypeInteger: true, TypeNumber: true, TypeBoolean: true,
	TypeSelect: true, TypeURL: true, TypeEmail: true, TypePath: true, TypeDuration: true,
}

// Field declares one credential or setting. It is the single description of the field:
// API validation, console forms, CLI help and docs all come from it.
type Field struct {
	Name     string    `json:"name"`
	Label    string    `json:"label"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required,omitempty"`
	Default  any       `json:"default,omitempty"`
	Options  []string  `json:"options,omitempty"` // for TypeSelect
	Help     string    `json:"help,omitempty"`
	Secret   bool      `json:"secret,omitempty"` // never shown, logged or returned; implied by TypePassword
}

// IsSecret reports whether the field's value must never leave the store in clear.
func (f Field) IsSecret() bool { return f.Secret || f.Type == TypePassword }

// Capabilities says which optional powers a driver has.
type Capabilities struct {
	Read     bool `json:"read"`
	Write    bool `json:"write"`
	Lookup   bool `json:"lookup"`
	Webhooks bool `json:"webhooks"`
}

// Spec is what a driver declares about itself.
type Spec struct {
	Name         string       `json:"name"`
	Label        string       `json:"label"`
	Description  string       `json:"description,omitempty"`
	Credentials  []Field      `json:"credentials"`
	Settings     []Field      `json:"settings"`
	Capabilities Capabilities `json:"capabilities"`
	// Entities lists the entity types the driver always has; drivers whose entities come
	// from the system (tables of a database) leave it empty and report them in Discover.
	Entities []string `json:"entities,omitempty"`
}

// Valid reports mistakes in the spec itself, so a broken driver fails at registration.
func (s Spec) Valid() error {
	if s.Name == "" {
		return fmt.Errorf("spec: name is empty")
	}
	seen := map[string]bool{}
	for _, group := range [][]Field{s.Credentials, s.Settings} {
		for _, f := range group {
			switch {
			case f.Name == "":
				return fmt.Errorf("spec %s: a field has no name", s.Name)
			case seen[f.Name]:
				return fmt.Errorf("spec %s: field %q declared twice", s.Name, f.Name)
			case !fieldTypes[f.Type]:
				return fmt.Errorf("spec %s: field %q has unknown type %q", s.Name, f.Name, f.Type)
			case f.Type == TypeSelect && len(f.Options) == 0:
				return fmt.Errorf("spec %s: select field %q has no options", s.Name, f.Name)
			}
			seen[f.Name] = true
		}
	}
	return nil
}

// Config is a connection's credentials and settings, as validated against the spec.
type Config struct {
	Credentials Values `json:"credentials"`
	Settings    Values `json:"settings"`
}

// Values holds field values by name.
type Values map[string]any

// String returns the value as a string ("" when unset).
func (v Values) String(name string) string {
	switch x := v[name].(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// Int returns the value as an integer (0 when unset or not a number).
func (v Values) Int(name string) int64 {
	n, _ := toInt(v[name])
	return n
}

// Bool returns the value as a boolean.
func (v Values) Bool(name string) bool {
	b, _ := toBool(v[name])
	return b
}

// List splits a comma-separated text value into trimmed, non-empty items.
func (v Values) List(name string) []string {
	var out []string
	for _, s := range strings.Split(v.String(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// FieldError says what is wrong with one field. Field is "credentials.NAME" or "settings.NAME".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FieldErrors is returned by validation and by Check when given fields are wrong.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Message
	}
	return strings.Join(parts, "; ")
}

// CredentialError is a shorthand for drivers' Check: one wrong credential field.
func CredentialError(name, message string) FieldErrors {
	return FieldErrors{{Field: "credentials." + name, Message: message}}
}

// SettingError is a shorthand for drivers' Check: one wrong setting field.
func SettingError(name, message string) FieldErrors {
	return FieldErrors{{Field: "settings." + name, Message: message}}
}

// Validate checks cfg against the spec and returns it normalised: defaults filled in,
// numbers and booleans given as text converted, unknown fields refused. The error, if any,
// is FieldErrors with one entry per wrong field, never containing a secret's value.
func (s Spec) Validate(cfg Config) (Config, error) {
	var errs FieldErrors
	out := Config{
		Credentials: validateGroup("credentials", s.Credentials, cfg.Credentials, &errs),
		Settings:    validateGroup("settings", s.Settings, cfg.Settings, &errs),
	}
	if len(errs) > 0 {
		return Config{}, errs
	}
	return out, nil
}

func validateGroup(group string, fields []Field, in Values, errs *FieldErrors) Values {
	out := Values{}
	known := map[string]bool{}
	for _, f := range fields {
		known[f.Name] = true
		name := group + "." + f.Name
		raw, present := in[f.Name]
		if !present || raw == nil || raw == "" {
			if f.Default != nil {
				out[f.Name] = f.Default
			} else if f.Required {
				*errs = append(*errs, FieldError{name, "is required"})
			}
			continue
		}
		v, msg := convert(f, raw)
		if msg != "" {
			*errs = append(*errs, FieldError{name, msg})
			continue
		}
		out[f.Name] = v
	}
	var unknown []string
	for k := range in {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		*errs = append(*errs, FieldError{group + "." + k, "is not a field of this driver"})
	}
	return out
}

// convert turns a raw JSON or form value into the field's type, or says why it cannot.
// Messages never quote the value, which may be a secret.
func convert(f Field, raw any) (any, string) {
	switch f.Type {
	case TypeInteger:
		n, ok := toInt(raw)
		if !ok {
			return nil, "must be a whole number"
		}
		return n, ""
	case TypeNumber:
		switch x := raw.(type) {
		case float64:
			return x, ""
		case int, int64:
			n, _ := toInt(x)
			return float64(n), ""
		case string:
			n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
				return nil, "must be a number"
			}
			return n, ""
		case json.Number:
			n, err := x.Float64()
			if err != nil {
				return nil, "must be a number"
			}
			return n, ""
		}
		return nil, "must be a number"
	case TypeBoolean:
		b, ok := toBool(raw)
		if !ok {
			return nil, "must be true or false"
		}
		return b, ""
	}
	s, ok := raw.(string)
	if !ok {
		return nil, "must be text"
	}
	switch f.Type {
	case TypeSelect:
		for _, o := range f.Options {
			if s == o {
				return s, ""
			}
		}
		return nil, "must be one of: " + strings.Join(f.Options, ", ")
	case TypeURL:
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, "must be an absolute URL"
		}
	case TypeEmail:
		if _, err := mail.ParseAddress(s); err != nil {
			return nil, "must be an e-mail address"
		}
	case TypeDuration:
		if _, err := time.ParseDuration(s); err != nil {
			return nil, "must be a duration such as 90s, 15m or 2h"
		}
	}
	return s, ""
}

func toInt(raw any) (int64, bool) {
	switch x := raw.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int64(x), true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func toBool(raw any) (bool, bool) {
	switch x := raw.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	}
	return false, false
}

// Masked returns a copy of cfg fit to show: every secret field that is set becomes "********".
func (s Spec) Masked(cfg Config) Config {
	mask := func(fields []Field, in Values) Values {
		out := Values{}
		for k, v := range in {
			out[k] = v
		}
		for _, f := range fields {
			if _, ok := out[f.Name]; ok && f.IsSecret() {
				out[f.Name] = Mask
			}
		}
		return out
	}
	return Config{Credentials: mask(s.Credentials, cfg.Credentials), Settings: mask(s.Settings, cfg.Settings)}
}

// Mask stands in for a secret value that is set.
const Mask = "********"

// SecretValues lists the values of cfg's secret fields, so logs and errors can be scrubbed.
func (s Spec) SecretValues(cfg Config) []string {
	var out []string
	for _, group := range []struct {
		fields []Field
		values Values
	}{{s.Credentials, cfg.Credentials}, {s.Settings, cfg.Settings}} {
		for _, f := range group.fields {
			if v := group.values.String(f.Name); f.IsSecret() && v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}
