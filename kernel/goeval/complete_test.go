package goeval

import (
	"reflect"
	"strings"
	"testing"

	"github.com/traefik/yaegi/interp"
)

func TestIsComplete(t *testing.T) {
	tests := []struct {
		code, status, indent string
	}{
		{"", "complete", ""},
		{"x := 1", "complete", ""},
		{"func f() {", "incomplete", "    "},
		{"func f() {\n\tif true {", "incomplete", "        "},
		{"fmt.Println(1,", "incomplete", "    "},
		// gosrc.IsComplete indents every incomplete cell at least once.
		{"x := 1 +", "incomplete", "    "},
		{"x := []int{1, 2,\n", "incomplete", "    "},
		{"s := `raw", "incomplete", "    "},
		{"/* open comment", "incomplete", "    "},
		{"x := a.", "incomplete", "    "},
		{"for", "incomplete", "    "},
		{"x := 1\n}", "invalid", ""},
		{"x := (1))", "invalid", ""},
		{"x := (1]", "invalid", ""},
		{"x := 1 # 2", "invalid", ""},
		{"for i := 0; i < 3; i++ {}", "complete", ""},
		{"x++", "complete", ""},
		{"f()", "complete", ""},
	}
	e := newEval(t)
	for _, tt := range tests {
		status, indent := e.IsComplete(tt.code)
		if status != tt.status || indent != tt.indent {
			t.Errorf("IsComplete(%q) = %q, %q; want %q, %q", tt.code, status, indent, tt.status, tt.indent)
		}
	}
}

type fakeType struct{}

func TestComplete(t *testing.T) {
	e, err := New(Options{
		Symbols:    []interp.Exports{{"example.com/fake/fake": {"Hello": reflect.ValueOf(func() string { return "hi" }), "Thing": reflect.ValueOf((*fakeType)(nil))}}},
		PreImports: map[string]string{"fake": "example.com/fake", "missing": "example.com/not/there"},
	})
	if err != nil {
		t.Fatal(err)
	}
	te := &testEval{Evaluator: e}
	te.mustEval(t, "import \"strings\"\nimport \"time\"\nvar counter = 1\nconst limit = 10\nfunc compute() int { return 1 }\ntype config struct{}\nwidth := 3")
	te.mustEval(t, "var sb strings.Builder")
	tests := []struct {
		name      string
		code      string
		cursor    int // -1: end
		want      []string
		wantTypes []string // parallel to want, "" to skip
		absent    []string
		start     int
	}{
		{name: "package prefix", code: "x := strings.Spl", cursor: -1, want: []string{"Split", "SplitAfter", "SplitN"}, wantTypes: []string{"function", "function", "function"}, start: 13},
		{name: "package type and const", code: "time.Dur", cursor: -1, want: []string{"Duration"}, wantTypes: []string{"type"}, start: 5},
		{name: "package const", code: "time.Nano", cursor: -1, want: []string{"Nanosecond"}, wantTypes: []string{"constant"}, start: 5},
		{name: "globals", code: "co", cursor: -1, want: []string{"compute", "config", "const", "continue", "copy", "counter"}, wantTypes: []string{"function", "type", "keyword", "keyword", "function", "variable"}, start: 0},
		{name: "const global", code: "lim", cursor: -1, want: []string{"limit"}, wantTypes: []string{"constant"}, start: 0},
		{name: "define global", code: "wid", cursor: -1, want: []string{"width"}, wantTypes: []string{"variable"}, start: 0},
		{name: "packages", code: "str", cursor: -1, want: []string{"string", "strings"}, wantTypes: []string{"type", "package"}, start: 0},
		{name: "preimport", code: "fa", cursor: -1, want: []string{"fake", "false"}, wantTypes: []string{"package", "constant"}},
		{name: "preimport symbols", code: "fake.", cursor: -1, want: []string{"Hello", "Thing"}, wantTypes: []string{"function", "type"}, start: 5},
		{name: "cursor in middle", code: "strings.Spl + x", cursor: 11, want: []string{"Split"}, start: 8},
		{name: "unicode before cursor", code: "s := \"héllo\"; strings.Ha", cursor: -1, want: []string{"HasPrefix", "HasSuffix"}, start: 22},
		{name: "methods of a global", code: "sb.Wr", cursor: -1, want: []string{"WriteByte", "WriteString"}, start: 3},
		{name: "no internal names", code: "_fer", cursor: -1, absent: []string{"_ferryID", "_ferryOrdered"}},
		{name: "no builtin shadow dup", code: "mi", cursor: -1, want: []string{"min"}},
		{name: "predeclared kinds", code: "", cursor: -1, want: []string{"complex", "complex64", "nil", "iota", "for"}, wantTypes: []string{"function", "type", "constant", "constant", "keyword"}, start: 0},
		{name: "in a string", code: `s := "str`, cursor: -1, absent: []string{"string", "strings"}},
		{name: "in a comment", code: "// str", cursor: -1, absent: []string{"string", "strings"}},
		{name: "in a number", code: "x := 1.5", cursor: -1, absent: []string{"counter", "const"}},
		{name: "selector on a call", code: "f().co", cursor: -1, absent: []string{"compute", "const", "counter"}},
		{name: "selector on a call, empty", code: "f().", cursor: -1, absent: []string{"compute", "const", "counter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cursor := tt.cursor
			if cursor < 0 {
				cursor = len([]rune(tt.code))
			}
			got := e.Complete(tt.code, cursor)
			idx := map[string]int{}
			for i, m := range got.Matches {
				if _, dup := idx[m]; dup {
					t.Errorf("duplicate match %q", m)
				}
				idx[m] = i
			}
			if len(got.Types) != len(got.Matches) {
				t.Fatalf("len(Types) = %d, len(Matches) = %d", len(got.Types), len(got.Matches))
			}
			for i, w := range tt.want {
				j, ok := idx[w]
				if !ok {
					t.Errorf("matches %v lack %q", got.Matches, w)
					continue
				}
				if tt.wantTypes != nil && tt.wantTypes[i] != "" && got.Types[j] != tt.wantTypes[i] {
					t.Errorf("type of %q = %q, want %q", w, got.Types[j], tt.wantTypes[i])
				}
			}
			for _, a := range tt.absent {
				if _, ok := idx[a]; ok {
					t.Errorf("matches contain %q", a)
				}
			}
			if tt.want != nil && (got.CursorStart != tt.start || got.CursorEnd != cursor) {
				t.Errorf("cursor range = %d..%d, want %d..%d", got.CursorStart, got.CursorEnd, tt.start, cursor)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	te := newEval(t)
	te.mustEval(t, "import \"strings\"\nimport \"time\"\n// Area returns the area.\nfunc Area(w, h int) int { return w * h }\n// Box is a box.\ntype Box struct{ W int }\n// Scale scales b.\nfunc (b Box) Scale(k int) Box { return Box{b.W * k} }\nn := 42\nconst Pi2 = 6.28")
	tests := []struct {
		name   string
		code   string
		cursor int // -1: end
		detail int
		want   []string
		found  bool
	}{
		{name: "package func", code: "strings.Split", cursor: -1, want: []string{"func Split(s, sep string) []string", "Split slices s"}, found: true},
		{name: "package func cursor inside", code: "x := strings.Split(a, b)", cursor: 15, want: []string{"func Split(s, sep string) []string"}, found: true},
		{name: "package type", code: "time.Duration", cursor: -1, want: []string{"type Duration int64", "elapsed time"}, found: true},
		{name: "package method", code: "time.Duration.Seconds", cursor: -1, want: []string{"func (d Duration) Seconds() float64"}, found: true},
		{name: "package const", code: "time.Second", cursor: -1, want: []string{"Second"}, found: true},
		{name: "package itself", code: "strings", cursor: -1, want: []string{"package strings", "UTF-8"}, found: true},
		{name: "cell func", code: "Area(1, 2)", cursor: 2, want: []string{"func Area(w, h int) int", "Area returns the area."}, found: true},
		{name: "cell func detail", code: "Area", cursor: -1, detail: 1, want: []string{"return w * h"}, found: true},
		{name: "cell type", code: "Box", cursor: -1, want: []string{"type Box struct{ W int }", "Box is a box."}, found: true},
		{name: "cell method", code: "Box.Scale", cursor: -1, want: []string{"func (b Box) Scale(k int) Box", "Scale scales b."}, found: true},
		{name: "global value", code: "n", cursor: -1, want: []string{"var n int = 42"}, found: true},
		{name: "global const", code: "Pi2", cursor: -1, want: []string{"6.28"}, found: true},
		{name: "package func detail", code: "strings.Split", cursor: -1, detail: 1, want: []string{"func Split(s, sep string) []string", "Split slices s", "genSplit(s, sep, 0, -1)"}, found: true},
		{name: "package pointer method", code: "strings.Builder.String", cursor: -1, want: []string{"func (b *Builder) String() string"}, found: true},
		{name: "builtin", code: "len", cursor: -1, want: []string{"func len(v Type) int"}, found: true},
		{name: "predeclared type", code: "int", cursor: -1, want: []string{"type int int"}, found: true},
		{name: "predeclared nil", code: "nil", cursor: -1, want: []string{"var nil Type"}, found: true},
		{name: "keyword", code: "for", cursor: -1, want: []string{"for: Go keyword"}, found: true},
		{name: "in a string", code: `"strings.Split"`, cursor: 5, found: false},
		{name: "unknown", code: "nothingHere", cursor: -1, found: false},
		{name: "empty", code: "", cursor: 0, found: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cursor := tt.cursor
			if cursor < 0 {
				cursor = len([]rune(tt.code))
			}
			b, found := te.Inspect(tt.code, cursor, tt.detail)
			if found != tt.found {
				t.Fatalf("found = %v, want %v (bundle %v)", found, tt.found, b.Data)
			}
			text, _ := b.Data["text/plain"].(string)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("text/plain lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestPreImports(t *testing.T) {
	e, err := New(Options{
		Symbols:    []interp.Exports{{"example.com/fake/fake": {"Hello": reflect.ValueOf(func() string { return "hi" })}}},
		PreImports: map[string]string{"fk": "example.com/fake", "missing": "example.com/not/there"},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	te := &testEval{Evaluator: e}
	if got, want := te.mustEval(t, "fk.Hello()"), plainOf("hi"); got != want {
		t.Errorf("fk.Hello() = %q, want %q", got, want)
	}
	if _, err := te.eval(t, "missing.X"); err == nil {
		t.Errorf("using a skipped pre-import succeeded, want an error")
	}
}
