package gosrc

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIsComplete(t *testing.T) {
	tests := []struct {
		name, code, status, indent string
	}{
		{"empty", "", "complete", ""},
		{"blank", "  \n\t\n", "complete", ""},
		{"expr", "1+1", "complete", ""},
		{"call", `fmt.Println("hi")`, "complete", ""},
		{"open func", "func f() {", "incomplete", "    "},
		{"nested braces", "func f() {\n\tif x {", "incomplete", "        "},
		{"closed func", "func f() {\n}", "complete", ""},
		{"composite comma", "x := []int{1,", "incomplete", "    "},
		{"open paren", "fmt.Println(1,\n2", "incomplete", "    "},
		{"paren in brace", "func f() {\n\tg(", "incomplete", "    "},
		{"define", "a :=", "incomplete", "    "},
		{"assign", "a =", "incomplete", "    "},
		{"binary op", "x := 1 +", "incomplete", "    "},
		{"logical op", "ok := a &&\n", "incomplete", "    "},
		{"selector dot", "fmt.", "incomplete", "    "},
		{"trailing comma", "a, b", "complete", ""},
		{"comma", "a,", "incomplete", "    "},
		{"arrow", "ch <-", "incomplete", "    "},
		{"else", "if x {\n} else", "incomplete", "    "},
		{"func keyword", "x := func", "incomplete", "    "},
		{"increment", "i++", "complete", ""},
		{"return", "return", "complete", ""},
		{"explicit semicolon", "x := 1;", "complete", ""},
		{"line comment", "x := 1 // a comment {", "complete", ""},
		{"comment after op", "x := 1 + // more\n", "incomplete", "    "},
		{"raw string open", "s := `abc", "incomplete", "    "},
		{"raw string open in brace", "func f() {\n\ts := `abc\n", "incomplete", "    "},
		{"raw string closed", "s := `a\nb`", "complete", ""},
		{"block comment open", "/* abc", "incomplete", "    "},
		{"braces in string", `s := "{("`, "complete", ""},
		{"close brace", "}", "invalid", ""},
		{"mismatch", "f(]", "invalid", ""},
		{"extra close", "f())", "invalid", ""},
		{"illegal char", "x := @y", "invalid", ""},
		{"illegal char in open brace", "func f() {\n\t#", "invalid", ""},
		{"illegal char in string ok", `s := "@#"`, "complete", ""},
		{"unterminated string", `s := "abc`, "invalid", ""},
		{"unterminated string then lines", "s := \"abc\nx := 1", "invalid", ""},
		{"unterminated rune", "r := 'a", "invalid", ""},
		{"bad number", "x := 0x", "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, indent := IsComplete(tt.code)
			if status != tt.status || indent != tt.indent {
				t.Errorf("IsComplete(%q) = %q, %q; want %q, %q", tt.code, status, indent, tt.status, tt.indent)
			}
		})
	}
}

// cursorCode splits s at its "|" into code and cursor offset.
func cursorCode(t *testing.T, s string) (string, int) {
	t.Helper()
	i := strings.Index(s, "|")
	if i < 0 {
		t.Fatalf("no cursor in %q", s)
	}
	return s[:i] + s[i+1:], i
}

func TestExprAt(t *testing.T) {
	tests := []struct {
		in, expr, prefix string // prefix is code[start:cursor]
	}{
		{"x := strings.Spl|", "strings.Spl", "strings.Spl"},
		{"fmt.|", "fmt.", "fmt."},
		{"x := fmt.|", "fmt.", "fmt."},
		{"strings.Sp|lit(s, sep)", "strings.Split", "strings.Sp"},
		{"str|ings.Split", "strings", "str"},
		{"|strings", "strings", ""},
		{"a.b.c|", "a.b.c", "a.b.c"},
		{"a.b.|", "a.b.", "a.b."},
		{"x|", "x", "x"},
		{"f(x, y|)", "y", "y"},
		{"f().Na|", "Na", "Na"},
		{"x := .|", "", ""},
		{"xs...|", "", ""},
		{"fmt |", "", ""},
		{"|", "", ""},
		{"1.5|", "", ""},
		{"x := 12|", "", ""},
		{"x.12|", "", ""},
		{"héllo.wör|ld", "héllo.wörld", "héllo.wör"},
		{`s := "strings.Sp|"`, "", ""},
		{`s := "strings.Sp|`, "", ""},
		{"s := `raw\nfmt.|", "", ""},
		{"s := `raw`\nfmt.|", "fmt.", "fmt."},
		{"// fmt.Pr|", "", ""},
		{"// fmt.Pr\nfmt.Pr|", "fmt.Pr", "fmt.Pr"},
		{"/* fmt.| */", "", ""},
		{"/* x */fmt.|", "fmt.", "fmt."},
		{"r := 'a|'", "", ""},
		{`"a"|.b`, "", ""},
		{"x = y|\n", "y", "y"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			code, cursor := cursorCode(t, tt.in)
			expr, start, end := ExprAt(code, cursor)
			if expr != tt.expr {
				t.Errorf("ExprAt(%q, %d) expr = %q; want %q", code, cursor, expr, tt.expr)
			}
			if start > cursor || end < cursor || code[start:end] != expr {
				t.Fatalf("ExprAt(%q, %d) range = [%d, %d); want a range around the cursor holding %q", code, cursor, start, end, expr)
			}
			if got := code[start:cursor]; got != tt.prefix {
				t.Errorf("ExprAt(%q, %d) prefix = %q; want %q", code, cursor, got, tt.prefix)
			}
		})
	}
}

func TestExprAtClampsCursor(t *testing.T) {
	for _, cursor := range []int{-5, 100} {
		expr, start, end := ExprAt("fmt.Pr", cursor)
		if start < 0 || end > len("fmt.Pr") || start > end {
			t.Errorf("ExprAt(%q, %d) = %q, %d, %d; want a range inside the code", "fmt.Pr", cursor, expr, start, end)
		}
	}
	if expr, _, _ := ExprAt("fmt.Pr", 100); expr != "fmt.Pr" {
		t.Errorf("ExprAt(%q, 100) expr = %q; want %q", "fmt.Pr", expr, "fmt.Pr")
	}
}

func TestKeywords(t *testing.T) {
	for _, want := range []string{"func", "var", "fallthrough", "int", "any", "comparable", "nil", "iota", "true", "min", "max", "clear", "append"} {
		if !slices.Contains(Keywords, want) {
			t.Errorf("Keywords lacks %q", want)
		}
	}
	seen := map[string]bool{}
	for _, k := range Keywords {
		if seen[k] {
			t.Errorf("Keywords holds %q twice", k)
		}
		seen[k] = true
	}
}

func TestPackageDoc(t *testing.T) {
	tests := []struct {
		path, name string
		ok         bool
		wantName   string
		sig        string // exact signature, or prefix when it ends in "..."
		text       string // substring of Text
		source     string // substring of Source
	}{
		{"strings", "Split", true, "strings.Split", "func Split(s, sep string) []string", "Split slices s", "genSplit(s, sep, 0, -1)"},
		{"strings", "", true, "strings", "package strings", "Package strings implements", ""},
		{"strings", "Builder", true, "strings.Builder", "type Builder struct {...", "A Builder is used", "buf []byte"},
		{"strings", "Builder.String", true, "strings.Builder.String", "func (b *Builder) String() string", "accumulated string", "return unsafe.String"},
		{"strings", "(*Builder).String", true, "strings.Builder.String", "func (b *Builder) String() string", "accumulated string", ""},
		{"strings", "NewReader", true, "strings.NewReader", "func NewReader(s string) *Reader", "NewReader returns", ""},
		{"io", "EOF", true, "io.EOF", `var EOF = errors.New("EOF")`, "no more input", `var EOF = errors.New("EOF")`},
		{"io", "SeekEnd", true, "io.SeekEnd", "const SeekEnd = 2", "Seek whence values", "SeekStart"},
		{"time", "Duration", true, "time.Duration", "type Duration int64", "elapsed time", "type Duration int64"},
		{"time", "Minute", true, "time.Minute", "const Minute = 60 * Second", "", "Nanosecond  Duration = 1"},
		{"net/http", "StatusOK", true, "http.StatusOK", "const StatusOK = 200", "", ""},
		{"builtin", "len", true, "builtin.len", "func len(v Type) int", "length of v", ""},
		{"builtin", "int", true, "builtin.int", "type int int", "signed integer", ""},
		{"builtin", "nil", true, "builtin.nil", "var nil Type", "zero value", ""},
		{"builtin", "true", true, "builtin.true", "const true = 0 == 0", "untyped boolean", "false = 0 != 0"},
		{"strings", "genSplit", false, "", "", "", ""},
		{"strings", "NoSuchThing", false, "", "", "", ""},
		{"no/such/pkg", "X", false, "", "", "", ""},
		{"example.invalid/none", "X", false, "", "", "", ""},
		{"", "X", false, "", "", "", ""},
		{"../strings", "Split", false, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path+"/"+tt.name, func(t *testing.T) {
			d, ok := PackageDoc(tt.path, tt.name)
			checkDoc(t, "PackageDoc("+tt.path+", "+tt.name+")", d, ok, tt.ok, tt.wantName, tt.sig, tt.text, tt.source)
		})
	}
}

func checkDoc(t *testing.T, call string, d Doc, ok, wantOK bool, name, sig, text, source string) {
	t.Helper()
	if ok != wantOK {
		t.Fatalf("%s ok = %v; want %v (doc %+v)", call, ok, wantOK, d)
	}
	if !ok {
		return
	}
	if d.Name != name {
		t.Errorf("%s Name = %q; want %q", call, d.Name, name)
	}
	if p, cut := strings.CutSuffix(sig, "..."); cut {
		if !strings.HasPrefix(d.Signature, p) {
			t.Errorf("%s Signature = %q; want prefix %q", call, d.Signature, p)
		}
	} else if d.Signature != sig {
		t.Errorf("%s Signature = %q; want %q", call, d.Signature, sig)
	}
	if !strings.Contains(d.Text, text) {
		t.Errorf("%s Text = %q; want it to contain %q", call, d.Text, text)
	}
	if !strings.Contains(d.Source, source) {
		t.Errorf("%s Source = %q; want it to contain %q", call, d.Source, source)
	}
}

func TestPackageDocModuleCache(t *testing.T) {
	// Modules the repository depends on; skipped when the cache lacks them.
	d, ok := PackageDoc("github.com/traefik/yaegi/interp", "New")
	if !ok {
		t.Skip("github.com/traefik/yaegi not in the module cache")
	}
	if want := "func New(options Options) *Interpreter"; d.Signature != want {
		t.Errorf("PackageDoc(yaegi/interp, New) Signature = %q; want %q", d.Signature, want)
	}
}

func TestPackageDocCached(t *testing.T) {
	if _, ok := PackageDoc("strings", "Split"); !ok {
		t.Fatal("PackageDoc(strings, Split) not found")
	}
	const n = 100
	start := time.Now()
	for range n {
		PackageDoc("strings", "Split")
	}
	if per := time.Since(start) / n; per > time.Millisecond {
		t.Errorf("cached PackageDoc(strings, Split) took %v per call; want < 1ms", per)
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"v1.2.3", "v1.2.3", 0},
		{"v1.10.0", "v1.9.0", 1},
		{"v0.16.1", "v0.17.0", -1},
		{"v1.0.0", "v1.0.0-rc.1", 1},
		{"v2.0.0+incompatible", "v1.9.9", 1},
		{"v0.0.0-20200101-abc", "v0.0.0-20210101-abc", -1},
	}
	for _, tt := range tests {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestEscapeModPath(t *testing.T) {
	if got, ok := escapeModPath("github.com/BurntSushi/toml"); !ok || got != "github.com/!burnt!sushi/toml" {
		t.Errorf("escapeModPath = %q, %v; want %q, true", got, ok, "github.com/!burnt!sushi/toml")
	}
}

const session = `import "fmt"

x := 1
fmt.Println(x)

// Add returns the sum
// of a and b.
func Add(a, b int) int {
	return a + b
}

for i := 0; i < 3; i++ {
	var inner = i
	_ = inner
}

// Point is a point.
type Point struct {
	X, Y int // coordinates
}

// Norm is the squared norm.
func (p *Point) Norm() int { return p.X*p.X + p.Y*p.Y }

y := 2 // not a doc comment
func Sub(a, b int) int { return a - b }

// Limit caps things.
const Limit = 10

var (
	// Verbose enables logging.
	Verbose bool
	count   = 3
)

const (
	A = iota
	B
)

type (
	ID   int
	Name string
)

func() { fmt.Println("iife") }()
go func() {}()

// Add adds, redefined.
func Add(a, b int) int { return b + a }

type Gen[T any] struct{ v T }

func (g Gen[T]) Get() T { return g.v }
`

func TestDeclDoc(t *testing.T) {
	tests := []struct {
		name         string
		ok           bool
		sig, text    string
		sourcePrefix string
	}{
		{"Add", true, "func Add(a, b int) int", "Add adds, redefined.\n", "func Add(a, b int) int { return b + a }"},
		{"Point", true, "type Point struct {\n\tX, Y int // coordinates\n}", "Point is a point.\n", "type Point struct {"},
		{"Point.Norm", true, "func (p *Point) Norm() int", "Norm is the squared norm.\n", "func (p *Point) Norm() int {"},
		{"(*Point).Norm", true, "func (p *Point) Norm() int", "Norm is the squared norm.\n", "func (p *Point) Norm() int {"},
		{"Sub", true, "func Sub(a, b int) int", "", "func Sub"},
		{"Limit", true, "const Limit = 10", "Limit caps things.\n", "const Limit = 10"},
		{"Verbose", true, "var Verbose bool", "Verbose enables logging.\n", "var ("},
		{"count", true, "var count = 3", "", "var ("},
		{"A", true, "const A = iota", "", "const ("},
		{"B", true, "const (\n\tA = iota\n\tB\n)", "", "const ("},
		{"Name", true, "type Name string", "", "type Name string"},
		{"Gen", true, "type Gen[T any] struct{ v T }", "", "type Gen[T any]"},
		{"Gen.Get", true, "func (g Gen[T]) Get() T", "", "func (g Gen[T]) Get() T { return g.v }"},
		{"x", false, "", "", ""},
		{"inner", false, "", "", ""},
		{"i", false, "", "", ""},
		{"Norm", false, "", "", ""},
		{"fmt", false, "", "", ""},
		{"Missing", false, "", "", ""},
		{"", false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := DeclDoc(session, tt.name)
			if ok != tt.ok {
				t.Fatalf("DeclDoc(session, %q) ok = %v; want %v (doc %+v)", tt.name, ok, tt.ok, d)
			}
			if !ok {
				return
			}
			if d.Signature != tt.sig {
				t.Errorf("DeclDoc(session, %q) Signature = %q; want %q", tt.name, d.Signature, tt.sig)
			}
			if d.Text != tt.text {
				t.Errorf("DeclDoc(session, %q) Text = %q; want %q", tt.name, d.Text, tt.text)
			}
			if !strings.HasPrefix(d.Source, tt.sourcePrefix) {
				t.Errorf("DeclDoc(session, %q) Source = %q; want prefix %q", tt.name, d.Source, tt.sourcePrefix)
			}
		})
	}
}

func TestDeclDocRobust(t *testing.T) {
	tests := []struct {
		name, src, want string // want is the signature; "" for not found
	}{
		{"unclosed body", "func F() {\n\tx :=", "func F()"},
		{"garbage before", "}}} @@ \nfunc F() {}", "func F()"},
		{"garbage after", "func F() {}\n)))( \"x", "func F()"},
		{"broken redefinition keeps working one", "func F() {}\nfunc F( {", "func F()"},
		{"closure var", "var F = func() int {\n\treturn 1\n}\n", "var F = func() int {\n\treturn 1\n}"},
		{"after semicolon", "x := 1; func F() {}", "func F()"},
		{"not at statement start", "x := func F() {}", ""},
		{"inside braces", "if true {\n\tvar F = 1\n}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := DeclDoc(tt.src, "F")
			if ok != (tt.want != "") || d.Signature != tt.want {
				t.Errorf("DeclDoc(%q, F) = %q, %v; want %q, %v", tt.src, d.Signature, ok, tt.want, tt.want != "")
			}
		})
	}
}

func TestDeclDocComments(t *testing.T) {
	tests := []struct {
		name, src, want string // want is the doc text of G
	}{
		{"blank line between", "// not doc\n\nfunc G() {}", ""},
		{"trailing comment above", "x := 1 // trailing\n// doc G\nfunc G() {}", "doc G\n"},
		{"block comments", "/* a */ /* b */\nfunc G() {}", " a\n b\n"},
		{"multi-line", "// one\n// two\nfunc G() {}", "one\ntwo\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := DeclDoc(tt.src, "G")
			if !ok || d.Text != tt.want {
				t.Errorf("DeclDoc(%q, G) = %q, %v; want text %q, true", tt.src, d.Text, ok, tt.want)
			}
		})
	}
}
