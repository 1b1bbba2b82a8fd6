package goeval

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferryml/ferry/kernel"
)

// The type checker gives the Go compiler's errors at cell lines, and lets
// through what a notebook does that a Go program would not (unused imports
// and top-level variables, a trailing expression).
func TestTypeCheck(t *testing.T) {
	tests := []struct {
		name  string
		cells []string // all but the last succeed
		err   string   // "" for none
		where string   // the traceback's position
	}{
		{name: "assign mismatch", cells: []string{"x := 1", "var s string = x"}, err: "cannot use x (variable of type int) as string value in variable declaration", where: "cell line 1, column 16"},
		{name: "return mismatch", cells: []string{"func f(a int) string {\n\treturn a\n}"}, err: "cannot use a (variable of type int) as string value in return statement", where: "cell line 2, column 9"},
		{name: "untyped constant truncated", cells: []string{"x := 1", "y := x + 1.5"}, err: "1.5 (untyped float constant) truncated to int"},
		{name: "unknown field", cells: []string{"type P struct{ X int }", "P{}.Nope"}, err: "P{}.Nope undefined (type P has no field or method Nope)"},
		{name: "unused local in a function", cells: []string{"func g() { y := 1 }"}, err: "declared and not used: y"},
		{name: "unused import", cells: []string{`import "strings"`}},
		{name: "unused top-level variable", cells: []string{"z := 1"}},
		{name: "trailing expression", cells: []string{"1 + 1"}},
		{name: "session variable type", cells: []string{"m := map[string][]int{}", `m["a"] = append(m["a"], 1)`, "len(m)"}},
		{name: "session constant", cells: []string{"const N = 3", "var a [N]int", "len(a)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newEval(t)
			n := len(tt.cells)
			for _, c := range tt.cells[:n-1] {
				te.mustEval(t, c)
			}
			_, err := te.eval(t, tt.cells[n-1])
			if tt.err == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var ee *kernel.ExecError
			if !errors.As(err, &ee) || ee.Name != "CompileError" || ee.Value != tt.err {
				t.Fatalf("got %v, want CompileError %q", err, tt.err)
			}
			if tt.where != "" && !strings.HasPrefix(ee.Traceback[0], tt.where) {
				t.Errorf("traceback %q, want it to start with %q", ee.Traceback[0], tt.where)
			}
		})
	}
}

// What the interpreter would run with another meaning is rewritten or
// refused.
func TestInterpreterFixes(t *testing.T) {
	tests := []struct {
		name, cell, out, err string
	}{
		{name: "go in a loop", cell: "ch := make(chan int, 3)\nfor i := 0; i < 3; i++ { go func() { ch <- i }() }\ns := 0\nfor range 3 { s += <-ch }\nfmt.Println(s)", out: "3\n"},
		{name: "switch with init", cell: "switch s := \"go\"; s + \"lang\" {\ncase \"golang\":\n\tfmt.Println(\"matched\")\n}", out: "matched\n"},
		{name: "constant comparison", cell: "const MiB = 1 << 20\nfmt.Println(MiB > 1000)", out: "true\n"},
		{name: "new of a value", cell: "p := new(42)\nfmt.Println(*p)", out: "42\n"},
		{name: "range over invalid UTF-8", cell: "for i, r := range \"\\xffa\" { fmt.Println(i, r) }", out: "0 65533\n1 97\n"},
		{name: "rune constant type", cell: "fmt.Printf(\"%T\\n\", 'b')", out: "int32\n"},
		{name: "top-level defer", cell: "defer fmt.Println(1)", err: "defer at the top level of a cell is not supported"},
		{name: "recover", cell: "func safe() { defer func() { recover() }() }", err: "recover in interpreted code is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if raceEnabled && strings.HasPrefix(tt.name, "go ") {
				t.Skip("interpreted goroutines race inside yaegi; run without -race by make go-test")
			}
			te := newEval(t)
			te.mustEval(t, `import "fmt"`)
			_, err := te.eval(t, tt.cell)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if got := te.out.String(); got != tt.out {
				t.Errorf("output %q, want %q", got, tt.out)
			}
		})
	}
}
