package jsonenc

import (
	"encoding/json"
	"math"
	"testing"
)

// The output is what encoding/json writes, byte for byte, for every kind of
// value, fast path or not.
func TestAppendValueMatchesEncodingJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, 0, -7, 1 << 40, int64(-1 << 62), "", "plain", `quo"te`, "back\\slash", "tab\there",
		"<html>&", "ünïcödé", "\u2028", 0.0, 1.5, -2.25, 1e-6, 1e-7, 1e20, 1e21, 123456789.125, math.MaxFloat64,
		math.SmallestNonzeroFloat64, []int{1, 2}, map[string]any{"b": 1, "a": []any{"x", nil}},
		json.RawMessage(`{"k": [1, 2]}`), float32(0.1),
	} {
		got, err := AppendValue([]byte("x"), v)
		want, werr := json.Marshal(v)
		if (err != nil) != (werr != nil) {
			t.Errorf("%#v: err %v, encoding/json err %v", v, err, werr)
			continue
		}
		if raw, ok := v.(json.RawMessage); ok {
			want = raw // encoding/json compacts; the bytes are passed as they are
		}
		if string(got) != "x"+string(want) {
			t.Errorf("%#v: got %s, want x%s", v, got, want)
		}
	}
}

func TestAppendValueErrors(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), json.RawMessage(`{bad`), make(chan int)} {
		if _, err := AppendValue(nil, v); err == nil {
			t.Errorf("%#v: no error, want encoding/json's", v)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", `"`, "\x00", "é", "\xff", "<>&", "\u2029"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}
