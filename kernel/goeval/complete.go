package goeval

import (
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"reflect"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ferryml/ferry/kernel"
	"github.com/ferryml/ferry/kernel/gosrc"
)

// IsComplete reports whether code is a complete cell; see kernel.Evaluator
// and gosrc.IsComplete.
func (e *Evaluator) IsComplete(code string) (status, indent string) {
	return gosrc.IsComplete(code)
}

// byteOffset converts a cursor in code points to a byte offset.
func byteOffset(code string, cursor int) int {
	off := 0
	for i := 0; i < cursor && off < len(code); i++ {
		_, n := utf8.DecodeRuneInString(code[off:])
		off += n
	}
	return off
}

func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// predeclaredKind classifies a Go keyword or predeclared identifier for
// completion.
func predeclaredKind(name string) string {
	if token.IsKeyword(name) {
		return "keyword"
	}
	switch types.Universe.Lookup(name).(type) {
	case *types.TypeName:
		return "type"
	case *types.Const, *types.Nil:
		return "constant"
	}
	return "function"
}

// Complete returns completions for the code at cursor; see kernel.Evaluator.
func (e *Evaluator) Complete(code string, cursor int) kernel.Completion {
	res := kernel.Completion{CursorStart: cursor, CursorEnd: cursor}
	off := byteOffset(code, cursor)
	_, start, _ := gosrc.ExprAt(code, off)
	if start > 0 && code[start-1] == '.' {
		return res // a selector on something other than a name, such as f().
	}
	expr := code[start:off] // the typed part of the chain
	if expr == "" && off > 0 {
		if r, _ := utf8.DecodeLastRuneInString(code[:off]); isIdentRune(r) {
			return res // in a string, rune literal, comment or number
		}
	}
	type cand struct{ name, kind string }
	var cands []cand
	prefix := expr
	if i := strings.LastIndexByte(expr, '.'); i >= 0 {
		prefix = expr[i+1:]
		recv := expr[:i]
		if p, ok := e.imports[recv]; ok {
			for name, v := range e.packageSymbols(p) {
				if !strings.HasPrefix(name, "_") {
					cands = append(cands, cand{name, symbolKind(v)})
				}
			}
		} else if v, ok := e.globals()[recv]; ok && v.IsValid() && v.CanInterface() {
			t := v.Type()
			if v.CanAddr() {
				t = reflect.PointerTo(t)
			}
			for i := 0; i < t.NumMethod(); i++ {
				cands = append(cands, cand{t.Method(i).Name, "function"})
			}
			st := v.Type()
			if st.Kind() == reflect.Ptr {
				st = st.Elem()
			}
			if st.Kind() == reflect.Struct {
				for i := 0; i < st.NumField(); i++ {
					if st.Field(i).IsExported() {
						cands = append(cands, cand{st.Field(i).Name, "variable"})
					}
				}
			}
		}
	} else {
		for _, n := range gosrc.Keywords {
			cands = append(cands, cand{n, predeclaredKind(n)})
		}
		for n := range e.imports {
			cands = append(cands, cand{n, "package"})
		}
		for n, d := range e.decls {
			if !strings.Contains(n, ".") {
				cands = append(cands, cand{n, d.kind})
			}
		}
		for n, v := range e.globals() {
			kind := "variable"
			if _, ok := constString(v); ok {
				kind = "constant"
			}
			cands = append(cands, cand{n, kind})
		}
	}
	seen := map[string]bool{}
	sort.Slice(cands, func(i, j int) bool { return cands[i].name < cands[j].name })
	for _, c := range cands {
		if seen[c.name] || !strings.HasPrefix(c.name, prefix) || strings.HasPrefix(c.name, "_ferry") {
			continue
		}
		seen[c.name] = true
		res.Matches = append(res.Matches, c.name)
		res.Types = append(res.Types, c.kind)
	}
	res.CursorStart = cursor - utf8.RuneCountInString(prefix)
	return res
}

// symbolKind classifies a yaegi export.
func symbolKind(v reflect.Value) string {
	if !v.IsValid() {
		return "variable"
	}
	if _, ok := constString(v); ok {
		return "constant"
	}
	switch {
	case v.CanAddr(): // yaegi exports variables as reflect.ValueOf(&v).Elem()
		return "variable"
	case v.Kind() == reflect.Ptr && v.IsNil():
		return "type"
	case v.Kind() == reflect.Func:
		return "function"
	}
	return "constant" // typed constants are exported as plain values
}

// Inspect returns documentation for the symbol at cursor; see
// kernel.Evaluator.
func (e *Evaluator) Inspect(code string, cursor, detail int) (kernel.Bundle, bool) {
	expr, _, _ := gosrc.ExprAt(code, byteOffset(code, cursor))
	expr = strings.Trim(expr, ".")
	if expr == "" {
		return kernel.Bundle{}, false
	}
	text, ok := e.describe(expr, detail)
	if !ok {
		return kernel.Bundle{}, false
	}
	return kernel.Bundle{Data: map[string]any{"text/plain": text}, Metadata: map[string]any{}}, true
}

// describe documents expr, a dotted name: a package, a symbol of an imported
// package (read from its source by gosrc.PackageDoc, else described from its
// yaegi export), a cell-declared name, a global, or a keyword or predeclared
// identifier.
func (e *Evaluator) describe(expr string, detail int) (string, bool) {
	parts := strings.Split(expr, ".")
	// pkg, pkg.Name or pkg.Type.Method
	if p, ok := e.imports[parts[0]]; ok {
		name := strings.Join(parts[1:min(len(parts), 3)], ".")
		if d, ok := gosrc.PackageDoc(p, name); ok {
			if name == "" {
				return strings.TrimRight(fmt.Sprintf("%s // import %q\n\n%s", d.Signature, p, d.Text), "\n"), true
			}
			return formatDoc(d, detail), true
		}
		if name == "" {
			return fmt.Sprintf("package %s // import %q", parts[0], p), true
		}
		if v, ok := e.packageSymbols(p)[parts[1]]; ok && v.IsValid() {
			return fmt.Sprintf("%s.%s: %s", parts[0], parts[1], describeValue(v)), true
		}
		return "", false
	}
	key := expr
	if len(parts) > 2 {
		key = strings.Join(parts[len(parts)-2:], ".")
	}
	if d, ok := e.decls[key]; ok {
		return formatDoc(gosrc.Doc{Signature: d.sig, Text: d.doc, Source: d.src}, detail), true
	}
	if v, ok := e.globals()[parts[0]]; ok && len(parts) == 1 {
		if c, ok := constString(v); ok {
			return fmt.Sprintf("const %s = %s", expr, c), true
		}
		if v.IsValid() && v.CanInterface() {
			return fmt.Sprintf("var %s %s = %v", expr, v.Type(), v.Interface()), true
		}
	}
	if len(parts) == 1 && slices.Contains(gosrc.Keywords, expr) {
		if d, ok := gosrc.PackageDoc("builtin", expr); ok {
			return formatDoc(d, detail), true
		}
		return expr + ": Go keyword", true
	}
	return "", false
}

// formatDoc renders d for Inspect: the signature, the doc comment and, when
// detail > 0, the source.
func formatDoc(d gosrc.Doc, detail int) string {
	s := d.Signature
	if d.Text != "" {
		s += "\n\n" + strings.TrimRight(d.Text, "\n")
	}
	if detail > 0 && d.Source != "" && d.Source != d.Signature {
		s += "\n\n" + d.Source
	}
	return strings.TrimRight(s, "\n")
}

func describeValue(v reflect.Value) string {
	if c, ok := constString(v); ok {
		return "constant " + c
	}
	if v.Kind() == reflect.Ptr && v.IsNil() {
		return "type " + v.Type().Elem().String()
	}
	return v.Type().String()
}

// constString formats a yaegi constant.
func constString(v reflect.Value) (string, bool) {
	if !v.IsValid() || !v.CanInterface() {
		return "", false
	}
	c, ok := v.Interface().(constant.Value)
	if !ok {
		return "", false
	}
	return c.ExactString(), true
}
