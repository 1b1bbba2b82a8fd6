package symbols_test

import (
	"testing"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/ferryml/ferry/cmd/ferry-kernel/symbols"
)

// BenchmarkNewStdlib is the baseline: an interpreter with the standard
// library only.
func BenchmarkNewStdlib(b *testing.B) {
	for b.Loop() {
		i := interp.New(interp.Options{})
		if err := i.Use(stdlib.Symbols); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewWithSymbols adds Ferry's symbols: the difference to
// BenchmarkNewStdlib is what they add to each kernel start.
func BenchmarkNewWithSymbols(b *testing.B) {
	for b.Loop() {
		i := interp.New(interp.Options{})
		if err := i.Use(stdlib.Symbols); err != nil {
			b.Fatal(err)
		}
		if err := i.Use(symbols.Symbols); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstImport is the cost of a cell's first import of the extracted
// packages (yaegi resolves them lazily, at import).
func BenchmarkFirstImport(b *testing.B) {
	for b.Loop() {
		i := interp.New(interp.Options{})
		_ = i.Use(stdlib.Symbols)
		_ = i.Use(symbols.Symbols)
		if _, err := i.Eval(`import (
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/ferryml/ferry/display"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)`); err != nil {
			b.Fatal(err)
		}
	}
}
