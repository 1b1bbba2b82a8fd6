package goeval

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/scanner"
	"go/token"
	"io"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/ferryml/ferry/kernel"
	"github.com/traefik/yaegi/interp"
)

// panicFilter passes writes to w except yaegi's "1:28: panic: main(...)"
// lines, which it records for the traceback.
type panicFilter struct {
	w     io.Writer
	mu    sync.Mutex
	lines []string
}

var panicLineRe = regexp.MustCompile(`^(?:[\w.]+:)?\d+:\d+: panic: \S*\(\.\.\.\)\n$`)

func (f *panicFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(": panic: ")) && panicLineRe.Match(p) {
		f.mu.Lock()
		if len(f.lines) < 100 {
			f.lines = append(f.lines, strings.TrimSpace(string(p)))
		}
		f.mu.Unlock()
		return len(p), nil
	}
	return f.w.Write(p)
}

func (f *panicFilter) reset() {
	f.mu.Lock()
	f.lines = nil
	f.mu.Unlock()
}

func (f *panicFilter) taken() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

// position is a position in a cell.
type position struct {
	cell, line, col int
}

var posRe = regexp.MustCompile(`^(?:([\w.]+):)?(\d+):(\d+): `)

// parsePos splits "_.go:3000002:5: msg" (line 2 of cell 3) into a position and msg. ok is false
// when the position is not in a cell.
func (e *Evaluator) parsePos(s string) (pos position, msg string, ok bool) {
	m := posRe.FindStringSubmatch(s)
	if m == nil {
		return pos, s, false
	}
	msg = s[len(m[0]):]
	if m[1] != "" && m[1] != interp.DefaultSourceName {
		return pos, msg, false
	}
	line, _ := strconv.Atoi(m[2])
	col, _ := strconv.Atoi(m[3])
	pos = e.decodeLine(line, col)
	return pos, msg, pos.cell > 0
}

// where returns traceback lines naming pos, its source line and a caret.
func (e *Evaluator) where(pos position, msg string) []string {
	var head string
	if pos.cell == e.cellID {
		head = fmt.Sprintf("cell line %d, column %d", pos.line, pos.col)
	} else {
		head = fmt.Sprintf("line %d, column %d of an earlier cell (#%d)", pos.line, pos.col, pos.cell)
	}
	if msg != "" {
		head += ": " + msg
	}
	lines := strings.Split(e.cells[pos.cell], "\n")
	if pos.line > len(lines) { // the end of the cell
		pos.line = len(lines)
		pos.col = len(lines[len(lines)-1]) + 1
		head = fmt.Sprintf("end of cell, line %d, column %d: %s", pos.line, pos.col, msg)
	}
	if pos.line < 1 || pos.line > len(lines) {
		return []string{head}
	}
	text := lines[pos.line-1]
	var caret strings.Builder
	for i, r := range text {
		if i >= pos.col-1 {
			break
		}
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
	}
	return []string{head, "    " + text, "    " + caret.String() + "^"}
}

// lineOf describes the line of pos, without a column: "cell line N" and
// the line's source.
func (e *Evaluator) lineOf(pos position) []string {
	head := fmt.Sprintf("cell line %d", pos.line)
	if pos.cell != e.cellID {
		head = fmt.Sprintf("line %d of an earlier cell (#%d)", pos.line, pos.cell)
	}
	lines := strings.Split(e.cells[pos.cell], "\n")
	if pos.line < 1 || pos.line > len(lines) {
		return []string{head}
	}
	return []string{head, "    " + strings.TrimSpace(lines[pos.line-1])}
}

func (e *Evaluator) staticError(cellID int, code string, off int, name, msg string) *kernel.ExecError {
	line := 1 + strings.Count(code[:off], "\n")
	col := off - (strings.LastIndexByte(code[:off], '\n') + 1) + 1
	return &kernel.ExecError{Name: name, Value: msg, Traceback: e.where(position{cellID, line, col}, msg)}
}

// compileError converts an error of Compile.
func (e *Evaluator) compileError(err error, cellID int, code string, p *prepared) error {
	if ie, ok := err.(internalError); ok {
		msg := "yaegi internal error: " + ie.Error()
		if p.rangeUnknown {
			msg += " (this cell ranges over an expression whose type Ferry cannot see: yaegi cannot range over integers or functions; " +
				"write a three-clause loop for an integer, or call a function iterator with a yield function)"
		}
		return &kernel.ExecError{Name: "CompileError", Value: msg, Traceback: []string{msg}}
	}
	ee := &kernel.ExecError{Name: "CompileError"}
	var list scanner.ErrorList
	if errors.As(err, &list) {
		for i, se := range list {
			msg := se.Msg
			if i == 0 {
				ee.Value = msg
			}
			pos := e.decodeLine(se.Pos.Line, se.Pos.Column)
			if pos.cell > 0 {
				ee.Traceback = append(ee.Traceback, e.where(pos, msg)...)
			} else {
				ee.Traceback = append(ee.Traceback, msg)
			}
			if i == 9 {
				break
			}
		}
		return ee
	}
	for i, line := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
		pos, msg, ok := e.parsePos(line)
		if msg == "constant definition loop" && ok && pos.cell == cellID {
			if name := e.undefinedAt(p, code, pos); name != "" {
				msg = "undefined: " + name
			} else {
				msg = "undefined name (yaegi reports: constant definition loop)"
			}
		}
		if name, found := strings.CutPrefix(msg, "undefined: "); found && ok && pos.cell == cellID {
			pos = e.identPos(p, code, pos, name)
		}
		if i == 0 {
			ee.Value = msg
		}
		if ok {
			ee.Traceback = append(ee.Traceback, e.where(pos, msg)...)
		} else {
			ee.Traceback = append(ee.Traceback, msg)
		}
	}
	return ee
}

// identPos returns the position of the first use of identifier name in p
// at or after pos (yaegi reports the start of the statement), or pos.
func (e *Evaluator) identPos(p *prepared, code string, pos position, name string) position {
	if p.file == nil || pos.line < 1 {
		return pos
	}
	lines := strings.SplitAfter(code, "\n")
	if pos.line > len(lines) {
		return pos
	}
	off := pos.col - 1
	for _, l := range lines[:pos.line-1] {
		off += len(l)
	}
	found := -1
	ast.Inspect(p.file, func(n ast.Node) bool {
		if found >= 0 || n == nil {
			return false
		}
		switch n := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(n.X, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok && found < 0 && id.Name == name && p.cellOff(id.Pos()) >= off {
					found = p.cellOff(id.Pos())
				}
				return found < 0
			})
			return false
		case *ast.Ident:
			if n.Name == name && p.cellOff(n.Pos()) >= off {
				found = p.cellOff(n.Pos())
			}
		}
		return true
	})
	if found < 0 || found > len(code) {
		return pos
	}
	line := 1 + strings.Count(code[:found], "\n")
	col := found - (strings.LastIndexByte(code[:found], '\n') + 1) + 1
	return position{cell: pos.cell, line: line, col: col}
}

var universe = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`append cap clear close complex copy delete imag len make max min new panic print println real recover
		any bool byte comparable complex64 complex128 error float32 float64 int int8 int16 int32 int64 rune string uint uint8 uint16 uint32 uint64 uintptr
		true false iota nil _`) {
		universe[n] = true
	}
}

// undefinedAt finds the undefined name yaegi calls a "constant definition
// loop" in the statement or declaration at pos.
func (e *Evaluator) undefinedAt(p *prepared, code string, pos position) string {
	if p.file == nil {
		return ""
	}
	lines := strings.SplitAfter(code, "\n")
	off := pos.col - 1
	for _, l := range lines[:pos.line-1] {
		off += len(l)
	}
	declared := map[string]bool{}
	ast.Inspect(p.file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						declared[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				declared[id.Name] = true
			}
		case *ast.Field:
			for _, id := range n.Names {
				declared[id.Name] = true
			}
		case *ast.FuncDecl:
			declared[n.Name.Name] = true
		case *ast.TypeSpec:
			declared[n.Name.Name] = true
		case *ast.RangeStmt:
			for _, x := range []ast.Expr{n.Key, n.Value} {
				if id, ok := x.(*ast.Ident); ok {
					declared[id.Name] = true
				}
			}
		}
		return true
	})
	// The innermost statement or spec at off.
	var target ast.Node
	ast.Inspect(p.file, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		if p.cellOff(n.Pos()) > off || p.cellOff(n.End()) <= off {
			return n == p.file || isDeclNode(n)
		}
		switch n.(type) {
		case ast.Stmt, *ast.ValueSpec:
			target = n
		}
		return true
	})
	if target == nil {
		return ""
	}
	name := ""
	ast.Inspect(target, func(n ast.Node) bool {
		if name != "" {
			return false
		}
		switch n := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(n.X, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok && name == "" && e.isUndefined(id.Name, declared) {
					name = id.Name
				}
				return name == ""
			})
			return false
		case *ast.KeyValueExpr:
			ast.Inspect(n.Value, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok && name == "" && e.isUndefined(id.Name, declared) {
					name = id.Name
				}
				return name == ""
			})
			return false
		case *ast.Ident:
			if e.isUndefined(n.Name, declared) {
				name = n.Name
			}
		}
		return true
	})
	return name
}

func isDeclNode(n ast.Node) bool {
	_, ok := n.(ast.Decl)
	return ok
}

func (e *Evaluator) isUndefined(name string, declared map[string]bool) bool {
	if declared[name] || universe[name] {
		return false
	}
	if _, ok := e.imports[name]; ok {
		return false
	}
	if _, ok := e.decls[name]; ok {
		return false
	}
	if _, ok := e.globals()[name]; ok {
		return false
	}
	return true
}

// runtimeError converts an error of Execute.
func (e *Evaluator) runtimeError(err error, cellID int) error {
	ee := &kernel.ExecError{Name: "RuntimeError", Value: err.Error()}
	var pe interp.Panic
	if errors.As(err, &pe) {
		switch v := pe.Value.(type) {
		case runtime.Error:
			ee.Value = v.Error()
		case error:
			ee.Name, ee.Value = "panic", v.Error()
		case string:
			ee.Name, ee.Value = "panic", v
			if strings.HasPrefix(v, "reflect: ") {
				ee.Name = "RuntimeError"
			}
		default:
			ee.Name, ee.Value = "panic", fmt.Sprint(v)
		}
	} else if pos, msg, ok := e.parsePos(err.Error()); ok {
		ee.Value = msg
		ee.Traceback = e.where(pos, msg)
		return ee
	}
	ee.Traceback = []string{ee.Name + ": " + ee.Value}
	if pos := e.decodeLine(int(e.line.Load()), 0); pos.cell != 0 {
		ee.Traceback = append(ee.Traceback, e.lineOf(pos)...)
	}
	// yaegi logs one "POS: panic: FUNC(...)" line per frame, innermost
	// first; POS is the start of the function, not the failing line, so
	// only the function names are shown.
	for _, l := range e.stderr.taken() {
		_, msg, _ := e.parsePos(l)
		fn := strings.TrimSuffix(strings.TrimPrefix(msg, "panic: "), "(...)")
		switch {
		case fn == "main":
			// The cell itself: its line is shown above.
		case strings.HasPrefix(fn, "main."):
			ee.Traceback = append(ee.Traceback, "in "+strings.TrimPrefix(fn, "main.")+"()")
		default:
			ee.Traceback = append(ee.Traceback, "in "+fn+"()")
		}
	}
	return ee
}
