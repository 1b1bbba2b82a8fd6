package symbols_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/cmd/ferry-kernel/symbols"
)

func newInterp(t testing.TB) *interp.Interpreter {
	t.Helper()
	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	if err := i.Use(symbols.Symbols); err != nil {
		t.Fatal(err)
	}
	return i
}

func eval(t *testing.T, i *interp.Interpreter, src string) reflect.Value {
	t.Helper()
	v, err := i.Eval(src)
	if err != nil {
		t.Fatalf("eval %q: %v", src, err)
	}
	return v
}

func TestPackagesRegistered(t *testing.T) {
	for _, key := range []string{
		"github.com/ferryml/ferry/display/display",
		"github.com/apache/arrow-go/v18/arrow/arrow",
		"github.com/apache/arrow-go/v18/arrow/array/array",
		"github.com/apache/arrow-go/v18/arrow/memory/memory",
		"gonum.org/v1/gonum/mat/mat",
		"gonum.org/v1/gonum/stat/stat",
		"gonum.org/v1/gonum/floats/floats",
	} {
		if len(symbols.Symbols[key]) == 0 {
			t.Errorf("no symbols for %s", key)
		}
	}
}

func TestGonum(t *testing.T) {
	i := newInterp(t)
	eval(t, i, `import (
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)`)
	v := eval(t, i, `mat.Det(mat.NewDense(2, 2, []float64{1, 2, 3, 4}))`)
	if got := v.Interface().(float64); got < -2.0000001 || got > -1.9999999 {
		t.Errorf("det = %v, want -2", got)
	}
	v = eval(t, i, `stat.Mean([]float64{1, 2, 3, 6}, nil)`)
	if got := v.Interface().(float64); got != 3 {
		t.Errorf("mean = %v, want 3", got)
	}
}

func TestArrow(t *testing.T) {
	i := newInterp(t)
	eval(t, i, `import (
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)`)
	eval(t, i, `
b := array.NewInt64Builder(memory.DefaultAllocator)
b.AppendValues([]int64{1, 2, 3}, nil)
b.AppendNull()
arr := b.NewInt64Array()
b.Release()
`)
	if got := eval(t, i, `arr.Len()`).Interface(); got != 4 {
		t.Errorf("Len = %v, want 4", got)
	}
	if got := eval(t, i, `arr.NullN()`).Interface(); got != 1 {
		t.Errorf("NullN = %v, want 1", got)
	}
	if got := eval(t, i, `arr.Value(2)`).Interface(); got != int64(3) {
		t.Errorf("Value(2) = %v, want 3", got)
	}
	if got := eval(t, i, `arr.String()`).Interface(); got != "[1 2 3 (null)]" {
		t.Errorf("String = %q", got)
	}
}

func TestDisplay(t *testing.T) {
	i := newInterp(t)
	eval(t, i, `import "github.com/ferryml/ferry/display"`)
	eval(t, i, `d, _ := display.MIMEBundle(display.HTML("<b>x</b>"))`)
	v := eval(t, i, `d["text/html"]`)
	if got := v.Interface(); got != "<b>x</b>" {
		t.Errorf("text/html = %q", got)
	}
	eval(t, i, `d, _ = display.MIMEBundle(6 * 7)`)
	v = eval(t, i, `d["text/plain"]`)
	if got := v.Interface(); got != "42" {
		t.Errorf("text/plain = %q, want 42", got)
	}
}

// TestInterpretedRenderer records what yaegi v0.16.1 does with a type
// declared in interpreted code that has a MIMEBundle method.
//
// Handed to the compiled display package as an interface value of static
// type display.Renderer, it is wrapped (by the _Renderer wrapper that
// yaegi extract generated) and renders through its own bundle. Handed over
// as any (display.Display(card), display.MIMEBundle(card)), yaegi passes the
// bare struct without its methods: only text/plain of its fields shows.
// Type switches and conversion expressions (display.Renderer(card)) do not
// wrap either; a comma-ok assertion inside a function taking any does, which
// is the recipe bundleOf below (for the kernel's prelude), for values but not
// pointers.
func TestInterpretedRenderer(t *testing.T) {
	tests := []struct {
		name, src string
		mime      string
		want      string
	}{
		{"static Renderer variable", `d := staticValue()`, "text/html", "<h1>hi</h1>"},
		{"pointer in Renderer variable", `d := staticPointer()`, "text/html", "<h1>hi</h1>"},
		{"recipe: interpreted value", `d, _ := bundleOf(Card{"hi"})`, "text/html", "<h1>hi</h1>"},
		{"recipe: compiled Renderer", `d, _ := bundleOf(display.HTML("<i>c</i>"))`, "text/html", "<i>c</i>"},
		{"recipe: plain value", `d, _ := bundleOf(6 * 7)`, "text/plain", "42"},
		// The limitation: passed as any, only the fields show.
		{"recipe: interpreted pointer (limitation)", `d, _ := bundleOf(&Card{"hi"})`, "text/plain", "&{Title:hi}"},
		{"as any (limitation)", `d, _ := display.MIMEBundle(Card{"hi"})`, "text/plain", "{Title:hi}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := cardInterp(t)
			eval(t, i, tt.src)
			v := eval(t, i, `d[`+strconvQuote(tt.mime)+`]`)
			if got, _ := v.Interface().(string); got != tt.want {
				t.Errorf("%s = %#v, want %q", tt.mime, v.Interface(), tt.want)
			}
			if v := eval(t, i, `d["text/plain"]`); v.Interface() == nil {
				t.Error("no text/plain")
			}
		})
	}
}

// cardInterp is an interpreter where the cell code has declared Card, an
// interpreted Renderer, and the helpers of TestInterpretedRenderer.
func cardInterp(t *testing.T) *interp.Interpreter {
	i := newInterp(t)
	eval(t, i, `import "github.com/ferryml/ferry/display"`)
	eval(t, i, `type Card struct{ Title string }`)
	eval(t, i, `func (c Card) MIMEBundle() (map[string]any, map[string]any) {
	return map[string]any{"text/html": "<h1>" + c.Title + "</h1>"}, nil
}`)
	eval(t, i, `func bundleOf(x any) (map[string]any, map[string]any) {
	r, ok := x.(display.Renderer)
	if !ok {
		return display.MIMEBundle(x)
	}
	return display.MIMEBundle(r)
}`)
	eval(t, i, `func staticValue() map[string]any {
	var r display.Renderer = Card{"hi"}
	d, _ := display.MIMEBundle(r)
	return d
}`)
	eval(t, i, `func staticPointer() map[string]any {
	var r display.Renderer = &Card{"hi"}
	d, _ := display.MIMEBundle(r)
	return d
}`)
	return i
}

func strconvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestFerryErrors checks that cells can classify the errors storage and
// jobs return, whose type and codes live in the root package.
func TestFerryErrors(t *testing.T) {
	i := newInterp(t)
	eval(t, i, `import "github.com/ferryml/ferry"`)
	if got := eval(t, i, `ferry.IsNotFound(ferry.Errorf(ferry.NotFound, "run %s not found", "r1"))`).Interface(); got != true {
		t.Errorf("IsNotFound = %v, want true", got)
	}
	if got := eval(t, i, `ferry.ErrorCode(ferry.Errorf(ferry.Invalid, "bad"))`).Interface(); got != ferry.Invalid {
		t.Errorf("ErrorCode = %v, want %v", got, ferry.Invalid)
	}
}
