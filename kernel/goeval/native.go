package goeval

import (
	"context"
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/traefik/yaegi/interp"
)

// nativeDecls is what the session knows of a compiled declaration chunk.
type nativeDecls struct {
	alias string // the name the interpreter imports the plugin as
}

// compilable reports whether declaration chunk p can be compiled: it
// declares a function, method or type, and uses nothing of the session but
// its constants and standard packages.
func (e *Evaluator) compilable(p *prepared) bool {
	if !e.opts.Compile || !p.decl || p.check == nil {
		return false
	}
	worth := false
	for _, d := range p.file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			worth = true
		case *ast.GenDecl:
			worth = worth || d.Tok == token.TYPE
		}
	}
	if !worth {
		return false
	}
	info, pkg := p.check.info, p.check.pkg
	ok := true
	ast.Inspect(p.file, func(n ast.Node) bool {
		id, isID := n.(*ast.Ident)
		if !ok || !isID {
			return ok
		}
		switch obj := info.Uses[id].(type) {
		case nil:
		case *types.PkgName:
			if !isStd(obj.Imported().Path()) || obj.Imported().Path() == "C" {
				ok = false
			}
		default:
			if obj.Pkg() != pkg || obj.Parent() != pkg.Scope() {
				return true
			}
			if p.inChunk(obj.Pos()) {
				return true
			}
			if _, isConst := obj.(*types.Const); isConst {
				if _, known := e.sess.consts[obj.Name()]; known {
					return true
				}
			}
			ok = false
		}
		return ok
	})
	return ok
}

// inChunk reports whether pos is in the chunk's own source.
func (p *prepared) inChunk(pos token.Pos) bool {
	f := p.fset.File(pos)
	return f != nil && len(p.file.Decls) > 0 && f == p.fset.File(p.file.Decls[0].Pos()) && p.cellOff(pos) >= p.start
}

// compileChunk builds declaration chunk p into a plugin, gives its symbols
// to the interpreter and returns the source that imports them.
func (e *Evaluator) compileChunk(ctx context.Context, p *prepared, code string, cellID int) (string, error) {
	c, err := theCompiler()
	if err != nil {
		return "", err
	}
	for _, d := range p.file.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			if _, err := e.importEdits(p, code, cellID, gd); err != nil {
				return "", err
			}
		}
	}
	info, pkg := p.check.info, p.check.pkg
	// The imports the chunk uses, under the names it uses.
	imports := map[string]string{}
	consts := map[string]bool{}
	ast.Inspect(p.file, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			switch obj := info.Uses[id].(type) {
			case *types.PkgName:
				imports[obj.Name()] = obj.Imported().Path()
			case *types.Const:
				if obj.Pkg() == pkg && obj.Parent() == pkg.Scope() && !p.inChunk(obj.Pos()) {
					consts[obj.Name()] = true
				}
			}
		}
		return true
	})
	var src strings.Builder
	src.WriteString("package main\n\n")
	for _, n := range sortedKeys(imports) {
		fmt.Fprintf(&src, "import %s %q\n", n, imports[n])
	}
	for _, n := range sortedKeys(consts) {
		fmt.Fprintf(&src, "const %s\n", e.sess.consts[n])
	}
	line, col := cellLineCol(code, p.start)
	fmt.Fprintf(&src, "\n//line cell%d:%d:%d\n", cellID, line, col)
	body := []byte(code[p.start:p.end])
	for _, d := range p.file.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			a, b := p.cellOff(gd.Pos())-p.start, p.cellOff(gd.End())-p.start
			copy(body[a:b], blank(string(body[a:b])))
		}
	}
	src.Write(body)
	src.WriteString("\n")

	e.seq++
	alias := fmt.Sprintf("_ferryc%d", e.seq)
	ipath := "ferrycell/" + alias[1:]
	syms, native := e.symbolsFile(p, ipath+"/"+alias[1:])
	out, err := c.build(ctx, map[string]string{"cell.go": src.String(), "ferry_symbols.go": syms})
	if err != nil {
		return "", err
	}
	if err := e.interp.Use(interp.Exports(out)); err != nil {
		return "", err
	}
	e.compiled.Store(true)
	for k := range out {
		e.pkgKeys[ipath] = k
	}
	for _, n := range native {
		e.native[n] = &nativeDecls{alias: alias}
	}
	text := lineDirective(code, p.start, cellID) + fmt.Sprintf("import %s %q", alias, ipath)
	// The chunk's own imports, for the interpreted cells that follow.
	for _, d := range p.file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		for _, s := range gd.Specs {
			name, ip := e.importName(s.(*ast.ImportSpec))
			if e.imports[name] == ip || e.otherImports[name+" "+ip] {
				continue
			}
			text += fmt.Sprintf("; import %s %q", name, ip)
		}
	}
	return text, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// symbolsFile writes the Symbols of a cell plugin: every top-level name of
// the chunk, exported as X_name, and accessors for the unexported fields
// (X__F_T_f, X__G_T_f) and methods (X__M_T_m) of its types. It returns
// the names given.
func (e *Evaluator) symbolsFile(p *prepared, key string) (string, []string) {
	info, pkg := p.check.info, p.check.pkg
	imports := map[string]string{} // path -> name
	q := func(other *types.Package) string {
		if other == pkg {
			return ""
		}
		n, ok := imports[other.Path()]
		if !ok {
			n = fmt.Sprintf("_p%d", len(imports))
			imports[other.Path()] = n
		}
		return n
	}
	ts := func(t types.Type) string { return types.TypeString(t, q) }
	var entries []string
	var names []string
	add := func(k, v string) { entries = append(entries, fmt.Sprintf("\t\t%q: %s,", k, v)) }
	needConst := false
	for _, d := range p.file.Decls {
		var ids []*ast.Ident
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name != "init" && d.Name.Name != "_" {
				ids = append(ids, d.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					ids = append(ids, s.Name)
				case *ast.ValueSpec:
					ids = append(ids, s.Names...)
				}
			}
		}
		for _, id := range ids {
			if id.Name == "_" {
				continue
			}
			obj := info.Defs[id]
			names = append(names, id.Name)
			switch obj := obj.(type) {
			case *types.Func:
				if obj.Type().(*types.Signature).TypeParams() != nil {
					continue // generic: see the refusal in rewrite.go
				}
				add("X_"+id.Name, "reflect.ValueOf("+id.Name+")")
			case *types.Var:
				add("X_"+id.Name, "reflect.ValueOf(&"+id.Name+").Elem()")
			case *types.Const:
				if b, ok := obj.Type().(*types.Basic); ok && b.Info()&types.IsUntyped != 0 {
					needConst = true
					add("X_"+id.Name, untypedConstExpr(obj.Val()))
				} else {
					add("X_"+id.Name, "reflect.ValueOf("+id.Name+")")
				}
			case *types.TypeName:
				nt, isNamed := obj.Type().(*types.Named)
				if isNamed && nt.TypeParams() != nil {
					continue
				}
				if a, ok := obj.Type().(*types.Alias); ok && a.TypeParams() != nil {
					continue // a generic alias
				}
				if it, ok := obj.Type().Underlying().(*types.Interface); ok && !it.IsMethodSet() {
					continue // a constraint
				}
				add("X_"+id.Name, "reflect.ValueOf((*"+id.Name+")(nil))")
				if !isNamed || obj.IsAlias() {
					continue
				}
				if st, ok := nt.Underlying().(*types.Struct); ok {
					for i := range st.NumFields() {
						f := st.Field(i)
						if f.Exported() {
							continue
						}
						add("X__F_"+id.Name+"_"+f.Name(), fmt.Sprintf("reflect.ValueOf(func(p *%s) *%s { return &p.%s })", id.Name, ts(f.Type()), f.Name()))
						add("X__G_"+id.Name+"_"+f.Name(), fmt.Sprintf("reflect.ValueOf(func(p %s) %s { return p.%s })", id.Name, ts(f.Type()), f.Name()))
					}
				}
				for i := range nt.NumMethods() {
					m := nt.Method(i)
					if m.Exported() {
						continue
					}
					sig := m.Type().(*types.Signature)
					recv := id.Name
					if _, ptr := sig.Recv().Type().(*types.Pointer); ptr {
						recv = "*" + recv
					}
					plain := types.NewSignatureType(nil, nil, nil, sig.Params(), sig.Results(), sig.Variadic())
					add("X__M_"+id.Name+"_"+m.Name(), fmt.Sprintf("reflect.ValueOf(func(r %s) %s { return r.%s })", recv, ts(plain), m.Name()))
				}
			}
		}
	}
	var b strings.Builder
	b.WriteString("package main\n\nimport \"reflect\"\n")
	if needConst {
		b.WriteString("import \"go/constant\"\nimport \"go/token\"\n")
	}
	for _, path := range sortedKeys(imports) {
		fmt.Fprintf(&b, "import %s %q\n", imports[path], path)
	}
	fmt.Fprintf(&b, "\nvar Symbols = map[string]map[string]reflect.Value{\n\t%q: {\n%s\n\t},\n}\n", key, strings.Join(entries, "\n"))
	if needConst {
		b.WriteString("\nvar _ = token.INT\nvar _ = constant.MakeBool\n")
	}
	return b.String(), names
}

// untypedConstExpr returns Go source for a reflect.Value of constant v, as
// the interpreter's symbol maps hold untyped constants.
func untypedConstExpr(v constant.Value) string {
	lit := func(s string, tok string) string {
		return fmt.Sprintf("constant.MakeFromLiteral(%s, token.%s, 0)", strconv.Quote(s), tok)
	}
	var x string
	switch v.Kind() {
	case constant.Bool:
		x = fmt.Sprintf("constant.MakeBool(%v)", constant.BoolVal(v))
	case constant.String:
		x = lit(v.ExactString(), "STRING")
	case constant.Int:
		x = lit(v.ExactString(), "INT")
	case constant.Float:
		r := constant.ToFloat(v)
		num, den := constant.Num(r), constant.Denom(r)
		x = fmt.Sprintf("constant.BinaryOp(%s, token.QUO, %s)", lit(num.ExactString(), "FLOAT"), lit(den.ExactString(), "FLOAT"))
	default:
		x = lit(v.ExactString(), "IMAG")
	}
	return "reflect.ValueOf(" + x + ")"
}

// logCompileFallback notes that a chunk is interpreted although it could
// have been compiled.
func logCompileFallback(err error) {
	slog.Debug("goeval: declaration chunk interpreted", "why", err)
}

// nativeEdits rewrite an interpreted chunk's uses of compiled declarations:
// names become the plugin's symbols, and unexported fields, methods and
// struct literals go through its accessors.
func (e *Evaluator) nativeEdits(p *prepared, code string, cellID int) ([]edit, error) {
	if p.check == nil || len(e.native) == 0 {
		return nil, nil
	}
	info, pkg := p.check.info, p.check.pkg
	src := func(n ast.Node) string { return code[p.cellOff(n.Pos()):p.cellOff(n.End())] }
	// nativeOf returns the compiled declaration a session object is.
	nativeOf := func(obj types.Object) *nativeDecls {
		if obj == nil || obj.Pkg() != pkg || obj.Parent() != pkg.Scope() || p.inChunk(obj.Pos()) {
			return nil
		}
		return e.native[obj.Name()]
	}
	// namedNative returns the compiled named type t (or *t) is.
	namedNative := func(t types.Type) (*types.Named, *nativeDecls) {
		if pt, ok := t.(*types.Pointer); ok {
			t = pt.Elem()
		}
		nt, ok := t.(*types.Named)
		if !ok {
			return nil, nil
		}
		return nt, nativeOf(nt.Origin().Obj())
	}
	var edits []edit
	var failure error
	fail := func(n ast.Node, msg string) {
		if failure == nil {
			failure = e.staticError(cellID, code, p.cellOff(n.Pos()), "CompileError", msg)
		}
	}
	// wrap records the edits that turn expression x into before+x+after.
	wrap := func(x ast.Expr, expr string, rest ast.Node) {
		i := strings.IndexByte(expr, 0)
		edits = append(edits, edit{p.cellOff(x.Pos()), p.cellOff(x.Pos()), expr[:i]})
		edits = append(edits, edit{p.cellOff(x.End()), p.cellOff(rest.End()), expr[i+1:]})
	}
	ast.Inspect(p.file, func(n ast.Node) bool {
		if failure != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.Ident:
			obj := info.Uses[n]
			nd := nativeOf(obj)
			if nd == nil {
				return true
			}
			if generic(obj) {
				fail(n, fmt.Sprintf("%s is a generic %s compiled in an earlier cell: interpreted statements cannot instantiate it; use it from a function declared in a cell (which is compiled), e.g. func run() { ... %s(...) ... }", n.Name, kindOf(obj), n.Name))
				return false
			}
			edits = append(edits, edit{p.cellOff(n.Pos()), p.cellOff(n.End()), nd.alias + ".X_" + n.Name})
		case *ast.SelectorExpr:
			sel := info.Selections[n]
			if sel == nil {
				return true
			}
			path := sel.Index()
			cur := "\x00"
			t := sel.Recv()
			addressable := info.Types[n.X].Addressable()
			changed := false
			step := func(nt *types.Named, nd *nativeDecls, st *types.Struct, i int) {
				f := st.Field(i)
				_, isPtr := t.(*types.Pointer)
				switch {
				case f.Exported() || nd == nil:
					cur += "." + f.Name()
					addressable = addressable || isPtr
				case isPtr:
					cur = "(*" + nd.alias + ".X__F_" + nt.Obj().Name() + "_" + f.Name() + "(" + cur + "))"
					changed, addressable = true, true
				case addressable:
					cur = "(*" + nd.alias + ".X__F_" + nt.Obj().Name() + "_" + f.Name() + "(&(" + cur + ")))"
					changed = true
				default:
					cur = nd.alias + ".X__G_" + nt.Obj().Name() + "_" + f.Name() + "(" + cur + ")"
					changed = true
				}
				t = f.Type()
			}
			fields := path
			if sel.Kind() != types.FieldVal {
				fields = path[:len(path)-1]
			}
			for _, i := range fields {
				nt, nd := namedNative(t)
				var st *types.Struct
				if nt != nil {
					st, _ = nt.Underlying().(*types.Struct)
				} else {
					u := t
					if pt, ok := u.(*types.Pointer); ok {
						u = pt.Elem()
					}
					st, _ = u.Underlying().(*types.Struct)
				}
				if st == nil {
					return true
				}
				step(nt, nd, st, i)
			}
			if sel.Kind() == types.MethodVal {
				m := sel.Obj().(*types.Func)
				recvT := m.Type().(*types.Signature).Recv().Type()
				_, ptrRecv := recvT.(*types.Pointer)
				nt, nd := namedNative(recvT)
				if !m.Exported() && nd != nil {
					_, isPtr := t.(*types.Pointer)
					recv := cur
					switch {
					case ptrRecv && !isPtr:
						if !addressable {
							return true // the compiler's error
						}
						recv = "&(" + cur + ")"
					case !ptrRecv && isPtr:
						recv = "*(" + cur + ")"
					}
					cur = nd.alias + ".X__M_" + nt.Obj().Name() + "_" + m.Name() + "(" + recv + ")"
					changed = true
				} else {
					cur += "." + m.Name()
				}
			} else if sel.Kind() == types.MethodExpr {
				if _, nd := namedNative(sel.Recv()); nd != nil && !sel.Obj().Exported() {
					fail(n.Sel, fmt.Sprintf("method expression %s: the unexported method %s of a type compiled in an earlier cell cannot be taken as a method expression in interpreted statements; use a function literal, func(v T, ...) { v.%s(...) }", src(n), n.Sel.Name, n.Sel.Name))
				}
				return true
			}
			if changed {
				wrap(n.X, cur, n)
			}
		case *ast.CompositeLit:
			tv, ok := info.Types[n]
			if !ok {
				return true
			}
			nt, nd := namedNative(tv.Type)
			if nd == nil {
				return true
			}
			st, ok := nt.Underlying().(*types.Struct)
			if !ok || len(n.Elts) == 0 {
				return true
			}
			unexported := false
			for i := range st.NumFields() {
				unexported = unexported || !st.Field(i).Exported()
			}
			if !unexported {
				return true
			}
			name := nt.Obj().Name()
			_, ptr := tv.Type.(*types.Pointer)
			head := "func() " + nd.alias + ".X_" + name + " { var _ferryv " + nd.alias + ".X_" + name + "; "
			ret := "return _ferryv }()"
			if ptr { // an elided &T in a slice or map literal
				head = "func() *" + nd.alias + ".X_" + name + " { _ferryv := new(" + nd.alias + ".X_" + name + "); "
			}
			at := p.cellOff(n.Pos())
			for i, el := range n.Elts {
				f := st.Field(min(i, st.NumFields()-1))
				val := el
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					val = kv.Value
					if id, ok := kv.Key.(*ast.Ident); ok {
						for j := range st.NumFields() {
							if st.Field(j).Name() == id.Name {
								f = st.Field(j)
							}
						}
					}
				}
				target := "_ferryv." + f.Name()
				if !f.Exported() {
					amp := "&"
					if ptr {
						amp = ""
					}
					target = "*" + nd.alias + ".X__F_" + name + "_" + f.Name() + "(" + amp + "_ferryv)"
				}
				text := target + " = ("
				if i == 0 {
					text = head + text
				} else {
					text = "); " + text
				}
				edits = append(edits, edit{at, p.cellOff(val.Pos()), text})
				at = p.cellOff(val.End())
			}
			edits = append(edits, edit{at, p.cellOff(n.End()), "); " + ret})
			if ptr {
				// The elided &T{...} element is the pointer itself.
				return true
			}
		}
		return true
	})
	if failure != nil {
		return nil, failure
	}
	return edits, nil
}

func generic(obj types.Object) bool {
	switch obj := obj.(type) {
	case *types.Func:
		return obj.Type().(*types.Signature).TypeParams() != nil
	case *types.TypeName:
		if nt, ok := obj.Type().(*types.Named); ok {
			return nt.TypeParams() != nil
		}
	}
	return false
}

func kindOf(obj types.Object) string {
	if _, ok := obj.(*types.TypeName); ok {
		return "type"
	}
	return "function"
}
