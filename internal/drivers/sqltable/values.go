package sqltable

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/junction-hub/junction/internal/driver"
)

// timeLayouts are the text forms of timestamps databases store (SQLite keeps them as text).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTime reads a timestamp in any of timeLayouts; values without a zone are UTC.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// asTime interprets a scanned value as a point in time.
func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		return parseTime(x)
	case []byte:
		return parseTime(string(x))
	case int64: // SQLite stores some timestamps as Unix seconds
		return time.Unix(x, 0), true
	}
	return time.Time{}, false
}

// formatTime is the one text form of timestamps in records: RFC 3339, UTC, trailing zeros
// of the fraction trimmed.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// recordValue converts a value scanned from the database into the JSON-compatible form
// records carry. typ is the column's driver.Attr* type. A value that does not fit the
// type is passed on as text rather than lost.
func recordValue(typ string, v any) any {
	if v == nil {
		return nil
	}
	switch typ {
	case driver.AttrInteger:
		switch x := v.(type) {
		case int64:
			return v
		case uint64:
			if x <= math.MaxInt64 {
				return int64(x)
			}
		case bool:
			if x {
				return int64(1)
			}
			return int64(0)
		case []byte, string:
			if n, err := strconv.ParseInt(text(x), 10, 64); err == nil {
				return n
			}
		}
	case driver.AttrNumber:
		switch x := v.(type) {
		case float64:
			return v
		case float32:
			return float64(x)
		case int64:
			return float64(x)
		case []byte, string:
			if f, err := strconv.ParseFloat(text(x), 64); err == nil {
				return f
			}
		}
	case driver.AttrDecimal:
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case int64:
			return strconv.FormatInt(x, 10)
		}
	case driver.AttrBoolean:
		switch x := v.(type) {
		case bool:
			return v
		case int64:
			return x != 0
		case []byte, string:
			if b, err := strconv.ParseBool(text(x)); err == nil {
				return b
			}
		}
	case driver.AttrDateTime:
		if t, ok := asTime(v); ok {
			return formatTime(t)
		}
	case driver.AttrDate:
		if t, ok := asTime(v); ok {
			return t.Format(time.DateOnly)
		}
	case driver.AttrJSON:
		switch x := v.(type) {
		case []byte, string:
			var out any
			if err := json.Unmarshal([]byte(text(x)), &out); err == nil {
				return out
			}
		}
	case driver.AttrBinary:
		switch x := v.(type) {
		case []byte:
			return base64.StdEncoding.EncodeToString(x)
		case string:
			return base64.StdEncoding.EncodeToString([]byte(x))
		}
	}
	switch x := v.(type) {
	case string:
		return v
	case []byte:
		return string(x)
	case time.Time:
		return formatTime(x)
	case int64, float64, bool:
		return v
	}
	return fmt.Sprint(v)
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// argValue converts a JSON-compatible field value (as records carry them) into a query
// argument for a column of type typ. The error says what is wrong without the value.
func argValue(typ string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case driver.AttrInteger:
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
				return int64(x), nil
			}
		case json.Number:
			if n, err := x.Int64(); err == nil {
				return n, nil
			}
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n, nil
			}
		}
		return nil, fmt.Errorf("must be a whole number")
	case driver.AttrNumber:
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case json.Number:
			if f, err := x.Float64(); err == nil {
				return f, nil
			}
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		}
		return nil, fmt.Errorf("must be a number")
	case driver.AttrDecimal:
		switch x := v.(type) {
		case string:
			if _, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return strings.TrimSpace(x), nil
			}
		case json.Number:
			return x.String(), nil
		case int:
			return strconv.Itoa(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return nil, fmt.Errorf("must be a decimal number")
	case driver.AttrBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("must be true or false")
	case driver.AttrDateTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			if t, ok := parseTime(x); ok {
				return t.UTC(), nil
			}
		}
		return nil, fmt.Errorf("must be an RFC 3339 timestamp")
	case driver.AttrDate:
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.DateOnly, s); err == nil {
				return t.Format(time.DateOnly), nil
			}
		}
		return nil, fmt.Errorf("must be a date such as 2006-01-02")
	case driver.AttrJSON:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("cannot be encoded as JSON")
		}
		return string(b), nil
	case driver.AttrBinary:
		if s, ok := v.(string); ok {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("must be base64 text")
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case bool, int, int64, float64, json.Number:
		return fmt.Sprint(x), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("must be text")
	}
	return string(b), nil
}

// keyString encodes a record's key: the value as text for a single column, a JSON array
// of the values for a composite key.
func keyString(values []any) string {
	if len(values) == 1 {
		switch x := values[0].(type) {
		case string:
			return x
		case int64:
			return strconv.FormatInt(x, 10)
		}
		return text(values[0])
	}
	b, _ := json.Marshal(values)
	return string(b)
}

// parseKey is the inverse of keyString: the key's values as query arguments for the
// key columns.
func parseKey(key string, cols []Column) ([]any, error) {
	var raw []any
	if len(cols) == 1 {
		raw = []any{key}
	} else {
		dec := json.NewDecoder(strings.NewReader(key))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil || len(raw) != len(cols) {
			return nil, fmt.Errorf("key %s is not a JSON array of %d values", key, len(cols))
		}
	}
	args := make([]any, len(cols))
	for i, c := range cols {
		v := raw[i]
		if n, ok := v.(json.Number); ok && (c.Type == driver.AttrString || c.Type == driver.AttrDecimal) {
			v = n.String()
		}
		a, err := argValue(c.Type, v)
		if err != nil {
			return nil, fmt.Errorf("key column %s %v", c.Name, err)
		}
		args[i] = a
	}
	return args, nil
}

// cursorState is the opaque cursor of a read: the ordering columns and the last row's
// values of them, as the database returned them, so the next page continues exactly after.
type cursorState struct {
	Columns []string `json:"columns"`
	Values  []any    `json:"values"`
}

// encodeCursor writes the last row's ordering values. Times and bytes are tagged so they
// come back as the same Go types; everything else is a plain JSON value.
func encodeCursor(columns []string, values []any, types []string) (string, error) {
	c := cursorState{Columns: columns, Values: make([]any, len(values))}
	for i, v := range values {
		switch x := v.(type) {
		case time.Time:
			c.Values[i] = map[string]string{"time": x.Format(time.RFC3339Nano)}
		case []byte:
			if types[i] == driver.AttrBinary {
				c.Values[i] = map[string]string{"bytes": base64.StdEncoding.EncodeToString(x)}
			} else {
				c.Values[i] = string(x)
			}
		default:
			c.Values[i] = v
		}
	}
	b, err := json.Marshal(c)
	return string(b), err
}

// decodeCursor reads a cursor written by encodeCursor for the given ordering columns.
func decodeCursor(s string, columns []string, types []string) ([]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var c cursorState
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("cursor is not one this driver wrote: %w", driver.ErrConfig)
	}
	if strings.Join(c.Columns, ",") != strings.Join(columns, ",") || len(c.Values) != len(columns) {
		return nil, fmt.Errorf("cursor follows columns (%s) but the table is now read by (%s); a full read starts over: %w",
			strings.Join(c.Columns, ", "), strings.Join(columns, ", "), driver.ErrConfig)
	}
	out := make([]any, len(c.Values))
	for i, v := range c.Values {
		switch x := v.(type) {
		case json.Number:
			switch types[i] {
			case driver.AttrInteger:
				n, err := x.Int64()
				if err != nil {
					u, uerr := strconv.ParseUint(x.String(), 10, 64)
					if uerr != nil {
						return nil, fmt.Errorf("cursor value %s: %w", x, driver.ErrConfig)
					}
					out[i] = u
					continue
				}
				out[i] = n
			case driver.AttrNumber:
				f, _ := x.Float64()
				out[i] = f
			default:
				out[i] = x.String()
			}
		case map[string]any:
			if t, ok := x["time"].(string); ok {
				tm, err := time.Parse(time.RFC3339Nano, t)
				if err != nil {
					return nil, fmt.Errorf("cursor time %s: %w", t, driver.ErrConfig)
				}
				out[i] = tm
			} else if b, ok := x["bytes"].(string); ok {
				raw, err := base64.StdEncoding.DecodeString(b)
				if err != nil {
					return nil, fmt.Errorf("cursor bytes: %w", driver.ErrConfig)
				}
				out[i] = raw
			} else {
				return nil, fmt.Errorf("cursor value of %s: %w", columns[i], driver.ErrConfig)
			}
		default:
			out[i] = v
		}
	}
	return out, nil
}

// sortEntities orders a catalog's entities and value lists by name.
func sortEntities(c *driver.Catalog) {
	sort.Slice(c.Entities, func(i, j int) bool { return c.Entities[i].Name < c.Entities[j].Name })
	sort.Slice(c.ValueLists, func(i, j int) bool { return c.ValueLists[i].Name < c.ValueLists[j].Name })
}
