// Package jsonenc appends JSON values to byte slices without reflection for
// the scalar types that hot paths send (message headers, widget updates),
// falling back to encoding/json for everything else. Its output decodes to
// the same values as encoding/json's; strings with characters that
// encoding/json escapes go through encoding/json itself.
package jsonenc

import (
	"encoding/json"
	"math"
	"strconv"
)

// AppendString appends s as a JSON string.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AppendValue appends v as JSON: ints, bools, strings and floats in the
// range encoding/json writes without an exponent directly, anything else
// through json.Marshal (whose error it returns).
func AppendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case string:
		return AppendString(b, x), nil
	case float64:
		if a := math.Abs(x); a == 0 || (a >= 1e-6 && a < 1e21) {
			return strconv.AppendFloat(b, x, 'f', -1, 64), nil
		}
	case json.RawMessage:
		if json.Valid(x) {
			return append(b, x...), nil
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, j...), nil
}
