// Package symbols holds pre-extracted yaegi symbols (yaegi extract) of the
// packages Ferry's Go kernel offers to cells beyond the standard library.
package symbols

import "reflect"

// Symbols maps "importpath/pkgname" to the package's exported symbols, in the
// form interp.Interpreter.Use takes. The generated files add to it in init.
var Symbols = map[string]map[string]reflect.Value{}
