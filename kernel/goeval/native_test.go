package goeval

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/ferryml/ferry/kernel"
)

// compiledEval returns an evaluator that compiles declaration cells, or
// skips the test where it cannot (no toolchain; the race detector, whose
// plugins would rebuild the standard library for it).
func compiledEval(t *testing.T) *testEval {
	t.Helper()
	if raceEnabled || testing.Short() {
		t.Skip("compiled cells are tested without -race and -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	if _, err := theCompiler(); err != nil {
		t.Skipf("no compiler: %v", err)
	}
	te := &testEval{out: &syncBuffer{}, errOut: &syncBuffer{}}
	e, err := New(Options{Stdout: te.out, Stderr: te.errOut, Compile: true})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	te.Evaluator = e
	return te
}

const pointDecls = `import ("fmt"; "sort"; "encoding/json")
type point struct{ x, y int; Tag string ` + "`json:\"tag\"`" + ` }
func (p point) String() string { return fmt.Sprintf("(%d,%d)", p.x, p.y) }
func (p *point) scale(k int) { p.x *= k; p.y *= k }
func (p point) sum() int { return p.x + p.y }
func mk(a, b int) point { return point{x: a, y: b} }
func squares() []int {
	ch := make(chan int, 5)
	for i := 0; i < 5; i++ { go func() { ch <- i * i }() }
	var r []int
	for range 5 { r = append(r, <-ch) }
	sort.Ints(r)
	return r
}
func Map[T, U any](xs []T, f func(T) U) []U {
	var out []U
	for _, x := range xs { out = append(out, f(x)) }
	return out
}
func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
`

func TestCompiledDeclarations(t *testing.T) {
	te := compiledEval(t)
	te.mustEval(t, pointDecls)
	if len(te.native) == 0 {
		t.Fatalf("the declaration cell was not compiled")
	}
	tests := []struct {
		name, cell, want, out string
	}{
		{name: "String method seen by fmt", cell: `fmt.Println(mk(1, 2))`, out: "(1,2)\n"},
		{name: "type name", cell: `fmt.Printf("%T\n", mk(1, 2))`, out: "main.point\n"},
		{name: "unexported field read", cell: `p := mk(3, 4); p.x`, want: "3"},
		{name: "unexported field write", cell: `p.y = 10; fmt.Println(p)`, out: "(3,10)\n"},
		{name: "pointer method", cell: `p.scale(2); fmt.Println(p)`, out: "(6,20)\n"},
		{name: "unexported value method", cell: `p.sum()`, want: "26"},
		{name: "keyed literal", cell: `fmt.Println(point{y: 5})`, out: "(0,5)\n"},
		{name: "positional literal in a slice", cell: `fmt.Println([]point{{1, 2, "a"}})`, out: "[(1,2)]\n"},
		{name: "json of a cell type", cell: `asJSON(point{Tag: "t"})`, want: plainOf(`{"tag":"t"}`)},
		{name: "goroutines in a loop", cell: `squares()`, want: plainOf([]int{0, 1, 4, 9, 16})},
	}
	for _, tt := range tests {
		te.out.Reset()
		got := te.mustEval(t, tt.cell)
		if tt.want != "" && got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		if tt.out != "" && te.out.String() != tt.out {
			t.Errorf("%s: output %q, want %q", tt.name, te.out.String(), tt.out)
		}
	}
	// A generic function of a compiled cell cannot be instantiated by
	// interpreted statements: a clear error, not a wrong answer.
	_, err := te.eval(t, `Map([]int{1}, func(i int) string { return "x" })`)
	var ee *kernel.ExecError
	if !errors.As(err, &ee) || !strings.Contains(ee.Value, "Map is a generic function compiled in an earlier cell") {
		t.Errorf("generic call: got %v, want the generic function error", err)
	}
}

func TestCompiledCellInFunction(t *testing.T) {
	te := compiledEval(t)
	// A cell that uses an interpreted session variable is interpreted.
	te.mustEval(t, "n := 3")
	te.mustEval(t, "func triple() int { return 3 * n }")
	if got := te.mustEval(t, "triple()"); got != "9" {
		t.Errorf("triple() = %q, want 9", got)
	}
	if te.native["triple"] != nil {
		t.Errorf("triple uses a session variable but was compiled")
	}
	_ = context.Background()
}
