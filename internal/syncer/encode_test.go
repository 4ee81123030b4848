package syncer

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func TestEncoderMatchesEncodingJSON(t *testing.T) {
	records := []map[string]any{
		{"id": int64(1), "name": "plain", "price": "12.50", "active": true, "note": nil},
		{"id": int64(2), "name": "quote \" backslash \\ tab \t newline \n bell \x07", "price": "1", "active": false, "note": "<b>&</b>"},
		{"id": int64(3), "name": "ünïcødé ✓ \u2028", "price": "0", "active": true, "note": "bad \xff utf8"},
		{"id": 4, "n32": int32(-7), "f": 1.5e-7, "big": float64(1 << 60), "nan": math.NaN(), "num": json.Number("12.000")},
		{"nested": map[string]any{"b": 1, "a": []any{"x", 2}}, "raw": json.RawMessage(`{"z":1}`)},
		{},
	}
	var enc encoder
	for i, r := range records {
		got, err := enc.encode(r)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		var back any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("record %d: invalid JSON %s: %v", i, got, err)
		}
		// What reads back must equal what encoding/json would have written, read back.
		want := map[string]any{}
		for k, v := range r {
			if f, ok := v.(float64); ok && math.IsNaN(f) {
				v = nil
			}
			want[k] = v
		}
		std, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var wantBack any
		_ = json.Unmarshal(std, &wantBack)
		if !reflect.DeepEqual(back, wantBack) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, std)
		}
		again, _ := enc.encode(r)
		if string(again) != string(got) {
			t.Fatalf("record %d encodes differently the second time", i)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	r := map[string]any{"id": int64(123456), "sku": "SKU-00123456", "name": "Product number 123456",
		"description": "A sturdy item, 0123456789abcdef0123456789abcdef 0123456789abcdef0123456789abcdef",
		"price":       "1234.56", "quantity": int64(456), "weight": 1604.928, "active": true, "category": "category-16",
		"updated_at": "2026-01-01T00:02:03.456Z"}
	b.Run("encoder", func(b *testing.B) {
		var e encoder
		for b.Loop() {
			_, _ = e.encode(r)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(r)
		}
	})
}
