package rpc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPlain(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`{"__class__":"Decimal","decimal":"12.3400"}`, "12.3400"},
		{`{"__class__":"datetime","year":2024,"month":2,"day":29,"hour":23,"minute":5,"second":7,"microsecond":120}`, "2024-02-29T23:05:07.00012Z"},
		{`{"__class__":"date","year":2024,"month":3,"day":1}`, "2024-03-01"},
		{`{"__class__":"time","hour":8,"minute":0,"second":9,"microsecond":500000}`, "08:00:09.5"},
		{`{"__class__":"timedelta","seconds":90.5}`, 90.5},
		{`{"__class__":"bytes","base64":"aGVs\nbG8=\n"}`, "aGVsbG8="},
		{`12`, int64(12)},
		{`1.5`, 1.5},
		{`[1, {"__class__":"Decimal","decimal":"1"}]`, []any{int64(1), "1"}},
		{`{"a":{"__class__":"date","year":2020,"month":1,"day":2}}`, map[string]any{"a": "2020-01-02"}},
		{`null`, nil},
	}
	for _, tt := range tests {
		if got := Plain(decode(t, tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Plain(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestTyped(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	tests := []struct {
		ttype   string
		in      any
		want    any
		wantErr string
	}{
		{"numeric", "9.50", Decimal("9.50"), ""},
		{"numeric", 2.5, Decimal("2.5"), ""},
		{"numeric", json.Number("3.10"), Decimal("3.10"), ""},
		{"numeric", "cheap", nil, "must be a decimal number"},
		{"date", "2024-05-06", Date(at), ""},
		{"date", "06.05.2024", nil, "must be a date"},
		{"datetime", "2024-05-06T09:08:09.123456+02:00", DateTime(at), ""},
		{"timestamp", "yesterday", nil, "must be a date and time"},
		{"many2one", "12", int64(12), ""},
		{"many2one", float64(12), int64(12), ""},
		{"integer", "x", nil, "must be a whole number"},
		{"float", "1.25", 1.25, ""},
		{"time", "08:30:05.25", map[string]any{"__class__": "time", "hour": 8, "minute": 30, "second": 5, "microsecond": 250000}, ""},
		{"time", "half past eight", nil, "must be a time"},
		{"timedelta", float64(90), map[string]any{"__class__": "timedelta", "seconds": 90.0}, ""},
		{"timedelta", "long", nil, "must be a number of seconds"},
		{"char", "text", "text", ""},
		{"one2many", []any{"add", []any{1}}, []any{"add", []any{1}}, ""},
		{"numeric", nil, nil, ""},
	}
	for _, tt := range tests {
		got, err := Typed(tt.ttype, tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Typed(%s, %v) error = %v, want %q", tt.ttype, tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Typed(%s, %v) = %#v, %v; want %#v", tt.ttype, tt.in, got, err, tt.want)
		}
	}
	// A datetime goes to Tryton and comes back the same.
	back, ok := AsDateTime(decode(t, mustJSON(t, DateTime(at))))
	if !ok || !back.Equal(at) {
		t.Fatalf("datetime round trip = %v, want %v", back, at)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseError(t *testing.T) {
	tests := []struct {
		in   string
		want Error
	}{
		{`["UserError", ["The sale must have lines.", "Add a line.", null]]`, Error{Kind: "UserError", Message: "The sale must have lines. - Add a line."}},
		{`["UserWarning", ["warning_name", "Stock is low.", ""]]`, Error{Kind: "UserWarning", Message: "Stock is low."}},
		{`["ConcurrencyException", "Records were modified in the meanwhile"]`, Error{Kind: "ConcurrencyException", Message: "Records were modified in the meanwhile"}},
		{`["'NoneType' object has no attribute 'id'", ""]`, Error{Message: "'NoneType' object has no attribute 'id'"}},
		{`"odd"`, Error{Message: `"odd"`}},
	}
	for _, tt := range tests {
		if got := parseError(json.RawMessage(tt.in)); *got != tt.want {
			t.Errorf("parseError(%s) = %+v, want %+v", tt.in, *got, tt.want)
		}
	}
}
