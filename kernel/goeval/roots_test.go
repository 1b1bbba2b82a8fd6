package goeval

import (
	"context"
	"runtime"
	"testing"
)

// Executed cells do not accumulate in memory (but for the position tables
// of their sources, about 2 KB: yaegi's FileSet keeps every file), while
// what they declare stays usable.
func TestForgetRoots(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !forgetRoots(e.interp) {
		t.Fatal("yaegi's Interpreter has no roots slice any more: see forgetRoots")
	}
	ctx := context.Background()
	if _, err := e.Eval(ctx, "func double(x int) int { return 2 * x }\nvar total int"); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for range 100 {
		e.Eval(ctx, "total += double(1)")
	}
	before := heap()
	const n = 2000
	for range n {
		if _, err := e.Eval(ctx, "total += double(1)"); err != nil {
			t.Fatal(err)
		}
	}
	after := heap()
	if per := (int64(after) - int64(before)) / n; per > 4096 {
		t.Errorf("%d bytes kept per executed cell, want at most the 2 KB of its position tables (13 KB when yaegi keeps its syntax tree)", per)
	}
	b, err := e.Eval(ctx, "total")
	if err != nil || b == nil || b.Data["text/plain"] != "4200" {
		t.Errorf("total: %v, %v; want 4200", b, err)
	}
}
