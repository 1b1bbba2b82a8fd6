package goeval

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryml/ferry/kernel"
	"github.com/traefik/yaegi/interp"
)

// runCells evaluates cells in order in te and checks each result: want is
// the text/plain result, or the text an error must contain when isErr.
func runCells(t *testing.T, te *testEval, cells []struct {
	code  string
	want  string
	isErr bool
}) {
	t.Helper()
	for _, c := range cells {
		got, err := te.eval(t, c.code)
		switch {
		case c.isErr && err == nil:
			t.Errorf("Eval(%q) = %q, want an error containing %q", c.code, got, c.want)
		case c.isErr && !strings.Contains(err.Error(), c.want):
			t.Errorf("Eval(%q) error = %v, want it to contain %q", c.code, err, c.want)
		case !c.isErr && err != nil:
			t.Errorf("Eval(%q): %v", c.code, err)
		case !c.isErr && got != c.want:
			t.Errorf("Eval(%q) = %q, want %q", c.code, got, c.want)
		}
	}
}

func TestReimport(t *testing.T) {
	tests := []struct {
		name  string
		cells []struct {
			code  string
			want  string
			isErr bool
		}
	}{
		{"same import twice", []struct {
			code  string
			want  string
			isErr bool
		}{
			{`import "fmt"`, "", false},
			{"import \"fmt\"\nfmt.Sprint(1)", plainOf("1"), false},
			{"import \"fmt\"\nfmt.Sprint(2)", plainOf("2"), false},
		}},
		{"grouped, partly new", []struct {
			code  string
			want  string
			isErr bool
		}{
			{`import "strings"`, "", false},
			{"import (\n\t\"fmt\"\n\t\"strings\"\n)\nfmt.Sprint(strings.ToUpper(\"a\"))", plainOf("A"), false},
			{"import (\n\t\"fmt\"\n\t\"strings\"\n)\nfmt.Sprint(strings.ToUpper(\"b\"))", plainOf("B"), false},
		}},
		{"positions kept after a dropped import", []struct {
			code  string
			want  string
			isErr bool
		}{
			{`import "fmt"`, "", false},
			{"import (\n\t\"fmt\"\n)\nx := 1\nfmt.Sprint(x, undefinedZ)", "cell line 5, column 15: undefined: undefinedZ", true},
		}},
		{"alias re-imported", []struct {
			code  string
			want  string
			isErr bool
		}{
			{`import str "strings"`, "", false},
			{"import str \"strings\"\nstr.ToLower(\"X\")", plainOf("x"), false},
		}},
		{"dot import twice", []struct {
			code  string
			want  string
			isErr bool
		}{
			{`import . "strings"`, "", false},
			{"import . \"strings\"\nToUpper(\"x\")", plainOf("X"), false},
		}},
		{"other path under a used name", []struct {
			code  string
			want  string
			isErr bool
		}{
			{`import "math/rand"`, "", false},
			{`import rand "crypto/rand"`, `rand is already imported as "math/rand"`, true},
			{`import rand "crypto/rand"`, `import cryptorand "crypto/rand"`, true},
			{"import crand \"crypto/rand\"\nimport \"fmt\"\nfmt.Sprint(crand.Reader != nil)", plainOf("true"), false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runCells(t, newEval(t), tt.cells)
		})
	}
}

func TestPreImportFmt(t *testing.T) {
	tests := []struct {
		name  string
		cells []string
		want  string
	}{
		{"no import", []string{`fmt.Sprint("hi")`}, plainOf("hi")},
		{"import in cell", []string{"import \"fmt\"\nfmt.Sprint(1)"}, plainOf("1")},
		{"import re-run", []string{`import "fmt"`, `import "fmt"`, "import \"fmt\"\nfmt.Sprint(2)"}, plainOf("2")},
		{"println", []string{`fmt.Println("hi")`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &syncBuffer{}
			e, err := New(Options{
				Stdout:     out,
				Symbols:    []interp.Exports{{"example.com/fake/fake": {"Hello": reflect.ValueOf(func() string { return "hi" })}}},
				PreImports: map[string]string{"fmt": "fmt", "fk": "example.com/fake"},
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			te := &testEval{Evaluator: e, out: out}
			var got string
			for _, c := range tt.cells {
				got = te.mustEval(t, c)
			}
			if got != tt.want {
				t.Errorf("result = %q, want %q", got, tt.want)
			}
			if tt.name == "println" && out.String() != "hi\n" {
				t.Errorf("output = %q, want %q", out.String(), "hi\n")
			}
		})
	}
}

func TestNotebookRenderer(t *testing.T) {
	const decls = "type P struct{X int}\n" +
		"func (p P) MIMEBundle() (map[string]any, map[string]any) { return map[string]any{\"text/html\": \"<i>p</i>\"}, nil }\n" +
		"type Q struct{S string}\n" +
		"func (q *Q) MIMEBundle() (map[string]any, map[string]any) { return map[string]any{\"text/markdown\": \"**\" + q.S + \"**\", \"text/plain\": \"Q!\"}, map[string]any{\"m\": 1} }\n" +
		"func NewP(x int) *P { return &P{x} }\n"
	tests := []struct {
		name      string
		cells     []string
		mime      string // the rich MIME type expected, "" for none
		rich      string
		plain     string
		metadata  map[string]any
		noResults bool
	}{
		{"value", []string{"P{1}"}, "text/html", "<i>p</i>", "{X:1}", map[string]any{}, false},
		{"pointer", []string{"&P{2}"}, "text/html", "<i>p</i>", "&{X:2}", map[string]any{}, false},
		{"declared in cell", []string{decls + "P{3}"}, "text/html", "<i>p</i>", "{X:3}", map[string]any{}, false},
		{"parenthesised", []string{"(P{4})"}, "text/html", "<i>p</i>", "{X:4}", map[string]any{}, false},
		{"variable of this cell", []string{"p := P{5}\np"}, "text/html", "<i>p</i>", "{X:5}", map[string]any{}, false},
		{"variable of an earlier cell", []string{"p := &P{6}", "p"}, "text/html", "<i>p</i>", "&{X:6}", map[string]any{}, false},
		{"dereferenced", []string{"p := &P{7}", "*p"}, "text/html", "<i>p</i>", "{X:7}", map[string]any{}, false},
		{"var declaration", []string{"var p P\np"}, "text/html", "<i>p</i>", "{X:0}", map[string]any{}, false},
		{"function result", []string{"NewP(8)"}, "text/html", "<i>p</i>", "&{X:8}", map[string]any{}, false},
		{"pointer method, pointer", []string{`&Q{"w"}`}, "text/markdown", "**w**", "Q!", map[string]any{"m": 1}, false},
		{"pointer method, address of var", []string{"var q Q\nq.S = \"v\"\n&q"}, "text/markdown", "**v**", "Q!", map[string]any{"m": 1}, false},
		{"pointer method, value", []string{`Q{"v"}`}, "", "", "{S:v}", map[string]any{}, false},
		{"field", []string{"P{9}.X"}, "", "", "9", map[string]any{}, false},
		{"no value after a renderer", []string{"P{1}", "x := 1\n_ = x"}, "", "", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newEval(t)
			te.mustEval(t, decls)
			var b *kernel.Bundle
			for _, c := range tt.cells {
				var err error
				b, err = te.Eval(context.Background(), c)
				if err != nil {
					t.Fatalf("Eval(%q): %v", c, err)
				}
			}
			if tt.noResults {
				if b != nil {
					t.Fatalf("bundle = %v, want none", b)
				}
				return
			}
			if b == nil {
				t.Fatalf("no bundle")
			}
			if tt.mime != "" && b.Data[tt.mime] != tt.rich {
				t.Errorf("%s = %v, want %q (bundle %v)", tt.mime, b.Data[tt.mime], tt.rich, b.Data)
			}
			if tt.mime == "" && len(b.Data) != 1 {
				t.Errorf("bundle = %v, want only text/plain", b.Data)
			}
			if b.Data["text/plain"] != tt.plain {
				t.Errorf("text/plain = %v, want %q", b.Data["text/plain"], tt.plain)
			}
			if !reflect.DeepEqual(b.Metadata, tt.metadata) {
				t.Errorf("metadata = %v, want %v", b.Metadata, tt.metadata)
			}
		})
	}
}

func TestUndefinedColumn(t *testing.T) {
	tests := []struct {
		code string
		want string
	}{
		{"y := undefinedThing + 1", "cell line 1, column 6: undefined: undefinedThing"},
		{"x := 1\n_ = x\nz := x * (2 + undefinedW)", "cell line 3, column 15: undefined: undefinedW"},
		{"undefinedF(1)", "cell line 1, column 1: undefined: undefinedF"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			_, err := newEval(t).eval(t, tt.code)
			var ee *kernel.ExecError
			if !errors.As(err, &ee) {
				t.Fatalf("Eval error = %v, want an ExecError", err)
			}
			if len(ee.Traceback) == 0 || ee.Traceback[0] != tt.want {
				t.Errorf("traceback = %q, want it to start with %q", ee.Traceback, tt.want)
			}
		})
	}
}

// TestMultiDefineInBlock: v, err := f() inside a loop or block of a cell
// (yaegi alone reports "undefined: v" there).
func TestMultiDefineInBlock(t *testing.T) {
	runCells(t, newEval(t), []struct {
		code  string
		want  string
		isErr bool
	}{
		{`import "strconv"`, "", false},
		{"func two(x int) (string, int) { return strconv.Itoa(x), x * 2 }", "", false},
		{"total := 0\nfor _, x := range []int{1, 2} {\n\ts, d := two(x)\n\ttotal += d + len(s)\n}\ntotal", plainOf(8), false},
		{"m := map[string]int{\"a\": 1}\nfound := 0\nfor _, k := range []string{\"a\", \"b\"} {\n\tif v, ok := m[k]; ok {\n\t\tfound += v\n\t}\n\tv, ok := m[k]\n\t_ = v\n\tif ok {\n\t\tfound += 10\n\t}\n}\nfound", plainOf(11), false},
		{"var x any = 3\n{\n\tn, ok := x.(int)\n\tif ok {\n\t\ttotal = n\n\t}\n}\ntotal", plainOf(3), false},
		{"n := 0\nswitch {\ncase true:\n\tvar a, b = two(5)\n\tn = len(a) + b\n}\nn", plainOf(11), false},
		{"for i := 0; i < 3; i++ {\n\tn, err := strconv.Atoi(\"x\")\n\t_ = n\n\tif err != nil {\n\t\tundefinedAfter()\n\t}\n}", "cell line 5, column 3: undefined: undefinedAfter", true},
	})
}

// TestUnnamedParams: a func literal with unnamed parameters that captures a
// variable, called from compiled code (yaegi alone fails with
// "reflect.Set: value of type ... is not assignable").
func TestUnnamedParams(t *testing.T) {
	runCells(t, newEval(t), []struct {
		code  string
		want  string
		isErr bool
	}{
		{"import (\n\t\"io/fs\"\n\t\"path/filepath\"\n\t\"sort\"\n\t\"strings\"\n)", "", false},
		{"var sb strings.Builder\nfilepath.WalkDir(\"/\", func(string, fs.DirEntry, error) error { sb.WriteString(\"x\"); return filepath.SkipAll })\nsb.String()", plainOf("x"), false},
		{"got := \"\"\nxs := []string{\"b\", \"a\"}\nsort.Slice(xs, func(int, int) bool { got = \"called\"; return false })\ngot", plainOf("called"), false},
		{"func apply(f func(string, ...int) int) int { return f(\"x\", 1, 2) }", "", false},
		{"n := 40\napply(func(string, ...int) int { return n + 2 })", plainOf(42), false},
		{"func keep(int) int { return 7 }\nkeep(1)", plainOf(7), false},
	})
}
