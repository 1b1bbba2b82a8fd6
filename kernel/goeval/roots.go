package goeval

import (
	"reflect"
	"unsafe"

	"github.com/traefik/yaegi/interp"
)

// forgetRoots empties the interpreter's list of compiled roots. yaegi
// appends the syntax tree of every source it compiles to that list, for its
// debugger only (which Ferry does not use), so every executed cell stayed
// in memory for good: about 10 KB for a `1+1`, 65 MB after 6,000 of them.
// What later cells use (declarations, closures of running goroutines) stays
// reachable from the interpreter's scopes and frames. It reports whether
// the field was found: a yaegi upgrade that renames it fails
// TestForgetRoots.
func forgetRoots(i *interp.Interpreter) bool {
	f := reflect.ValueOf(i).Elem().FieldByName("roots")
	if !f.IsValid() || f.Kind() != reflect.Slice {
		return false
	}
	f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
	f.Set(reflect.Zero(f.Type()))
	return true
}
