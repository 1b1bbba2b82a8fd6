package goeval

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/ferryml/ferry/kernel/gosrc"
)

// Every chunk is type-checked with go/types before it runs, as the Go
// compiler would check it in a package made of the session's declarations:
// the cell gets the compiler's error messages at its own lines, and the
// rewrites for the interpreter get real types. The session is modelled for
// the checker by
//
//   - its imports (the header of the chunk's file),
//   - the source of the types, functions and methods earlier cells
//     declared,
//   - its variables, declared with their types ("var x T"), and its
//     constants with their values, whether a var/const declaration or a
//     top-level := of a statement chunk declared them.
//
// A statement chunk is checked as the body of a function of that package.
// When the check cannot be done faithfully (a package the checker cannot
// load, a session name of unknown type, an error in the model of earlier
// cells), it is skipped and the chunk runs unchecked, as before.

// session is what the checker knows of the declarations of earlier cells.
type session struct {
	typeSrc map[string]string // type name -> "type T ..." source
	funcSrc map[string]string // function name or "T.M" -> source
	vars    map[string]string // variable -> its type, as Go source
	consts  map[string]string // constant -> "C [T] = value"
	unknown map[string]bool   // names declared whose type is unknown
	aliases map[string]string // import path -> hidden name used in vars/consts
}

func newSession() *session {
	return &session{
		typeSrc: map[string]string{},
		funcSrc: map[string]string{},
		vars:    map[string]string{},
		consts:  map[string]string{},
		unknown: map[string]bool{},
		aliases: map[string]string{},
	}
}

// forget removes name from the session model (it is being redeclared).
func (s *session) forget(name string) {
	delete(s.typeSrc, name)
	delete(s.funcSrc, name)
	delete(s.vars, name)
	delete(s.consts, name)
	delete(s.unknown, name)
}

// importHeader returns "import (...);" for the session's imports that src
// uses (as NAME.), less the names in skip. Imports src does not use are
// left out: each one the checker imports may need export data that the go
// command builds first (minutes for a large package on a cold build
// cache), and a cell should not wait for packages it does not use.
func (e *Evaluator) importHeader(skip map[string]bool, aliases map[string]string, src string) string {
	var specs []string
	for n, p := range e.imports {
		if !skip[n] && usesName(src, n) {
			specs = append(specs, n+" "+strconv.Quote(p))
		}
	}
	for k := range e.otherImports {
		if strings.HasPrefix(k, ". ") {
			specs = append(specs, ". "+strconv.Quote(k[2:]))
		}
	}
	for p, n := range aliases {
		if usesName(src, n) {
			specs = append(specs, n+" "+strconv.Quote(p))
		}
	}
	if len(specs) == 0 {
		return ""
	}
	sort.Strings(specs)
	return "import (" + strings.Join(specs, "; ") + ");"
}

// usesName reports whether src has name followed by a dot, as a whole
// identifier: a use of the package imported as name (or a false positive,
// such as a field of that name, which only costs an import).
func usesName(src, name string) bool {
	for i := 0; ; {
		j := strings.Index(src[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		before := j == 0 || !isIdentByte(src[j-1]) && src[j-1] != '.'
		after := strings.TrimLeft(src[end:], " \t")
		if before && strings.HasPrefix(after, ".") {
			return true
		}
		i = end
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// chunkImports returns the names the import declarations of a declaration
// chunk bind.
func (e *Evaluator) chunkImports(body string) map[string]bool {
	names := map[string]bool{}
	f, err := parser.ParseFile(token.NewFileSet(), "", declPrefix+body, parser.ImportsOnly)
	if err != nil {
		return names
	}
	for _, is := range f.Imports {
		n, _ := e.importName(is)
		names[n] = true
	}
	return names
}

// checked is the result of type-checking a chunk.
type checked struct {
	pkg  *types.Package
	info *types.Info
}

// sessionFile returns the source of the session's declarations for the
// checker, less the names of the chunk being checked.
func (e *Evaluator) sessionFile(redeclared map[string]bool) string {
	s := e.sess
	var b strings.Builder
	write := func(m map[string]string, f func(k, v string) string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			if !redeclared[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(f(k, m[k]))
			b.WriteString("\n")
		}
	}
	write(s.typeSrc, func(_, v string) string { return v })
	write(s.funcSrc, func(_, v string) string { return v })
	write(s.vars, func(k, v string) string { return "var " + k + " " + v })
	write(s.consts, func(_, v string) string { return "const " + v })
	decls := b.String()
	return "package main\n" + e.importHeader(nil, s.aliases, decls) + "\n" + decls
}

// typeCheck checks p, parsed as full (with the import header), against the
// session. It returns nil when the check could not be done, and an
// *kernel.ExecError for the compile errors of the chunk.
func (e *Evaluator) typeCheck(p *prepared, full *ast.File, code string, cellID int) (*checked, error) {
	if e.imp == nil {
		return nil, nil
	}
	redeclared := map[string]bool{}
	if p.decl {
		for _, d := range p.file.Decls {
			for _, n := range declNames(d) {
				redeclared[n] = true
			}
		}
	}
	for n := range e.sess.unknown {
		if mentions(p.file, n) {
			slog.Debug("goeval: check skipped: session name of unknown type", "name", n)
			return nil, nil
		}
	}
	sessSrc := e.sessionFile(redeclared)
	sessFile, err := parser.ParseFile(p.fset, "session.go", sessSrc, parser.SkipObjectResolution)
	if err != nil {
		slog.Debug("goeval: check skipped: session model does not parse", "err", err)
		return nil, nil
	}
	var errs []types.Error
	conf := types.Config{
		Importer: e.imp,
		Error:    func(err error) { errs = append(errs, err.(types.Error)) },
	}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Instances:  map[*ast.Ident]types.Instance{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Implicits:  map[ast.Node]types.Object{},
	}
	pkg, _ := conf.Check("main", p.fset, []*ast.File{full, sessFile}, info)
	chunkFile := p.fset.File(full.Pos())
	topDefs := map[token.Pos]bool{}
	var trailing ast.Stmt
	if !p.decl {
		for _, st := range p.stmts {
			for _, id := range topLevelDefs(st) {
				topDefs[id.Pos()] = true
			}
		}
		if n := len(p.stmts); n > 0 {
			if _, ok := p.stmts[n-1].(*ast.ExprStmt); ok {
				trailing = p.stmts[n-1]
			}
		}
	}
	var report []types.Error
	for _, te := range errs {
		switch {
		case strings.Contains(te.Msg, "imported") && strings.HasSuffix(te.Msg, "not used"):
			continue
		case strings.HasPrefix(te.Msg, "declared and not used") && topDefs[te.Pos]:
			continue // a session variable
		case strings.HasSuffix(te.Msg, "is not used") && trailing != nil && te.Pos >= trailing.Pos() && te.Pos < trailing.End():
			continue // the cell's value
		}
		if te.Fset.File(te.Pos) != chunkFile || p.cellOff(te.Pos) < p.start {
			// An error in the model of earlier cells, or in the import
			// header: this check cannot be trusted.
			slog.Debug("goeval: check skipped: error outside the chunk", "err", te.Error())
			return nil, nil
		}
		report = append(report, te)
	}
	if len(report) > 0 {
		for _, te := range report {
			if strings.HasPrefix(te.Msg, "could not import") || strings.Contains(te.Msg, "is not known to the kernel") {
				// Let the interpreter say what it cannot import.
				return nil, nil
			}
		}
		first := report[0]
		ee := e.staticError(cellID, code, p.cellOff(first.Pos), "CompileError", first.Msg)
		for _, te := range report[1:min(len(report), 10)] {
			line, col := cellLineCol(code, p.cellOff(te.Pos))
			ee.Traceback = append(ee.Traceback, fmt.Sprintf("cell line %d, column %d: %s", line, col, te.Msg))
		}
		return nil, ee
	}
	return &checked{pkg: pkg, info: info}, nil
}

func cellLineCol(code string, off int) (line, col int) {
	line = 1 + strings.Count(code[:off], "\n")
	col = off - (strings.LastIndexByte(code[:off], '\n') + 1) + 1
	return line, col
}

// mentions reports whether f uses the identifier name.
func mentions(f *ast.File, name string) bool {
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// declNames returns the names a top-level declaration declares ("T.M" for
// a method, besides nothing else).
func declNames(d ast.Decl) []string {
	var names []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv != nil && len(d.Recv.List) == 1 {
			return []string{gosrc.RecvTypeName(d) + "." + d.Name.Name}
		}
		return []string{d.Name.Name}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				names = append(names, s.Name.Name)
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.Name != "_" {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	return names
}

// topLevelDefs returns the identifiers a top-level statement declares.
func topLevelDefs(st ast.Stmt) []*ast.Ident {
	var ids []*ast.Ident
	switch st := st.(type) {
	case *ast.AssignStmt:
		if st.Tok == token.DEFINE {
			for _, l := range st.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
					ids = append(ids, id)
				}
			}
		}
	case *ast.DeclStmt:
		if gd, ok := st.Decl.(*ast.GenDecl); ok {
			for _, s := range gd.Specs {
				if vs, ok := s.(*ast.ValueSpec); ok {
					for _, n := range vs.Names {
						if n.Name != "_" {
							ids = append(ids, n)
						}
					}
				}
			}
		}
	}
	return ids
}

// record updates the session model with what chunk p declared.
func (e *Evaluator) record(p *prepared, code string) {
	s := e.sess
	src := func(n ast.Node) string { return code[p.cellOff(n.Pos()):p.cellOff(n.End())] }
	var info *types.Info
	var pkg *types.Package
	if p.check != nil {
		info, pkg = p.check.info, p.check.pkg
	}
	value := func(id *ast.Ident) {
		s.forget(id.Name)
		if info == nil {
			s.unknown[id.Name] = true
			return
		}
		switch obj := info.Defs[id].(type) {
		case *types.Var:
			if t, ok := e.goTypeText(obj.Type(), pkg); ok {
				s.vars[id.Name] = t
				return
			}
		case *types.Const:
			if c, ok := e.constText(id.Name, obj, pkg); ok {
				s.consts[id.Name] = c
				return
			}
		case nil:
			// x, err := ... where x is not new: its type is known.
			if _, ok := s.vars[id.Name]; ok {
				return
			}
		}
		s.unknown[id.Name] = true
	}
	if !p.decl {
		for _, st := range p.stmts {
			if ds, ok := st.(*ast.DeclStmt); ok {
				if gd, ok := ds.Decl.(*ast.GenDecl); ok && gd.Tok == token.CONST {
					for _, sp := range gd.Specs {
						for _, id := range sp.(*ast.ValueSpec).Names {
							if id.Name != "_" {
								value(id)
							}
						}
					}
					continue
				}
			}
			for _, id := range topLevelDefs(st) {
				if info != nil && info.Defs[id] == nil {
					continue // assigned, not declared
				}
				value(id)
			}
		}
		return
	}
	if !p.native {
		for _, d := range p.file.Decls {
			for _, n := range declNames(d) {
				delete(e.native, n)
			}
		}
	}
	for _, d := range p.file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			name := declNames(d)[0]
			if !strings.Contains(name, ".") {
				s.forget(name)
			}
			s.funcSrc[name] = src(d)
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				switch sp := sp.(type) {
				case *ast.TypeSpec:
					s.forget(sp.Name.Name)
					s.typeSrc[sp.Name.Name] = "type " + src(sp)
				case *ast.ValueSpec:
					for _, id := range sp.Names {
						if id.Name != "_" {
							value(id)
						}
					}
				}
			}
		}
	}
}

// goTypeText writes t as Go source that names its packages by the session's
// hidden imports; ok is false for a type declared inside a function.
func (e *Evaluator) goTypeText(t types.Type, pkg *types.Package) (string, bool) {
	ok := true
	q := func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		a, found := e.sess.aliases[p.Path()]
		if !found {
			a = fmt.Sprintf("_ferryp%d", len(e.sess.aliases))
			e.sess.aliases[p.Path()] = a
		}
		return a
	}
	walkTypes(t, func(t types.Type) {
		switch t := t.(type) {
		case *types.Named:
			if obj := t.Obj(); obj.Pkg() != nil && obj.Parent() != obj.Pkg().Scope() {
				ok = false
			}
		case *types.Struct:
			for i := range t.NumFields() {
				if !t.Field(i).Exported() && t.Field(i).Pkg() != pkg {
					ok = false // unexported field of another package
				}
			}
		case *types.Interface:
			for i := range t.NumMethods() {
				if !t.Method(i).Exported() && t.Method(i).Pkg() != pkg {
					ok = false
				}
			}
		case *types.TypeParam, *types.Tuple:
			ok = false
		case *types.Basic:
			if t.Info()&types.IsUntyped != 0 {
				ok = false
			}
		}
	})
	if !ok {
		return "", false
	}
	return types.TypeString(t, q), true
}

// constText writes constant obj as "name [T] = value".
func (e *Evaluator) constText(name string, obj *types.Const, pkg *types.Package) (string, bool) {
	v := obj.Val()
	var val string
	switch v.Kind() {
	case constant.Bool, constant.String, constant.Int:
		val = v.ExactString()
	case constant.Float:
		r := constant.ToFloat(v)
		num, den := constant.Num(r), constant.Denom(r)
		if num.Kind() != constant.Int || den.Kind() != constant.Int {
			return "", false
		}
		val = "(" + num.ExactString() + ".0 / " + den.ExactString() + ")"
	default:
		return "", false
	}
	t := obj.Type()
	if b, ok := t.(*types.Basic); ok && b.Info()&types.IsUntyped != 0 {
		if b.Kind() == types.UntypedRune {
			r, ok := constant.Int64Val(v)
			if !ok {
				return "", false
			}
			val = strconv.QuoteRune(rune(r))
		}
		return name + " = " + val, true
	}
	tt, ok := e.goTypeText(t, pkg)
	if !ok {
		return "", false
	}
	return name + " " + tt + " = " + val, true
}

// walkTypes calls visit for t and, once each, for the types it is made of:
// elements, keys, fields, parameters, results, methods and type arguments
// (not the underlying types of named types).
func walkTypes(t types.Type, visit func(types.Type)) {
	seen := map[types.Type]bool{}
	var walk func(t types.Type)
	walk = func(t types.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		visit(t)
		switch t := t.(type) {
		case *types.Named:
			if t.TypeArgs() != nil {
				for i := range t.TypeArgs().Len() {
					walk(t.TypeArgs().At(i))
				}
			}
		case *types.Pointer:
			walk(t.Elem())
		case *types.Slice:
			walk(t.Elem())
		case *types.Array:
			walk(t.Elem())
		case *types.Map:
			walk(t.Key())
			walk(t.Elem())
		case *types.Chan:
			walk(t.Elem())
		case *types.Signature:
			for i := range t.Params().Len() {
				walk(t.Params().At(i).Type())
			}
			for i := range t.Results().Len() {
				walk(t.Results().At(i).Type())
			}
		case *types.Struct:
			for i := range t.NumFields() {
				walk(t.Field(i).Type())
			}
		case *types.Interface:
			for i := range t.NumMethods() {
				walk(t.Method(i).Type())
			}
		}
	}
	walk(t)
}
