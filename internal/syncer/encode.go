package syncer

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// encoder writes a record's fields as canonical JSON: keys sorted, no HTML escaping, the
// same bytes for the same values every time, so the bytes' hash tells whether a record
// changed. It is much faster than encoding/json for the flat rows drivers produce, because
// records of one entity share their keys and the sorted order is worked out once.
type encoder struct {
	keys []string // sorted keys of the last record
}

// encode returns the JSON object of fields.
func (e *encoder) encode(fields map[string]any) ([]byte, error) {
	if !e.sameKeys(fields) {
		e.keys = e.keys[:0]
		for k := range fields {
			e.keys = append(e.keys, k)
		}
		slices.Sort(e.keys)
	}
	buf := make([]byte, 0, 64+32*len(fields))
	buf = append(buf, '{')
	for i, k := range e.keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, k)
		buf = append(buf, ':')
		var err error
		if buf, err = appendValue(buf, fields[k]); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// sameKeys reports whether fields has exactly the keys of the previous record.
func (e *encoder) sameKeys(fields map[string]any) bool {
	if len(fields) != len(e.keys) || len(e.keys) == 0 {
		return false
	}
	for _, k := range e.keys {
		if _, ok := fields[k]; !ok {
			return false
		}
	}
	return true
}

func appendValue(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return appendString(buf, x), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(buf, "null"...), nil
		}
		return strconv.AppendFloat(buf, x, 'g', -1, 64), nil
	case json.Number:
		return append(buf, x...), nil
	}
	// Nested values (JSON columns, lines of an order) are rarer: the standard encoder
	// sorts their keys too.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript that embeds it.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
