// Package symbols holds pre-extracted yaegi symbols (yaegi extract) of the
// packages Ferry's Go kernel offers to cells beyond the standard library:
// Ferry's root package (errors and their codes), widgets and display,
// storage (contracts), storage/data
// (DuckDB tables) and storage/tracking, tuning (studies: search spaces,
// objectives) and tuning/tuningclient (Open and Optimize), Apache Arrow (arrow, arrow/array,
// arrow/memory) and gonum (mat, stat, floats).
//
// yaegi extract leaves out generic functions and types (for example
// arrow.NewExtensionType helpers and array.NewDictionaryBuilder's generic
// kin); the rest of each package is available. Regenerate after changing an
// extracted package's API with `go generate ./cmd/ferry-kernel/symbols`.
package symbols

import "reflect"

//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/ferryml/ferry
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/ferryml/ferry/widgets
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/ferryml/ferry/display
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/ferryml/ferry/storage/data
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/ferryml/ferry/storage
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/ferryml/ferry/storage/tracking
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/ferryml/ferry/tuning
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/ferryml/ferry/tuning/tuningclient
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/apache/arrow-go/v18/arrow
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/apache/arrow-go/v18/arrow/array
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract github.com/apache/arrow-go/v18/arrow/memory
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract gonum.org/v1/gonum/mat
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract gonum.org/v1/gonum/stat
//go:generate go run github.com/traefik/yaegi/cmd/yaegi@v0.16.1 extract gonum.org/v1/gonum/floats

// Symbols maps "importpath/pkgname" to the package's exported symbols, in the
// form interp.Interpreter.Use takes. The generated files add to it in init.
var Symbols = map[string]map[string]reflect.Value{}
