package goeval

import (
	"context"
	"fmt"
	"go/token"
	"reflect"

	"github.com/traefik/yaegi/interp"
)

// Global returns the value of the session's global variable or constant
// called name (one declared by a cell, or set with SetGlobal).
func (e *Evaluator) Global(name string) (reflect.Value, bool) {
	v, ok := e.globals()[name]
	if !ok || !v.IsValid() {
		return reflect.Value{}, false
	}
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	return v, true
}

// SetGlobal declares (or redeclares) the session variable name with the
// value v and v's dynamic type, as a cell `var name = v` would: later cells
// use it as an ordinary variable. It is how magics hand results to Go code
// (e.g. %%sql -o name). A nil v is an error.
func (e *Evaluator) SetGlobal(ctx context.Context, name string, v any) error {
	if !token.IsIdentifier(name) || token.IsKeyword(name) {
		return fmt.Errorf("goeval: %q is not a Go identifier", name)
	}
	if v == nil {
		return fmt.Errorf("goeval: SetGlobal %s: nil value (it has no type)", name)
	}
	e.seq++
	pkg := fmt.Sprintf("_ferryset%d", e.seq)
	path := rtPath + "/set/" + pkg
	val := reflect.New(reflect.TypeOf(v)).Elem()
	val.Set(reflect.ValueOf(v))
	if err := e.interp.Use(interp.Exports{path + "/" + pkg: {"V": val}}); err != nil {
		return fmt.Errorf("goeval: SetGlobal %s: %w", name, err)
	}
	e.pkgKeys[path] = path + "/" + pkg
	// Evaluate like a cell so that the session's bookkeeping (declared
	// names, their types for completion) knows the variable.
	src := fmt.Sprintf("import %s %q\n\nvar %s = %s.V\n", pkg, path, name, pkg)
	if _, err := e.Eval(ctx, src); err != nil {
		return fmt.Errorf("goeval: SetGlobal %s: %w", name, err)
	}
	return nil
}
