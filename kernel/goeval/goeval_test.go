package goeval

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/kernel"
)

// plainOf is the text/plain rendering of v.
func plainOf(v any) string {
	d, _ := display.MIMEBundle(v)
	s, _ := d["text/plain"].(string)
	return s
}

// syncBuffer is a bytes.Buffer safe for goroutines started by cells.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

type testEval struct {
	*Evaluator
	out, errOut *syncBuffer
}

func newEval(t testing.TB) *testEval {
	t.Helper()
	te := &testEval{out: &syncBuffer{}, errOut: &syncBuffer{}}
	e, err := New(Options{Stdout: te.out, Stderr: te.errOut})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	te.Evaluator = e
	return te
}

// eval runs code and returns the text/plain result ("" for none).
func (te *testEval) eval(t testing.TB, code string) (string, error) {
	t.Helper()
	b, err := te.Eval(context.Background(), code)
	if err != nil || b == nil {
		return "", err
	}
	s, _ := b.Data["text/plain"].(string)
	return s, nil
}

func (te *testEval) mustEval(t testing.TB, code string) string {
	t.Helper()
	s, err := te.eval(t, code)
	if err != nil {
		t.Fatalf("Eval(%q): %v", code, err)
	}
	return s
}

func TestEvalResults(t *testing.T) {
	tests := []struct {
		name  string
		cells []string // all but the last must succeed
		want  string   // text/plain of the last cell's result
		out   string   // stdout of the last cell
	}{
		{name: "expr", cells: []string{"1+1"}, want: "2"},
		{name: "string", cells: []string{`"a" + "b"`}, want: plainOf("ab")},
		{name: "define then use", cells: []string{"x := 3", "x * 2"}, want: "6"},
		{name: "define no result", cells: []string{"x := 3"}, want: ""},
		{name: "void call", cells: []string{"func f() {}", "f()"}, want: ""},
		{name: "println no result", cells: []string{`import "fmt"`, `fmt.Println("hi")`}, want: "", out: "hi\n"},
		{name: "multi-value call no result", cells: []string{`import "strconv"`, `strconv.Atoi("3")`}, want: ""},
		{name: "single-value package call", cells: []string{`import "strings"`, `strings.ToUpper("abc")`}, want: plainOf("ABC")},
		{name: "cell func result", cells: []string{"func g() int { return 7 }", "g()"}, want: "7"},
		{name: "nil interface", cells: []string{"var e error", "e"}, want: "<nil>"},
		{name: "nil interface same cell", cells: []string{"var e error; e"}, want: "<nil>"},
		{name: "mixed decl and stmt", cells: []string{"import \"fmt\"\nfunc sq(x int) int { return x * x }\ny := sq(4)\nfmt.Println(y)\ny + 1"}, want: "17", out: "16\n"},
		{name: "import after statements", cells: []string{"a := 2\nimport \"math\"\nmath.Sqrt(float64(a*8))"}, want: "4"},
		{name: "var decl then stmt same line", cells: []string{"var v = 5; v + 1"}, want: "6"},
		{name: "redefine func", cells: []string{"func h() int { return 1 }", "func h() int { return 2 }", "h()"}, want: "2"},
		{name: "redefine var", cells: []string{"var q = 1", "var q = 2", "q"}, want: "2"},
		{name: "redefine const", cells: []string{"const K = 1", "const K = 2", "K"}, want: "2"},
		{name: "same type twice", cells: []string{"type S struct{ A int }", "type S struct{ A int }", "S{A: 4}.A"}, want: "4"},
		{name: "struct value", cells: []string{"type P struct{ X, Y int }", "P{1, 2}"}, want: plainOf(struct{ X, Y int }{1, 2})},
		{name: "func literal call", cells: []string{"func() int { return 9 }()"}, want: "9"},
		{name: "func literal statement", cells: []string{"import \"fmt\"", "func() { fmt.Print(\"in\") }()"}, want: "", out: "in"},
		{name: "method", cells: []string{"type C struct{ n int }\nfunc (c C) Get() int { return c.n }", "C{5}.Get()"}, want: "5"},
		{name: "comment only", cells: []string{"// nothing"}, want: ""},
		{name: "empty", cells: []string{""}, want: ""},
		{name: "trailing comment", cells: []string{"1 + 2 // three"}, want: "3"},
		{name: "doc comment", cells: []string{"x := 1\n// Twice doubles.\nfunc Twice(v int) int { return 2 * v }\nTwice(x)"}, want: "2"},
		{name: "stdout", cells: []string{"import \"fmt\"", "for i := 0; i < 3; i++ { fmt.Print(i) }"}, want: "", out: "012"},
		{name: "os/exec available", cells: []string{"import \"os/exec\"", "exec.Command(\"true\").Run()"}, want: "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newEval(t)
			for _, c := range tt.cells[:len(tt.cells)-1] {
				te.mustEval(t, c)
			}
			te.out.Reset()
			got := te.mustEval(t, tt.cells[len(tt.cells)-1])
			if got != tt.want {
				t.Errorf("result = %q, want %q", got, tt.want)
			}
			if gotOut := te.out.String(); gotOut != tt.out {
				t.Errorf("stdout = %q, want %q", gotOut, tt.out)
			}
		})
	}
}

func TestGo122Features(t *testing.T) {
	tests := []struct {
		name string
		code string
		out  string
	}{
		{"range int literal", "for i := range 3 { fmt.Print(i) }", "012"},
		{"range int no var", "for range 2 { fmt.Print(\"x\") }", "xx"},
		{"range int var", "n := 4\nfor i := range n { fmt.Print(i) }", "0123"},
		{"range int64 var keeps type", "var n int64 = 2\nfor i := range n { fmt.Printf(\"%T \", i) }", "int64 int64 "},
		{"range len", "s := []string{\"a\", \"b\"}\nfor i := range len(s) { fmt.Print(i) }", "01"},
		{"range int param", "func f(n int) { for i := range n { fmt.Print(i) } }\nf(2)", "01"},
		{"range int labeled", "outer:\nfor i := range 3 {\n\tfor j := range 3 {\n\t\tif j == 1 { continue outer }\n\t\tfmt.Print(i, j, \" \")\n\t}\n}", "0 0 1 0 2 0 "},
		{"range int assign", "var i int\nfor i = range 3 {}\nfmt.Print(i)", "2"},
		{"range int closure", "var fs []func()\nfor i := range 3 { fs = append(fs, func() { fmt.Print(i) }) }\nfor _, f := range fs { f() }", "012"},
		{"loopvar three-clause", "var fs []func()\nfor i := 0; i < 3; i++ { fs = append(fs, func() { fmt.Print(i) }) }\nfor _, f := range fs { f() }", "012"},
		{"loopvar range", "var fs []func()\nfor _, v := range []string{\"a\", \"b\"} { fs = append(fs, func() { fmt.Print(v) }) }\nfor _, f := range fs { f() }", "ab"},
		{"loopvar range key value", "var fs []func()\nfor k, v := range []string{\"a\", \"b\"} { fs = append(fs, func() { fmt.Print(k, v) }) }\nfor _, f := range fs { f() }", "0a1b"},
		{"loopvar address", "var ps []*int\nfor i := 0; i < 2; i++ { ps = append(ps, &i) }\nfmt.Print(*ps[0], *ps[1])", "0 1"},
		{"loop assigning var untouched", "for i := 0; i < 5; i++ { if i == 1 { i += 2 }; func() {}(); fmt.Print(i) }", "034"},
		{"min", "fmt.Print(min(3, 1, 2), min(2.5, 1.5), min(\"b\", \"a\"))", "1 1.5a"},
		{"max", "fmt.Print(max(3, 1, 2), max(7))", "3 7"},
		{"min mixed constants", "fmt.Print(min(1, 2.5), max(1, 2.5))", "1 2.5"},
		{"min typed vars", "a, b := 2.5, 1.5\nfmt.Print(min(a, b), max(a, b, 9))", "1.5 9"},
		{"min typed var and const", "a := 2.5\nfmt.Print(min(a, 1.5), max(a, 3))", "1.5 3"},
		{"min ints typed", "var a, b int64 = 5, 3\nfmt.Printf(\"%T %v\", min(a, b), min(a, b))", "int64 3"},
		{"clear map", "m := map[string]int{\"a\": 1}\nclear(m)\nfmt.Print(len(m))", "0"},
		{"clear slice", "s := []int{1, 2}\nclear(s)\nfmt.Print(s)", "[0 0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newEval(t)
			te.mustEval(t, `import "fmt"`)
			te.mustEval(t, tt.code)
			if got := te.out.String(); got != tt.out {
				t.Errorf("stdout = %q, want %q", got, tt.out)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     []string
		code      string
		wantName  string
		wantValue string   // substring of Value
		wantTB    []string // substrings expected in the traceback, in order
	}{
		{
			name: "undefined in call", code: "import \"fmt\"\nx := 1\n  fmt.Println(x, foo)",
			wantName: "CompileError", wantValue: "undefined: foo",
			wantTB: []string{"cell line 3, column 18: undefined: foo", "      fmt.Println(x, foo)", "    " + strings.Repeat(" ", 17) + "^"},
		},
		{
			name: "undefined in define (constant definition loop)", code: "a := 1\nb := a + nope",
			wantName: "CompileError", wantValue: "undefined: nope",
			wantTB: []string{"cell line 2, column 10: undefined: nope"},
		},
		{
			name: "undefined in var decl", code: "var z = missing * 2",
			wantName: "CompileError", wantValue: "undefined: missing",
			wantTB: []string{"cell line 1"},
		},
		{
			name: "undefined in selector base", code: "y := nopkg.Foo",
			wantName: "CompileError", wantValue: "undefined: nopkg",
		},
		{
			name: "syntax error in statements", code: "x := 1\nx = \n",
			wantName: "CompileError", wantValue: "expected operand",
			wantTB: []string{"end of cell, line 3"},
		},
		{
			name: "syntax error in decl", code: "\n\nfunc f( {\n}",
			wantName: "CompileError",
			wantTB:   []string{"cell line 3"},
		},
		{
			name: "error on first line keeps column", code: "x := undefinedThing + 1",
			wantName: "CompileError", wantValue: "undefined: undefinedThing",
			wantTB: []string{"cell line 1, column 6"},
		},
		{
			name: "error after a rewrite on the same line", code: "import \"fmt\"\nfor i := range 3 { fmt.Print(i, nothing) }",
			wantName: "CompileError", wantValue: "undefined: nothing",
			wantTB: []string{"cell line 2, column 33: undefined: nothing"},
		},
		{
			name: "mid-line chunk keeps column", code: "var v = 5; v + nope",
			wantName: "CompileError", wantValue: "undefined: nope",
			wantTB: []string{"cell line 1, column 16: undefined: nope"},
		},
		{
			name: "panic", code: "x := 1\npanic(\"boom\")",
			wantName: "panic", wantValue: "boom",
			wantTB: []string{"panic: boom", "cell line 2", `panic("boom")`},
		},
		{
			name: "runtime error index", code: "s := []int{}\n_ = s[3]",
			wantName: "RuntimeError", wantValue: "index out of range",
			wantTB: []string{"cell line 2", "_ = s[3]"},
		},
		{
			name:     "nil map in earlier cell's func",
			setup:    []string{"func put() {\n\tvar m map[string]int\n\tm[\"a\"] = 1\n}"},
			code:     "put()",
			wantName: "RuntimeError", wantValue: "assignment to entry in nil map",
			wantTB: []string{"assignment to entry in nil map", "cell line 1", "put()", "in put()"},
		},
		{
			name:     "type redefinition",
			setup:    []string{"type T struct{ A int }"},
			code:     "type T struct{ A, B int }",
			wantName: "TypeRedefinition", wantValue: "type T is already defined",
			wantTB: []string{"cell line 1, column 6"},
		},
		{
			name:     "range over func",
			setup:    []string{"func seq(yield func(int) bool) {}"},
			code:     "for x := range seq {\n\t_ = x\n}",
			wantName: "CompileError", wantValue: "function iterator",
			wantTB: []string{"cell line 1, column 16"},
		},
		{
			name: "range over func literal", code: "for x := range func(yield func(int) bool) {} { _ = x }",
			wantName: "CompileError", wantValue: "function iterator",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newEval(t)
			for _, c := range tt.setup {
				te.mustEval(t, c)
			}
			_, err := te.eval(t, tt.code)
			var ee *kernel.ExecError
			if !errors.As(err, &ee) {
				t.Fatalf("Eval error = %v (%T), want *kernel.ExecError", err, err)
			}
			if ee.Name != tt.wantName {
				t.Errorf("Name = %q, want %q (err: %v)", ee.Name, tt.wantName, ee)
			}
			if !strings.Contains(ee.Value, tt.wantValue) {
				t.Errorf("Value = %q, want it to contain %q", ee.Value, tt.wantValue)
			}
			tb := strings.Join(ee.Traceback, "\n")
			rest := tb
			for _, w := range tt.wantTB {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("traceback lacks %q (in order); traceback:\n%s", w, tb)
					break
				}
				rest = rest[i+len(w):]
			}
			if s := te.errOut.String(); strings.Contains(s, "panic: main") {
				t.Errorf("yaegi panic noise leaked to stderr: %q", s)
			}
			// The session stays usable.
			if got := te.mustEval(t, "40 + 2"); got != "42" {
				t.Errorf("after error, 40 + 2 = %q, want 42", got)
			}
		})
	}
}

// skipUnderRace skips a test whose interpreted goroutines outlive the Eval
// that started them. yaegi's interpreter is not synchronised for that: such a
// goroutine reads frame state that the next Eval writes, which the race
// detector reports inside yaegi. `make go-test` runs these tests again
// without -race.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("interpreted goroutines outlive their Eval (a yaegi data race); run without -race")
	}
}
