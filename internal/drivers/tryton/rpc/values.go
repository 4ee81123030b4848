package rpc

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tryton sends values JSON has no type for as objects with a "__class__" member
// (trytond/protocols/jsonrpc.py). Datetimes are naive and in UTC.

// DateTime encodes t (in UTC) as Tryton's datetime object.
func DateTime(t time.Time) map[string]any {
	t = t.UTC()
	return map[string]any{"__class__": "datetime", "year": t.Year(), "month": int(t.Month()), "day": t.Day(),
		"hour": t.Hour(), "minute": t.Minute(), "second": t.Second(), "microsecond": t.Nanosecond() / 1000}
}

// Date encodes the day of t as Tryton's date object.
func Date(t time.Time) map[string]any {
	return map[string]any{"__class__": "date", "year": t.Year(), "month": int(t.Month()), "day": t.Day()}
}

// Decimal encodes a decimal number given as text as Tryton's Decimal object.
func Decimal(s string) map[string]any {
	return map[string]any{"__class__": "Decimal", "decimal": s}
}

// AsDateTime reads Tryton's datetime object.
func AsDateTime(v any) (time.Time, bool) {
	m, ok := v.(map[string]any)
	if !ok || m["__class__"] != "datetime" {
		return time.Time{}, false
	}
	n := func(k string) int { i, _ := Int(m[k]); return int(i) }
	return time.Date(n("year"), time.Month(n("month")), n("day"), n("hour"), n("minute"), n("second"), n("microsecond")*1000, time.UTC), true
}

// Plain turns a decoded Tryton value into plain JSON: Decimal → its text (exact),
// datetime → RFC 3339 in UTC, date → 2006-01-02, time → 15:04:05.999999, timedelta →
// seconds, bytes → base64 text, json.Number → int64 or float64. Lists and objects are
// converted member by member.
func Plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	case map[string]any:
		switch x["__class__"] {
		case "Decimal":
			s, _ := x["decimal"].(string)
			return s
		case "datetime":
			t, _ := AsDateTime(x)
			return t.Format(time.RFC3339Nano)
		case "date":
			n := func(k string) int { i, _ := Int(x[k]); return int(i) }
			return fmt.Sprintf("%04d-%02d-%02d", n("year"), n("month"), n("day"))
		case "time":
			n := func(k string) int { i, _ := Int(x[k]); return int(i) }
			s := fmt.Sprintf("%02d:%02d:%02d", n("hour"), n("minute"), n("second"))
			if us := n("microsecond"); us != 0 {
				s += strings.TrimRight(fmt.Sprintf(".%06d", us), "0")
			}
			return s
		case "timedelta":
			return Plain(x["seconds"])
		case "bytes":
			s, _ := x["base64"].(string)
			return strings.ReplaceAll(s, "\n", "")
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Plain(e)
		}
		return out
	}
	return v
}

// Typed converts a plain JSON value for a field of the given Tryton type (ir.model.field
// ttype) into what Tryton expects: numeric → Decimal, date, datetime, time and timedelta
// (seconds) → their objects, many2one ids given as text → integers. Other values pass as
// they are.
func Typed(ttype string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch ttype {
	case "numeric":
		switch x := v.(type) {
		case string:
			if _, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
				return nil, fmt.Errorf("must be a decimal number")
			}
			return Decimal(strings.TrimSpace(x)), nil
		case json.Number:
			return Decimal(x.String()), nil
		case float64:
			return Decimal(strconv.FormatFloat(x, 'f', -1, 64)), nil
		case int, int64:
			return Decimal(fmt.Sprint(x)), nil
		}
		return nil, fmt.Errorf("must be a decimal number")
	case "date":
		s, ok := v.(string)
		t, err := time.Parse(time.DateOnly, s)
		if !ok || err != nil {
			return nil, fmt.Errorf("must be a date such as 2006-01-02")
		}
		return Date(t), nil
	case "datetime", "timestamp":
		s, ok := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil {
			return nil, fmt.Errorf("must be a date and time such as 2006-01-02T15:04:05Z")
		}
		return DateTime(t), nil
	case "time":
		s, ok := v.(string)
		t, err := time.Parse("15:04:05.999999", s)
		if !ok || err != nil {
			return nil, fmt.Errorf("must be a time such as 15:04:05")
		}
		return map[string]any{"__class__": "time", "hour": t.Hour(), "minute": t.Minute(), "second": t.Second(), "microsecond": t.Nanosecond() / 1000}, nil
	case "timedelta":
		n, ok := v.(float64)
		if i, isInt := Int(v); isInt {
			n, ok = float64(i), true
		}
		if !ok {
			return nil, fmt.Errorf("must be a number of seconds")
		}
		return map[string]any{"__class__": "timedelta", "seconds": n}, nil
	case "many2one", "integer", "biginteger":
		if n, ok := Int(v); ok {
			return n, nil
		}
		return nil, fmt.Errorf("must be a whole number")
	case "float":
		if s, ok := v.(string); ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("must be a number")
			}
			return f, nil
		}
	}
	return v, nil
}
