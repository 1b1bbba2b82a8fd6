package goeval

import (
	"bytes"
	"reflect"
	"testing"
)

func TestGlobals(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	eval := func(code string) string {
		t.Helper()
		b, err := e.Eval(ctx, code)
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if b == nil {
			return ""
		}
		s, _ := b.Data["text/plain"].(string)
		return s
	}
	eval("x := 41\ntype P struct{ Name string }\nvar p = P{\"ann\"}\nvar ifc any = 2.5")
	tests := []struct {
		name string
		want any
	}{
		{"x", 41},
		{"ifc", 2.5},
	}
	for _, tc := range tests {
		v, ok := e.Global(tc.name)
		if !ok || !reflect.DeepEqual(v.Interface(), tc.want) {
			t.Errorf("Global(%s) = %v, %v; want %v", tc.name, v, ok, tc.want)
		}
	}
	if v, ok := e.Global("p"); !ok || v.FieldByName("Name").String() != "ann" {
		t.Errorf("Global(p) = %v, %v", v, ok)
	}
	if _, ok := e.Global("nope"); ok {
		t.Error("Global(nope) found a value")
	}

	// A compiled type, then a redeclaration with another type.
	if err := e.SetGlobal(ctx, "buf", bytes.NewBufferString("hi")); err != nil {
		t.Fatal(err)
	}
	if got := eval(`buf.WriteString(" there"); buf.String()`); got != `"hi there"` {
		t.Errorf("buf = %s", got)
	}
	if err := e.SetGlobal(ctx, "x", "now a string"); err != nil {
		t.Fatal(err)
	}
	if got := eval("x + \"!\""); got != `"now a string!"` {
		t.Errorf("x = %s", got)
	}
	if err := e.SetGlobal(ctx, "x", []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	if got := eval("len(x)"); got != "2" {
		t.Errorf("len(x) = %s", got)
	}
	for _, bad := range []string{"", "1a", "func", "a.b"} {
		if err := e.SetGlobal(ctx, bad, 1); err == nil {
			t.Errorf("SetGlobal(%q) succeeded", bad)
		}
	}
	if err := e.SetGlobal(ctx, "n", nil); err == nil {
		t.Error("SetGlobal(nil) succeeded")
	}
}
