package goeval

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ferryml/ferry/kernel"
)

// IsComplete reports whether code is a complete cell; see kernel.Evaluator.
func (e *Evaluator) IsComplete(code string) (status, indent string) {
	toks, errs := scanTokens(code)
	for _, err := range errs {
		switch err.Msg {
		case "raw string literal not terminated", "comment not terminated":
			return "incomplete", ""
		}
		return "invalid", ""
	}
	depth := 0
	var lastTok token.Token
	for _, t := range toks {
		switch t.tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
			if depth < 0 {
				return "invalid", ""
			}
		}
		if t.tok != token.SEMICOLON || t.lit == ";" {
			lastTok = t.tok
		}
	}
	if depth > 0 {
		return "incomplete", strings.Repeat("    ", depth)
	}
	if lastTok.IsOperator() {
		switch lastTok {
		case token.RPAREN, token.RBRACK, token.RBRACE, token.SEMICOLON, token.INC, token.DEC:
		default:
			return "incomplete", ""
		}
	}
	return "complete", ""
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

// exprBefore returns the dotted name ending at byte offset off.
func exprBefore(code string, off int) (string, int) {
	start := off
	for start > 0 {
		r, n := utf8.DecodeLastRuneInString(code[:start])
		if !isIdentRune(r) && r != '.' {
			break
		}
		start -= n
	}
	return code[start:off], start
}

var keywords = strings.Fields(`break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var`)

// Complete returns completions for the code at cursor; see kernel.Evaluator.
func (e *Evaluator) Complete(code string, cursor int) kernel.Completion {
	off := byteOffset(code, cursor)
	expr, _ := exprBefore(code, off)
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
		for _, k := range keywords {
			cands = append(cands, cand{k, "keyword"})
		}
		for n := range universe {
			kind := "function"
			switch {
			case n == "true" || n == "false" || n == "iota" || n == "nil":
				kind = "constant"
			case intTypeNames[n] || strings.Contains("any bool comparable complex64 complex128 error float32 float64 string", n):
				kind = "type"
			}
			if n != "_" {
				cands = append(cands, cand{n, kind})
			}
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
	var res kernel.Completion
	sort.Slice(cands, func(i, j int) bool { return cands[i].name < cands[j].name })
	for _, c := range cands {
		if seen[c.name] || !strings.HasPrefix(c.name, prefix) || strings.HasPrefix(c.name, "_ferry") {
			continue
		}
		seen[c.name] = true
		res.Matches = append(res.Matches, c.name)
		res.Types = append(res.Types, c.kind)
	}
	res.CursorEnd = cursor
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
	off := byteOffset(code, cursor)
	end := off
	for end < len(code) {
		r, n := utf8.DecodeRuneInString(code[end:])
		if !isIdentRune(r) {
			break
		}
		end += n
	}
	expr, _ := exprBefore(code, end)
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

func (e *Evaluator) describe(expr string, detail int) (string, bool) {
	parts := strings.Split(expr, ".")
	// pkg.Name or pkg
	if p, ok := e.imports[parts[0]]; ok {
		name := ""
		if len(parts) > 1 {
			name = parts[1]
			if len(parts) > 2 { // pkg.Type.Method
				name = parts[1] + "." + parts[2]
			}
		}
		if s, ok := e.pkgDoc(p, name, detail); ok {
			return s, true
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
		s := d.sig
		if d.doc != "" {
			s += "\n\n" + d.doc
		}
		if detail > 0 && d.src != d.sig {
			s += "\n\n" + d.src
		}
		return strings.TrimRight(s, "\n"), true
	}
	if v, ok := e.globals()[parts[0]]; ok && len(parts) == 1 {
		if c, ok := constString(v); ok {
			return fmt.Sprintf("const %s = %s", expr, c), true
		}
		if v.IsValid() && v.CanInterface() {
			return fmt.Sprintf("var %s %s = %v", expr, v.Type(), v.Interface()), true
		}
	}
	if len(parts) == 1 && (universe[expr] || contains(keywords, expr)) {
		if s, ok := e.pkgDoc("builtin", expr, detail); ok {
			return s, true
		}
		return expr + ": Go keyword", true
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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

// pkgDocs is the parsed documentation of a package.
type pkgDocs struct {
	pkg  *doc.Package
	fset *token.FileSet
}

func goroot() string {
	if r := runtime.GOROOT(); r != "" {
		return r
	}
	return "/usr/local/go"
}

// loadDocs reads the documentation of the package at import path p.
func (e *Evaluator) loadDocs(p string) *pkgDocs {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d, ok := e.docs[p]; ok {
		return d
	}
	e.docs[p] = nil
	dir := filepath.Join(goroot(), "src", filepath.FromSlash(p))
	if _, err := os.Stat(dir); err != nil {
		bp, err := build.Default.Import(p, ".", build.FindOnly)
		if err != nil {
			return nil
		}
		dir = bp.Dir
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil && len(pkgs) == 0 {
		return nil
	}
	var files []*ast.File
	for name, pkg := range pkgs {
		if strings.HasSuffix(name, "_test") {
			continue
		}
		for _, f := range pkg.Files {
			files = append(files, f)
		}
	}
	sort.Slice(files, func(i, j int) bool { return fset.File(files[i].Pos()).Name() < fset.File(files[j].Pos()).Name() })
	mode := doc.Mode(0)
	if p == "builtin" {
		mode = doc.AllDecls
	}
	dp, err := doc.NewFromFiles(fset, files, p, mode)
	if err != nil {
		return nil
	}
	e.docs[p] = &pkgDocs{pkg: dp, fset: fset}
	return e.docs[p]
}

// pkgDoc documents name ("", "F", "T" or "T.M") of package p.
func (e *Evaluator) pkgDoc(p, name string, detail int) (string, bool) {
	d := e.loadDocs(p)
	if d == nil {
		return "", false
	}
	pr := func(decl ast.Node, docText string) (string, bool) {
		var b strings.Builder
		if fd, ok := decl.(*ast.FuncDecl); ok && detail == 0 {
			c := *fd
			c.Body, c.Doc = nil, nil
			decl = &c
		}
		if gd, ok := decl.(*ast.GenDecl); ok {
			c := *gd
			c.Doc = nil
			decl = &c
		}
		printer.Fprint(&b, d.fset, decl)
		if docText != "" {
			b.WriteString("\n\n" + strings.TrimRight(docText, "\n"))
		}
		return b.String(), true
	}
	if name == "" {
		return fmt.Sprintf("package %s // import %q\n\n%s", d.pkg.Name, p, strings.TrimRight(d.pkg.Doc, "\n")), true
	}
	typ, method, _ := strings.Cut(name, ".")
	findFunc := func(fs []*doc.Func) *doc.Func {
		for _, f := range fs {
			if f.Name == name || f.Name == method {
				return f
			}
		}
		return nil
	}
	if method == "" {
		if f := findFunc(d.pkg.Funcs); f != nil {
			return pr(f.Decl, f.Doc)
		}
	}
	for _, t := range d.pkg.Types {
		if method == "" {
			if f := findFunc(t.Funcs); f != nil {
				return pr(f.Decl, f.Doc)
			}
			if t.Name == name {
				return pr(t.Decl, t.Doc)
			}
			for _, v := range append(append([]*doc.Value{}, t.Consts...), t.Vars...) {
				if contains(v.Names, name) {
					return pr(v.Decl, v.Doc)
				}
			}
		} else if t.Name == typ {
			if f := findFunc(t.Methods); f != nil {
				return pr(f.Decl, f.Doc)
			}
		}
	}
	for _, v := range append(append([]*doc.Value{}, d.pkg.Consts...), d.pkg.Vars...) {
		if contains(v.Names, name) {
			return pr(v.Decl, v.Doc)
		}
	}
	return "", false
}
