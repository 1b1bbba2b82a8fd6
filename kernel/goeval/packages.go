package goeval

import (
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"path"
	"strconv"
	"strings"

	"github.com/traefik/yaegi/interp"
)

// Packages provides the symbols of packages that an Evaluator has none for
// (third-party modules); see Options.Packages. kernel/gomod implements it.
type Packages interface {
	// Load returns the exports of the packages at importPaths, keyed like
	// interp.Exports ("importpath/pkgname").
	Load(ctx context.Context, importPaths []string) (interp.Exports, error)
}

// loadImports gives the interpreter the packages that the declarations of a
// cell import and that it has no symbols for, from Options.Packages.
func (e *Evaluator) loadImports(ctx context.Context, cellID int, code string, chunks []chunk) error {
	var paths []string
	at := map[string]int{} // import path -> offset in the cell
	for _, ch := range chunks {
		if !ch.decl {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), "", declPrefix+code[ch.start:ch.end], parser.ImportsOnly)
		if err != nil {
			continue // yaegi reports it
		}
		for _, s := range f.Imports {
			ip, err := strconv.Unquote(s.Path.Value)
			if err != nil || ip == "C" || strings.HasPrefix(ip, ".") || strings.HasPrefix(ip, "/") {
				continue
			}
			if _, ok := e.pkgKeys[ip]; ok {
				continue
			}
			if _, ok := at[ip]; !ok {
				paths = append(paths, ip)
				at[ip] = ch.start + int(s.Path.Pos()) - 1 - len(declPrefix)
			}
		}
	}
	if len(paths) == 0 {
		return nil
	}
	ex, err := e.opts.Packages.Load(ctx, paths)
	if err != nil {
		if ctx.Err() != nil {
			return e.interrupted(ctx.Err(), false)
		}
		return e.staticError(cellID, code, at[paths[0]], "ImportError", err.Error())
	}
	e.compiled.Store(true) // its code writes to the process's descriptors
	if err := e.interp.Use(ex); err != nil {
		return fmt.Errorf("goeval: using symbols: %w", err)
	}
	e.exports = append(e.exports, ex)
	for k := range ex {
		e.pkgKeys[path.Dir(k)] = k
	}
	return nil
}
