package goeval

import (
	"context"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// prepared is a chunk parsed and rewritten for yaegi.
type prepared struct {
	chunk
	text  string     // source given to yaegi, with /*line*/ directives
	file  *ast.File  // the chunk parsed (nil when it does not parse)
	stmts []ast.Stmt // statements of a statement chunk
	fset  *token.FileSet
	base  int // offset to add to a position's file offset to get a cell offset
	// rangeUnknown is set when the chunk ranges over an expression of
	// unknown type (maybe an integer or a func yaegi cannot range over).
	rangeUnknown bool
	// renderer is set when the trailing expression is of a notebook type
	// with a MIMEBundle method, given to _ferryrt.Show when it runs.
	renderer bool
	// check is the chunk's type check (nil: not done).
	check *checked
	// native is set when the chunk was compiled (text imports its plugin).
	native bool
}

const (
	declPrefix = "package main;"
	stmtPrefix = "package main; func _() {"
)

// edit replaces cell bytes [off, end) with text.
type edit struct {
	off, end int
	text     string
}

// cellOff converts a position in p's parse to an offset in the cell.
func (p *prepared) cellOff(pos token.Pos) int {
	return p.fset.File(pos).Offset(pos) + p.base
}

// prepare parses chunk ch of cell (source code, id cellID) and rewrites it.
// It returns an *kernel.ExecError for problems found statically.
func (e *Evaluator) prepare(ctx context.Context, cellID int, code string, ch chunk) (*prepared, error) {
	p := &prepared{chunk: ch, fset: token.NewFileSet()}
	body := code[ch.start:ch.end]
	// The chunk is parsed after a header importing the session's packages,
	// for the type check; p.file holds the chunk's own declarations.
	var skip map[string]bool
	if ch.decl {
		skip = e.chunkImports(body)
	}
	prefix := declPrefix + e.importHeader(skip, nil, body)
	nHeader := 0
	if strings.HasPrefix(prefix, declPrefix+"import") {
		nHeader = 1
	}
	if !ch.decl {
		prefix += stmtPrefix[len(declPrefix):]
	}
	full, err := parser.ParseFile(p.fset, "", prefix+body+map[bool]string{true: "", false: "\n}"}[ch.decl], parser.ParseComments)
	p.base = ch.start - len(prefix)
	if err == nil && len(full.Decls) >= nHeader {
		p.file = &ast.File{Package: full.Package, Name: full.Name, Decls: full.Decls[nHeader:], Comments: full.Comments}
		if !ch.decl && len(p.file.Decls) == 1 {
			if fd, ok := p.file.Decls[0].(*ast.FuncDecl); ok {
				p.stmts = fd.Body.List
			}
		}
		var cerr error
		p.check, cerr = e.typeCheck(p, full, code, cellID)
		if cerr != nil {
			return nil, cerr
		}
		if e.compilable(p) {
			text, err := e.compileChunk(ctx, p, code, cellID)
			if err == nil {
				p.text, p.native = text, true
				return p, nil
			}
			logCompileFallback(err)
		}
	}
	var edits []edit
	if err != nil {
		p.file = nil // let yaegi report the syntax error
	} else {
		edits, err = e.rewrite(p, code, cellID)
		if err != nil {
			return nil, err
		}
	}
	p.text = applyEdits(code, ch.start, ch.end, edits, cellID)
	return p, nil
}

// lineBase encodes cells in line numbers: line L of cell N is reported as
// n*lineBase+L, with n = N counted modulo maxCells from 1 (go/scanner
// refuses line numbers from 1<<30). The file name of a line directive
// cannot be used instead: yaegi scopes imports by file name.
const (
	lineBase = 10_000
	maxCells = (1<<30)/lineBase - 1
)

// encodeLine returns the line number that stands for line of cell id.
func encodeLine(id, line int) int { return ((id-1)%maxCells+1)*lineBase + line }

// decodeLine returns the position of an encoded line number; cell is 0
// when it is not a cell's line.
func (e *Evaluator) decodeLine(encoded, col int) position {
	c := encoded / lineBase
	if c == 0 {
		return position{}
	}
	cur := (e.cellID-1)%maxCells + 1
	return position{cell: e.cellID - (cur-c+maxCells)%maxCells, line: encoded % lineBase, col: col}
}

// lineDirective returns a /*line*/ comment giving the position of cell
// offset off.
func lineDirective(code string, off, cellID int) string {
	line := 1 + strings.Count(code[:off], "\n")
	col := off - (strings.LastIndexByte(code[:off], '\n') + 1) + 1
	return fmt.Sprintf("/*line _.go:%d:%d*/", encodeLine(cellID, line), col)
}

func applyEdits(code string, start, end int, edits []edit, cellID int) string {
	var b strings.Builder
	b.WriteString(lineDirective(code, start, cellID))
	at := start
	for _, ed := range edits {
		if ed.off < at {
			continue // overlapping edit: drop
		}
		b.WriteString(code[at:ed.off])
		b.WriteString(ed.text)
		b.WriteString(lineDirective(code, ed.end, cellID))
		at = ed.end
	}
	b.WriteString(code[at:end])
	return b.String()
}

var intTypeNames = map[string]bool{
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"uintptr": true, "byte": true, "rune": true,
}

func isIntKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uintptr
}

// typer guesses, without type checking, whether expressions are integers or
// funcs, from the declarations seen so far in the chunk and the session.
type typer struct {
	e     *Evaluator
	local map[string]string // name -> "int", "func" or "" (other)
}

func (t *typer) kindOfType(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.Ident:
		if intTypeNames[x.Name] {
			return "int"
		}
	case *ast.FuncType:
		return "func"
	case *ast.SelectorExpr:
		if id, ok := x.X.(*ast.Ident); ok && id.Name == "iter" {
			return "func"
		}
	case *ast.IndexExpr: // iter.Seq[int]
		return t.kindOfType(x.X)
	case *ast.IndexListExpr:
		return t.kindOfType(x.X)
	}
	return ""
}

// kind returns "int", "func", "" (known other) or "?" (unknown).
func (t *typer) kind(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.BasicLit:
		if x.Kind == token.INT || x.Kind == token.CHAR {
			return "int"
		}
		return ""
	case *ast.ParenExpr:
		return t.kind(x.X)
	case *ast.UnaryExpr:
		if x.Op == token.AND || x.Op == token.ARROW {
			return ""
		}
		return t.kind(x.X)
	case *ast.BinaryExpr:
		switch x.Op {
		case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ, token.LAND, token.LOR:
			return ""
		case token.SHL, token.SHR:
			return t.kind(x.X)
		}
		a, b := t.kind(x.X), t.kind(x.Y)
		if a == b {
			return a
		}
		return "?"
	case *ast.FuncLit:
		return "func"
	case *ast.CompositeLit:
		return ""
	case *ast.CallExpr:
		switch f := x.Fun.(type) {
		case *ast.Ident:
			switch {
			case f.Name == "len" || f.Name == "cap":
				return "int"
			case intTypeNames[f.Name]:
				return "int"
			}
			if d, ok := t.e.funcs[f.Name]; ok {
				if r := d.Type.Results; r != nil && len(r.List) == 1 {
					return t.kindOfType(r.List[0].Type)
				}
				return ""
			}
		case *ast.SelectorExpr:
			if v, ok := t.e.pkgSymbol(f); ok {
				if v.Kind() == reflect.Ptr && v.IsNil() { // conversion to a package type
					if isIntKind(v.Type().Elem().Kind()) {
						return "int"
					}
					return ""
				}
				if v.Kind() == reflect.Func && v.Type().NumOut() == 1 {
					k := v.Type().Out(0).Kind()
					if isIntKind(k) {
						return "int"
					}
					if k == reflect.Func {
						return "func"
					}
					return ""
				}
			}
		}
		return "?"
	case *ast.Ident:
		if k, ok := t.local[x.Name]; ok {
			return k
		}
		if _, ok := t.e.funcs[x.Name]; ok {
			return "func"
		}
		if v, ok := t.e.globals()[x.Name]; ok && v.IsValid() {
			if c, ok := v.Interface().(constant.Value); ok {
				if c.Kind() == constant.Int {
					return "int"
				}
				return ""
			}
			switch {
			case isIntKind(v.Kind()):
				return "int"
			case v.Kind() == reflect.Func:
				return "func"
			}
			return ""
		}
		return "?"
	case *ast.SelectorExpr:
		if v, ok := t.e.pkgSymbol(x); ok {
			if c, ok := v.Interface().(constant.Value); ok {
				if c.Kind() == constant.Int {
					return "int"
				}
				return ""
			}
			if isIntKind(v.Kind()) {
				return "int"
			}
			if v.Kind() == reflect.Func {
				return "func"
			}
			return ""
		}
	}
	return "?"
}

func (t *typer) define(names []*ast.Ident, types ast.Expr, values []ast.Expr) {
	for i, n := range names {
		k := "?"
		switch {
		case types != nil:
			k = t.kindOfType(types)
		case len(values) == len(names):
			k = t.kind(values[i])
		}
		t.local[n.Name] = k
	}
}

// needsCopy reports whether a loop body captures or shares its variables:
// it has a closure, a go statement or takes an address.
func needsCopy(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit, *ast.GoStmt:
			found = true
		case *ast.UnaryExpr:
			if n.Op == token.AND {
				found = true
			}
		}
		return !found
	})
	return found
}

// assigns reports whether body assigns to one of names.
func assigns(body *ast.BlockStmt, names map[string]bool) bool {
	found := false
	isName := func(x ast.Expr) bool {
		id, ok := x.(*ast.Ident)
		return ok && names[id.Name]
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok != token.DEFINE {
				for _, l := range n.Lhs {
					found = found || isName(l)
				}
			}
		case *ast.IncDecStmt:
			found = found || isName(n.X)
		}
		return !found
	})
	return found
}

// rewrite returns the edits that make p run on yaegi: range over int,
// per-iteration loop variables. It also reports unsupported constructs and
// type redefinitions.
func (e *Evaluator) rewrite(p *prepared, code string, cellID int) ([]edit, error) {
	t := &typer{e: e, local: map[string]string{}}
	var edits []edit
	var failure error
	src := func(n ast.Node) string { return code[p.cellOff(n.Pos()):p.cellOff(n.End())] }
	labels := map[ast.Stmt]*ast.LabeledStmt{}
	// Record the line of each top-level statement as it starts, for the
	// position of run-time panics (yaegi reports none).
	for _, st := range p.stmts {
		off := p.cellOff(st.Pos())
		edits = append(edits, edit{off, off, fmt.Sprintf("_ferryrt.Line(%d); ", encodeLine(cellID, 1+strings.Count(code[:off], "\n")))})
	}
	// yaegi loses the variables of a multi-value definition (v, err := f())
	// in a block nested in a top-level statement ("undefined: v"); inside
	// a function it does not: run such a statement in a func literal.
	var scopeEnds []edit
	for _, st := range p.stmts {
		if needsFuncScope(st) {
			off, end := p.cellOff(st.Pos()), p.cellOff(st.End())
			edits = append(edits, edit{off, off, "func() { "})
			scopeEnds = append(scopeEnds, edit{end, end, " }()"})
		}
	}
	ast.Inspect(p.file, func(n ast.Node) bool {
		if failure != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.LabeledStmt:
			labels[n.Stmt] = n
		case *ast.GenDecl:
			if n.Tok == token.IMPORT {
				ed, err := e.importEdits(p, code, cellID, n)
				if err != nil {
					failure = err
					return false
				}
				edits = append(edits, ed...)
				return false
			}
		case *ast.CallExpr:
			if ed, ok := e.minMaxEdit(p, code, n, t); ok {
				edits = append(edits, ed)
			}
		case *ast.GoStmt:
			e.seq++
			params, args, err := e.capturedLoopVars(p, code, cellID, n)
			if err != nil {
				failure = err
				return false
			}
			edits = append(edits, goEdits(p, n, fmt.Sprintf("_ferryg%d", e.seq), params, args)...)
		case *ast.FuncLit:
			// yaegi mixes up the frame of a closure with unnamed parameters
			// (func(*T) { ... }) that captures variables: name them _.
			edits = append(edits, unnamedParamEdits(p, n.Type)...)
		case *ast.FuncDecl:
			edits = append(edits, unnamedParamEdits(p, n.Type)...)
		case *ast.TypeSpec:
			if p.decl {
				if prev, ok := e.types[n.Name.Name]; ok && prev != normalize(src(n)) {
					failure = e.staticError(cellID, code, p.cellOff(n.Pos()), "TypeRedefinition",
						fmt.Sprintf("type %s is already defined with another definition in this session; yaegi cannot change a type: restart the kernel or use a new name", n.Name.Name))
				}
			}
		case *ast.FuncType:
			for _, fl := range []*ast.FieldList{n.Params, n.Results} {
				if fl == nil {
					continue
				}
				for _, f := range fl.List {
					t.define(f.Names, f.Type, nil)
				}
			}
		case *ast.ValueSpec:
			t.define(n.Names, n.Type, n.Values)
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				var names []*ast.Ident
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						names = append(names, id)
					}
				}
				if len(names) == len(n.Lhs) {
					t.define(names, nil, n.Rhs)
				}
			}
		case *ast.ForStmt:
			init, ok := n.Init.(*ast.AssignStmt)
			if !ok || init.Tok != token.DEFINE || !needsCopy(n.Body) {
				return true
			}
			names := map[string]bool{}
			for _, l := range init.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
					names[id.Name] = true
				}
			}
			if len(names) == 0 || assigns(n.Body, names) {
				return true
			}
			// for i := 0; i < n; i++ { BODY } becomes
			// for _ferry_i_N := 0; _ferry_i_N < n; _ferry_i_N++ { i := _ferry_i_N; BODY }
			e.seq++
			suffix := fmt.Sprintf("_%d", e.seq)
			hdrStart, hdrEnd := p.cellOff(n.For), p.cellOff(n.Body.Lbrace)+1
			hdr := renameIdents(code[hdrStart:hdrEnd], names, suffix)
			var copies strings.Builder
			for _, l := range init.Lhs {
				if id, ok := l.(*ast.Ident); ok && names[id.Name] {
					fmt.Fprintf(&copies, " %s := _ferry_%s%s;", id.Name, id.Name, suffix)
				}
			}
			edits = append(edits, edit{hdrStart, hdrEnd, hdr + copies.String()})
		case *ast.RangeStmt:
			if p.check != nil && n.Key != nil {
				if b, ok := p.check.info.Types[n.X].Type.Underlying().(*types.Basic); ok && b.Info()&types.IsString != 0 {
					return true // see fixEdits
				}
			}
			kind := t.kind(n.X)
			if n.Key != nil && n.Tok == token.DEFINE {
				if id, ok := n.Key.(*ast.Ident); ok {
					t.local[id.Name] = "?"
				}
			}
			switch kind {
			case "func":
				failure = e.staticError(cellID, code, p.cellOff(n.X.Pos()), "CompileError",
					"range over a function iterator (Go 1.23) is not supported by the yaegi interpreter: call it with a yield function instead, seq(func(v T) bool { ...; return true })")
				return false
			case "?":
				p.rangeUnknown = true
			case "int":
				if n.Value != nil {
					failure = e.staticError(cellID, code, p.cellOff(n.Value.Pos()), "CompileError", "range over "+src(n.X)+" permits only one iteration variable")
					return false
				}
				edits = append(edits, e.rangeIntEdits(p, code, n, labels[n], src(n.X))...)
				return true
			}
			if n.Tok != token.DEFINE || !needsCopy(n.Body) {
				return true
			}
			e.seq++
			var copies strings.Builder
			for _, x := range []ast.Expr{n.Key, n.Value} {
				if id, ok := x.(*ast.Ident); ok && id.Name != "_" {
					tmp := fmt.Sprintf("_ferry_%s_%d", id.Name, e.seq)
					edits = append(edits, edit{p.cellOff(id.Pos()), p.cellOff(id.End()), tmp})
					fmt.Fprintf(&copies, " %s := %s;", id.Name, tmp)
				}
			}
			lb := p.cellOff(n.Body.Lbrace) + 1
			edits = append(edits, edit{lb, lb, copies.String()})
		}
		return true
	})
	if failure != nil {
		return nil, failure
	}
	edits = append(edits, scopeEnds...)
	nat, err := e.nativeEdits(p, code, cellID)
	if err != nil {
		return nil, err
	}
	edits = append(edits, nat...)
	fixes, err := e.fixEdits(p, code, cellID)
	if err != nil {
		return nil, err
	}
	edits = append(edits, fixes...)
	// yaegi gives no value for a call of a func literal: pass it through
	// an interpreted identity function.
	if len(p.stmts) > 0 {
		if es, ok := p.stmts[len(p.stmts)-1].(*ast.ExprStmt); ok {
			if call, ok := es.X.(*ast.CallExpr); ok {
				if fl, ok := call.Fun.(*ast.FuncLit); ok && fl.Type.Results.NumFields() == 1 {
					edits = append(edits, edit{p.cellOff(es.X.Pos()), p.cellOff(es.X.Pos()), "_ferryID("},
						edit{p.cellOff(es.X.End()), p.cellOff(es.X.End()), ")"})
				}
			}
			if _, lit := es.X.(*ast.CallExpr); !lit || !isFuncLitCall(es.X) {
				local := e.localTypes(p.stmts[:len(p.stmts)-1])
				if typ := e.staticType(es.X, local); typ != "" && e.hasMIMEBundle(typ) {
					// Evaluate the value's bundle in the interpreter, where
					// it has its methods: the value is given to _ferryrt.Show.
					p.renderer = true
					edits = append(edits, edit{p.cellOff(es.X.Pos()), p.cellOff(es.X.Pos()), "_ferryID(func() " + typ + " { _ferryv := "},
						edit{p.cellOff(es.X.End()), p.cellOff(es.X.End()), "; _ferryrt.Show(_ferryv); return _ferryv }())"})
				}
			}
		}
	}
	// At one offset, insertions go before a replacement.
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].off != edits[j].off {
			return edits[i].off < edits[j].off
		}
		return edits[i].end == edits[i].off && edits[j].end != edits[j].off
	})
	return edits, nil
}

// rangeIntEdits rewrites "L: for k := range X { BODY }" as
// "{ n := X; L: for tmp := n - n; tmp < n; tmp++ { k := tmp; BODY }}".
func (e *Evaluator) rangeIntEdits(p *prepared, code string, n *ast.RangeStmt, label *ast.LabeledStmt, x string) []edit {
	e.seq++
	nv := fmt.Sprintf("_ferry_n_%d", e.seq)
	iv := fmt.Sprintf("_ferry_i_%d", e.seq)
	start := p.cellOff(n.For)
	lab := ""
	if label != nil {
		start = p.cellOff(label.Pos())
		lab = label.Label.Name + ": "
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{ %s := (%s); %sfor ", nv, x, lab)
	key, _ := n.Key.(*ast.Ident)
	switch {
	case key != nil && key.Name != "_" && n.Tok == token.ASSIGN:
		fmt.Fprintf(&b, "%s := %s - %s; %s < %s; %s++ { %s = %s;", iv, nv, nv, iv, nv, iv, key.Name, iv)
	default:
		fmt.Fprintf(&b, "%s := %s - %s; %s < %s; %s++ {", iv, nv, nv, iv, nv, iv)
		if key != nil && key.Name != "_" {
			fmt.Fprintf(&b, " %s := %s;", key.Name, iv)
		}
	}
	rb := p.cellOff(n.Body.Rbrace) + 1
	return []edit{
		{start, p.cellOff(n.Body.Lbrace) + 1, b.String()},
		{rb, rb, "}"},
	}
}

// renameIdents renames the identifiers names (not field selectors) in src
// to _ferry_NAME+suffix.
func renameIdents(src string, names map[string]bool, suffix string) string {
	toks, _ := scanTokens(src)
	var b strings.Builder
	at := 0
	for i, t := range toks {
		if t.tok != token.IDENT || !names[t.lit] || (i > 0 && toks[i-1].tok == token.PERIOD) {
			continue
		}
		b.WriteString(src[at:t.off])
		b.WriteString("_ferry_" + t.lit + suffix)
		at = t.off + len(t.lit)
	}
	b.WriteString(src[at:])
	return b.String()
}

// minMaxEdit rewrites the calls of min and max the generic preamble
// functions cannot take: one argument (yaegi fails on an empty variadic
// parameter) and only untyped constants (yaegi cannot infer a type
// parameter from an untyped float).
func (e *Evaluator) minMaxEdit(p *prepared, code string, call *ast.CallExpr, t *typer) (edit, bool) {
	id, ok := call.Fun.(*ast.Ident)
	if !ok || (id.Name != "min" && id.Name != "max") || len(call.Args) == 0 || call.Ellipsis.IsValid() {
		return edit{}, false
	}
	if _, ok := e.funcs[id.Name]; ok {
		return edit{}, false
	}
	if _, ok := t.local[id.Name]; ok {
		return edit{}, false
	}
	src := func(n ast.Node) string { return code[p.cellOff(n.Pos()):p.cellOff(n.End())] }
	whole := edit{off: p.cellOff(call.Pos()), end: p.cellOff(call.End())}
	if len(call.Args) == 1 {
		whole.text = "(" + src(call.Args[0]) + ")"
		return whole, true
	}
	best, bestText, float := constant.Value(nil), "", false
	for _, a := range call.Args {
		v, ok := constValue(a)
		if !ok {
			return edit{}, false
		}
		if v.Kind() == constant.Float {
			float = true
		}
		if best == nil || (id.Name == "min" && constant.Compare(v, token.LSS, best)) || (id.Name == "max" && constant.Compare(v, token.GTR, best)) {
			best, bestText = v, src(a)
		}
	}
	if float && best.Kind() != constant.Float {
		whole.text = "(" + bestText + " + 0.0)"
	} else {
		whole.text = "(" + bestText + ")"
	}
	return whole, true
}

// constValue evaluates a literal constant expression.
func constValue(x ast.Expr) (constant.Value, bool) {
	switch x := x.(type) {
	case *ast.BasicLit:
		switch x.Kind {
		case token.INT, token.FLOAT, token.CHAR, token.STRING:
			v := constant.MakeFromLiteral(x.Value, x.Kind, 0)
			return v, v.Kind() != constant.Unknown
		}
	case *ast.ParenExpr:
		return constValue(x.X)
	case *ast.UnaryExpr:
		if v, ok := constValue(x.X); ok && (x.Op == token.SUB || x.Op == token.ADD) && v.Kind() != constant.String {
			return constant.UnaryOp(x.Op, v, 0), true
		}
	}
	return nil, false
}

// importName returns the name under which an import spec binds its package
// ("_" and "." included) and its import path.
func (e *Evaluator) importName(s *ast.ImportSpec) (name, ip string) {
	ip, _ = strconv.Unquote(s.Path.Value)
	name = path.Base(ip)
	if k, ok := e.pkgKeys[ip]; ok {
		name = path.Base(k)
	}
	if s.Name != nil {
		name = s.Name.Name
	}
	return name, ip
}

// blank returns text of the length of src with every character but line
// breaks replaced by a space, so that what follows keeps its position.
func blank(src string) string {
	b := []byte(src)
	for i, c := range b {
		if c != '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

// importEdits drops the import specs of d that the session already has
// (same name, same path): yaegi refuses to import a package twice. An import
// of another path under a name already used is an error.
func (e *Evaluator) importEdits(p *prepared, code string, cellID int, d *ast.GenDecl) ([]edit, error) {
	var drop []ast.Spec
	for _, s := range d.Specs {
		is := s.(*ast.ImportSpec)
		name, ip := e.importName(is)
		if name == "_" || name == "." {
			if e.otherImports[name+" "+ip] {
				drop = append(drop, s)
			}
			continue
		}
		prev, ok := e.imports[name]
		switch {
		case !ok:
		case prev == ip:
			drop = append(drop, s)
		default:
			alias := name + "2"
			if dir := path.Base(path.Dir(ip)); dir != "." && dir != "/" && token.IsIdentifier(dir+name) {
				alias = dir + name
			}
			return nil, e.staticError(cellID, code, p.cellOff(is.Pos()), "ImportConflict",
				fmt.Sprintf("%s is already imported as %q in this session; a package cannot be re-imported under a used name: import %q with another name, e.g. import %s %q",
					name, prev, ip, alias, ip))
		}
	}
	if len(drop) == 0 {
		return nil, nil
	}
	if len(drop) == len(d.Specs) {
		off, end := p.cellOff(d.Pos()), p.cellOff(d.End())
		return []edit{{off, end, blank(code[off:end])}}, nil
	}
	var edits []edit
	for _, s := range drop {
		off, end := p.cellOff(s.Pos()), p.cellOff(s.End())
		edits = append(edits, edit{off, end, blank(code[off:end])})
	}
	return edits, nil
}

func isFuncLitCall(x ast.Expr) bool {
	call, ok := x.(*ast.CallExpr)
	if !ok {
		return false
	}
	_, ok = call.Fun.(*ast.FuncLit)
	return ok
}

// typeText returns "T" or "*T" for a type expression naming a notebook type
// T, else "".
func (e *Evaluator) typeText(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.ParenExpr:
		return e.typeText(x.X)
	case *ast.Ident:
		if _, ok := e.types[x.Name]; ok {
			return x.Name
		}
	case *ast.StarExpr:
		if id, ok := x.X.(*ast.Ident); ok {
			if _, ok := e.types[id.Name]; ok {
				return "*" + id.Name
			}
		}
	}
	return ""
}

// staticType guesses the type of x when it is a notebook type T or *T:
// a composite literal, its address, a call of a notebook function or a
// variable declared with one of these. local gives the types of the
// variables of the chunk. It returns "" when unknown.
func (e *Evaluator) staticType(x ast.Expr, local map[string]string) string {
	switch x := x.(type) {
	case *ast.ParenExpr:
		return e.staticType(x.X, local)
	case *ast.CompositeLit:
		if x.Type != nil {
			return e.typeText(x.Type)
		}
	case *ast.UnaryExpr:
		if x.Op == token.AND {
			if t := e.staticType(x.X, local); t != "" && !strings.HasPrefix(t, "*") {
				return "*" + t
			}
		}
	case *ast.StarExpr:
		if t := e.staticType(x.X, local); strings.HasPrefix(t, "*") {
			return t[1:]
		}
	case *ast.CallExpr:
		if id, ok := x.Fun.(*ast.Ident); ok {
			if d, ok := e.funcs[id.Name]; ok && d.Type.Results.NumFields() == 1 {
				return e.typeText(d.Type.Results.List[0].Type)
			}
			if len(x.Args) == 1 { // conversion T(v)
				return e.typeText(id)
			}
		}
	case *ast.Ident:
		if t, ok := local[x.Name]; ok {
			return t
		}
		return e.varTypes[x.Name]
	}
	return ""
}

// localTypes returns the notebook types of the variables the top-level
// statements stmts declare.
func (e *Evaluator) localTypes(stmts []ast.Stmt) map[string]string {
	local := map[string]string{}
	for _, st := range stmts {
		e.declaredTypes(st, local)
	}
	return local
}

// declaredTypes records in m the notebook types of the variables that the
// statement or declaration n declares (with "" for an unknown type).
func (e *Evaluator) declaredTypes(n ast.Node, m map[string]string) {
	switch n := n.(type) {
	case *ast.DeclStmt:
		e.declaredTypes(n.Decl, m)
	case *ast.GenDecl:
		if n.Tok != token.VAR {
			return
		}
		for _, s := range n.Specs {
			vs := s.(*ast.ValueSpec)
			for i, id := range vs.Names {
				switch {
				case vs.Type != nil:
					m[id.Name] = e.typeText(vs.Type)
				case len(vs.Values) == len(vs.Names):
					m[id.Name] = e.staticType(vs.Values[i], m)
				default:
					m[id.Name] = ""
				}
			}
		}
	case *ast.AssignStmt:
		if n.Tok != token.DEFINE {
			return
		}
		for i, l := range n.Lhs {
			id, ok := l.(*ast.Ident)
			if !ok {
				continue
			}
			t := ""
			if len(n.Lhs) == len(n.Rhs) {
				t = e.staticType(n.Rhs[i], m)
			}
			m[id.Name] = t
		}
	}
}

// hasMIMEBundle reports whether values of typ ("T" or "*T") have a
// notebook-declared MIMEBundle method giving two results.
func (e *Evaluator) hasMIMEBundle(typ string) bool {
	if e.native[strings.TrimPrefix(typ, "*")] != nil {
		return false // a compiled type: its methods are its own
	}
	d, ok := e.decls[strings.TrimPrefix(typ, "*")+".MIMEBundle"]
	if !ok || d.fn == nil || d.fn.Type.Params.NumFields() != 0 || d.fn.Type.Results.NumFields() != 2 {
		return false
	}
	_, ptrRecv := d.fn.Recv.List[0].Type.(*ast.StarExpr)
	return !ptrRecv || strings.HasPrefix(typ, "*")
}

// goEdits make a panic in a goroutine started by a cell an error message
// instead of the end of the kernel process. "go F(ARGS)" becomes
// "_ferryrt.Go(F, ARGS)", which evaluates F and ARGS where the go statement
// is, as Go does, and runs the call in a goroutine that recovers. Where that
// form cannot express the call (a builtin, a spread slice, one call argument
// that may return several values), the call is wrapped in a func literal
// with a recovering defer instead, so its arguments are evaluated in the new
// goroutine.
func goEdits(p *prepared, g *ast.GoStmt, tmp, params, args string) []edit {
	call := g.Call
	start, fun := p.cellOff(g.Pos()), p.cellOff(call.Fun.Pos())
	wrap := call.Ellipsis.IsValid()
	if id, ok := call.Fun.(*ast.Ident); ok && builtinFuncs[id.Name] {
		wrap = true
	}
	if len(call.Args) == 1 {
		if _, ok := call.Args[0].(*ast.CallExpr); ok {
			wrap = true
		}
	}
	if wrap {
		return []edit{
			{start, fun, "go func() { defer func() { _ferryrt.GoPanic(recover()) }(); "},
			{p.cellOff(call.End()), p.cellOff(call.End()), " }()"},
		}
	}
	lparen := p.cellOff(call.Lparen)
	if _, ok := call.Fun.(*ast.FuncLit); ok {
		// The interpreter shares the variables a func literal captures
		// with the loop iterations that follow unless the literal is a
		// value first: { tmp := func(...) {...}; _ferryrt.Go(tmp, ARGS) }.
		// The loop variables it captures are given as arguments (params,
		// args), as the interpreter may read them after the next iteration
		// changed them.
		sep := ", "
		if len(call.Args) == 0 {
			sep = ""
		}
		eds := []edit{
			{start, fun, "{ " + tmp + " := "},
			{p.cellOff(call.Fun.End()), lparen + 1, "; _ferryrt.Go(" + tmp + map[bool]string{true: ", " + args, false: ""}[args != ""] + sep},
			{p.cellOff(call.End()), p.cellOff(call.End()), " }"},
		}
		if params != "" {
			fl := call.Fun.(*ast.FuncLit)
			open := p.cellOff(fl.Type.Params.Opening) + 1
			if fl.Type.Params.NumFields() > 0 {
				params += ", "
			}
			eds = append(eds, edit{open, open, params})
		}
		return eds
	}
	if len(call.Args) == 0 {
		return []edit{{start, fun, "_ferryrt.Go("}, {lparen, p.cellOff(call.Rparen) + 1, ")"}}
	}
	return []edit{{start, fun, "_ferryrt.Go("}, {lparen, lparen + 1, ", "}}
}

var builtinFuncs = map[string]bool{
	"append": true, "cap": true, "clear": true, "close": true, "complex": true, "copy": true,
	"delete": true, "imag": true, "len": true, "make": true, "max": true, "min": true, "new": true,
	"panic": true, "print": true, "println": true, "real": true, "recover": true,
}

// needsFuncScope reports whether top-level statement st holds, in a block
// (not in a func literal), a definition of several variables from one
// multi-value expression, v, ok := m[k] or a, err := f(), and can run in a
// func literal unchanged: it has no return, defer or goto of its own.
func needsFuncScope(st ast.Stmt) bool {
	multi, jumps := false, false
	var walk func(n ast.Node, inBlock bool)
	walk = func(n ast.Node, inBlock bool) {
		ast.Inspect(n, func(x ast.Node) bool {
			if x == n {
				return true
			}
			switch x := x.(type) {
			case *ast.FuncLit:
				return false
			case *ast.BlockStmt:
				walk(x, true)
				return false
			case *ast.CaseClause, *ast.CommClause:
				walk(x, true)
				return false
			case *ast.ReturnStmt, *ast.DeferStmt:
				jumps = true
			case *ast.BranchStmt:
				if x.Tok == token.GOTO {
					jumps = true
				}
			case *ast.AssignStmt:
				if inBlock && x.Tok == token.DEFINE && len(x.Lhs) > 1 && len(x.Rhs) == 1 {
					multi = true
				}
			case *ast.ValueSpec:
				if inBlock && len(x.Names) > 1 && len(x.Values) == 1 {
					multi = true
				}
			}
			return true
		})
	}
	_, block := st.(*ast.BlockStmt)
	walk(st, block)
	return multi && !jumps
}

// unnamedParamEdits names the unnamed parameters of ft "_".
func unnamedParamEdits(p *prepared, ft *ast.FuncType) []edit {
	if ft.Params == nil {
		return nil
	}
	var eds []edit
	for _, f := range ft.Params.List {
		if len(f.Names) == 0 {
			off := p.cellOff(f.Type.Pos())
			eds = append(eds, edit{off, off, "_ "})
		}
	}
	return eds
}
