package goeval

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"strings"
	"unicode/utf8"
)

// runePos is a rune of a string and its byte offset, for ranging over a
// string in interpreted code (see fixEdits).
type runePos struct {
	Off int
	R   rune
}

// rtRunes returns the runes of s as "for i, r := range s" gives them.
func rtRunes(s string) []runePos {
	rs := make([]runePos, 0, utf8.RuneCountInString(s))
	for i, r := range s {
		rs = append(rs, runePos{i, r})
	}
	return rs
}

// fixEdits rewrite, in interpreted chunks, the constructs the interpreter
// would otherwise run with another meaning than Go's, using the chunk's
// types; those it cannot rewrite are refused with an error that says what
// to write instead.
func (e *Evaluator) fixEdits(p *prepared, code string, cellID int) ([]edit, error) {
	if p.check == nil {
		return nil, nil
	}
	info := p.check.info
	src := func(n ast.Node) string { return code[p.cellOff(n.Pos()):p.cellOff(n.End())] }
	var edits []edit
	var failure error
	fail := func(n ast.Node, msg string) {
		if failure == nil {
			failure = e.staticError(cellID, code, p.cellOff(n.Pos()), "CompileError", msg)
		}
	}
	// Top-level defer: the cell's statements are not a function body.
	for _, st := range p.stmts {
		ast.Inspect(st, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.DeferStmt:
				fail(n, "defer at the top level of a cell is not supported (the interpreter would run it at another time than Go): put the statements in a function and call it, func run() { defer ...; ... }; run()")
			}
			return failure == nil
		})
	}
	// yaegi runs a func main of package main after every evaluation:
	// an interpreted main is renamed, and so are the calls of it.
	for _, d := range p.file.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "main" {
			edits = append(edits, edit{p.cellOff(fd.Name.Pos()), p.cellOff(fd.Name.End()), "_ferrymain"})
		}
	}
	labeled := map[ast.Stmt]bool{}
	ast.Inspect(p.file, func(n ast.Node) bool {
		if failure != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.LabeledStmt:
			labeled[n.Stmt] = true
		case *ast.SwitchStmt:
			// switch INIT; TAG { ... } becomes { INIT; switch TAG { ... } }.
			if n.Init != nil && !labeled[n] {
				next := n.Body.Lbrace
				if n.Tag != nil {
					next = n.Tag.Pos()
				}
				edits = append(edits,
					edit{p.cellOff(n.Switch), p.cellOff(n.Init.Pos()), "{ "},
					edit{p.cellOff(n.Init.End()), p.cellOff(next), "; switch "},
					edit{p.cellOff(n.End()), p.cellOff(n.End()), " }"})
			}
		case *ast.BinaryExpr:
			// A constant comparison is the constant (the interpreter gets
			// some of them wrong).
			tv, ok := info.Types[n]
			if b, isBasic := tv.Type.(*types.Basic); ok && tv.Value != nil && isBasic && (b.Kind() == types.Int32 || b.Kind() == types.UntypedRune) {
				// A rune constant expression: the interpreter would make it an int.
				edits = append(edits, edit{p.cellOff(n.Pos()), p.cellOff(n.Pos()), "rune("}, edit{p.cellOff(n.End()), p.cellOff(n.End()), ")"})
				return false
			}
			if ok && tv.Value != nil && tv.Value.Kind() == constant.Bool {
				if b, ok := tv.Type.(*types.Basic); ok && b.Kind() == types.UntypedBool {
					edits = append(edits, edit{p.cellOff(n.Pos()), p.cellOff(n.End()), fmt.Sprint(constant.BoolVal(tv.Value))})
					return false
				}
			}
		case *ast.Ident:
			if obj, ok := info.Uses[n].(*types.Func); ok && n.Name == "main" && obj.Parent() == p.check.pkg.Scope() && e.native["main"] == nil {
				edits = append(edits, edit{p.cellOff(n.Pos()), p.cellOff(n.End()), "_ferrymain"})
			}
			// An untyped rune constant given its default type: the
			// interpreter would make it an int.
			if tv, ok := info.Types[n]; ok && tv.Value != nil && isRuneConst(info.Uses[n]) {
				if b, ok := tv.Type.(*types.Basic); ok && b.Kind() == types.Int32 {
					edits = append(edits, edit{p.cellOff(n.Pos()), p.cellOff(n.Pos()), "rune("}, edit{p.cellOff(n.End()), p.cellOff(n.End()), ")"})
				}
			}
		case *ast.BasicLit:
			if tv, ok := info.Types[n]; ok && n.Kind == token.CHAR {
				if b, ok := tv.Type.(*types.Basic); ok && b.Kind() == types.Int32 {
					edits = append(edits, edit{p.cellOff(n.Pos()), p.cellOff(n.Pos()), "rune("}, edit{p.cellOff(n.End()), p.cellOff(n.End()), ")"})
				}
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "recover" {
				if _, isBuiltin := info.Uses[id].(*types.Builtin); isBuiltin {
					fail(n, "recover in interpreted code is not supported: the panics of interpreted code are not Go's run-time error values; declare the function that recovers in a cell of declarations (compiled), and let it call what may panic")
					return false
				}
			}
			if fn, ok := calleeNative(info, n, e); ok && fn != "" {
				for _, a := range n.Args {
					if _, lit := a.(*ast.FuncLit); lit {
						fail(a, fn+" recovers panics, but the panics of interpreted code are not Go's run-time error values: declare this function in a cell of declarations (compiled) and pass it by name")
						return false
					}
				}
			}
			// new(EXPR) (Go 1.26): a pointer to a new variable holding EXPR.
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "new" && len(n.Args) == 1 {
				if _, isBuiltin := info.Uses[id].(*types.Builtin); isBuiltin && info.Types[n.Args[0]].IsValue() {
					t, ok := e.goTypeText(info.Types[n].Type.(*types.Pointer).Elem(), p.check.pkg)
					if !ok || !e.interpNameable(info.Types[n].Type, p.check.pkg) {
						fail(n, "new("+src(n.Args[0])+") of this type is not supported by the interpreter: declare a variable and take its address, v := ...; p := &v")
						return false
					}
					e.seq++
					v := fmt.Sprintf("_ferrynew%d", e.seq)
					edits = append(edits,
						edit{p.cellOff(n.Pos()), p.cellOff(n.Args[0].Pos()), "func() *" + t + " { var " + v + " " + t + " = ("},
						edit{p.cellOff(n.Args[0].End()), p.cellOff(n.End()), "); return &" + v + " }()"})
				}
			}
		case *ast.RangeStmt:
			// Over a string, the interpreter gets the byte offsets of
			// invalid UTF-8 wrong: range over the runes Go decodes.
			if b, ok := info.Types[n.X].Type.Underlying().(*types.Basic); ok && b.Info()&types.IsString != 0 && n.Key != nil {
				e.seq++
				tmp := fmt.Sprintf("_ferryrp%d", e.seq)
				assign := " = "
				if n.Tok == token.DEFINE {
					assign = " := "
				}
				lhs, rhs := src(n.Key), tmp+".Off"
				if n.Value != nil {
					lhs += ", " + src(n.Value)
					rhs += ", " + tmp + ".R"
				}
				stmt := " " + lhs + assign + rhs + ";"
				if isBlank(n.Key) && (n.Value == nil || isBlank(n.Value)) {
					stmt = ""
				}
				edits = append(edits,
					edit{p.cellOff(n.Key.Pos()), p.cellOff(n.X.Pos()), "_, " + tmp + " := range _ferryrt.Runes("},
					edit{p.cellOff(n.X.End()), p.cellOff(n.X.End()), ")"},
					edit{p.cellOff(n.Body.Lbrace) + 1, p.cellOff(n.Body.Lbrace) + 1, stmt})
			}
		}
		return true
	})
	if failure != nil {
		return nil, failure
	}
	return edits, nil
}

func isBlank(x ast.Expr) bool {
	id, ok := x.(*ast.Ident)
	return ok && id.Name == "_"
}

// interpNameable reports whether t can be written in interpreted code as
// goTypeText writes it: no type of a compiled cell in it.
func (e *Evaluator) interpNameable(t types.Type, pkg *types.Package) bool {
	ok := true
	walkTypes(t, func(t types.Type) {
		if n, isNamed := t.(*types.Named); isNamed && n.Obj().Pkg() == pkg && e.native[n.Obj().Name()] != nil {
			ok = false
		}
	})
	return ok
}

// isRuneConst reports whether obj is an untyped rune constant.
func isRuneConst(obj types.Object) bool {
	c, ok := obj.(*types.Const)
	if !ok {
		return false
	}
	b, ok := c.Type().(*types.Basic)
	return ok && b.Kind() == types.UntypedRune
}

// calleeNative returns the name of the compiled session function call
// calls when that function calls recover.
func calleeNative(info *types.Info, call *ast.CallExpr, e *Evaluator) (string, bool) {
	id, ok := call.Fun.(*ast.Ident)
	if !ok {
		return "", false
	}
	fn, ok := info.Uses[id].(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Parent() != fn.Pkg().Scope() || e.native[fn.Name()] == nil {
		return "", false
	}
	if strings.Contains(e.sess.funcSrc[fn.Name()], "recover()") {
		return fn.Name(), true
	}
	return "", false
}

// capturedLoopVars returns, for "go func(...) {...}(...)", the parameters
// and arguments that pass the variables of enclosing loops the literal
// captures ("i int", "i"). A captured loop variable the literal assigns,
// or whose type interpreted code cannot name, is refused.
func (e *Evaluator) capturedLoopVars(p *prepared, code string, cellID int, g *ast.GoStmt) (params, args string, err error) {
	fl, ok := g.Call.Fun.(*ast.FuncLit)
	if !ok || p.check == nil {
		return "", "", nil
	}
	info := p.check.info
	var loops [][2]token.Pos
	ast.Inspect(p.file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ForStmt:
			loops = append(loops, [2]token.Pos{n.Pos(), n.End()})
		case *ast.RangeStmt:
			loops = append(loops, [2]token.Pos{n.Pos(), n.End()})
		}
		return true
	})
	inLoop := func(pos token.Pos) bool {
		for _, l := range loops {
			if pos >= l[0] && pos < l[1] {
				return true
			}
		}
		return false
	}
	seen := map[*types.Var]bool{}
	var vars []*types.Var
	assigned := map[*types.Var]bool{}
	ast.Inspect(fl.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			v, ok := info.Uses[n].(*types.Var)
			if ok && !v.IsField() && v.Pos() < fl.Pos() && inLoop(v.Pos()) && !seen[v] {
				seen[v] = true
				vars = append(vars, v)
			}
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					if v, ok := info.Uses[id].(*types.Var); ok {
						assigned[v] = true
					}
				}
			}
		case *ast.IncDecStmt:
			if id, ok := n.X.(*ast.Ident); ok {
				if v, ok := info.Uses[id].(*types.Var); ok {
					assigned[v] = true
				}
			}
		case *ast.UnaryExpr:
			if id, ok := n.X.(*ast.Ident); ok && n.Op == token.AND {
				if v, ok := info.Uses[id].(*types.Var); ok {
					assigned[v] = true
				}
			}
		}
		return true
	})
	var ps, as []string
	for _, v := range vars {
		t, ok := e.goTypeText(v.Type(), p.check.pkg)
		if assigned[v] || !ok || !e.interpNameable(v.Type(), p.check.pkg) {
			return "", "", e.staticError(cellID, code, p.cellOff(g.Pos()), "CompileError",
				fmt.Sprintf("this goroutine captures the loop variable %s, which the interpreter may read after the next iteration changed it: pass it as an argument, go func(%s T) { ... }(%s), or declare the function in a cell of declarations (compiled)", v.Name(), v.Name(), v.Name()))
		}
		ps = append(ps, v.Name()+" "+t)
		as = append(as, v.Name())
	}
	return strings.Join(ps, ", "), strings.Join(as, ", "), nil
}
