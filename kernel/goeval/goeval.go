package goeval

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"io"
	"log"
	"path"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/kernel"
	"github.com/ferryml/ferry/kernel/gosrc"
	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
	"github.com/traefik/yaegi/stdlib/unrestricted"
)

// Options configure an Evaluator.
type Options struct {
	// Stdout and Stderr receive the output of cells (nil: discarded).
	Stdout, Stderr io.Writer
	// Stdin is os.Stdin for cells (nil: empty).
	Stdin io.Reader
	// Symbols are extra pre-extracted packages; the standard library
	// (including os/exec and the other unrestricted packages) is always
	// available.
	Symbols []interp.Exports
	// PreImports maps a name to an import path imported in every session,
	// e.g. {"display": "github.com/ferryml/ferry/display"}. An
	// import that fails is skipped with a logged warning.
	PreImports map[string]string
	// Compile builds declaration cells with the Go toolchain when one of
	// the kernel's Go version is on PATH (see compile.go).
	Compile bool
	// CaptureStdio makes the process's standard output and error (file
	// descriptors 1 and 2, where compiled code writes) the cells' streams.
	// For a kernel process only: the process's own writes go there too.
	CaptureStdio bool
	// Packages, if set, provides the packages that cells import and that
	// the standard library and Symbols lack (third-party modules): it is
	// called with their import paths before the cell runs.
	Packages Packages
}

// Evaluator evaluates notebook cells in one yaegi interpreter. Its methods
// must not be called concurrently (the kernel serialises them).
type Evaluator struct {
	opts   Options
	interp *interp.Interpreter
	stderr *panicFilter

	exports []interp.Exports  // all symbols given to the interpreter
	pkgKeys map[string]string // import path -> "importpath/pkgname" key

	cellID  int
	cells   map[int]string    // cell id -> source
	imports map[string]string // package name in session -> import path
	// otherImports holds the blank and dot imports of the session, as
	// "_ path" and ". path".
	otherImports map[string]bool
	funcs        map[string]*ast.FuncDecl // cell-declared functions
	types        map[string]string        // cell-declared types -> normalised source
	shown        renderer                 // the value given to _ferryrt.Show by the last cell
	varTypes     map[string]string        // notebook type ("T", "*T") of session variables, where known
	decls        map[string]*declInfo     // cell-declared names (and "T.M" methods)
	seq          int                      // counter for generated names
	glob         map[string]reflect.Value // cache of interp.Globals()
	sess         *session                 // the session as the type checker sees it
	native       map[string]*nativeDecls  // names declared by compiled chunks
	stdio        []*stdio                 // captured descriptors (CaptureStdio)
	compiled     atomic.Bool              // a plugin was loaded: its output may be pending
	imp          *pkgImporter             // packages for the type checker
	// line is the encoded cell line (see encodeLine) of the top-level
	// statement running, set by _ferryrt.Line, so that a run-time panic,
	// for which yaegi gives no position, names its line.
	line atomic.Int64
	// os.Stdin, os.Stdout and os.Stderr of cells (io.Reader and io.Writer
	// values, as with yaegi's YAEGI_SPECIAL_STDIO).
	osStdin            io.Reader
	osStdout, osStderr io.Writer
}

var _ kernel.Evaluator = (*Evaluator)(nil)

// prewarmPackages are the standard packages whose export data a kernel
// lists in the background when it starts (Options.Compile): what
// notebooks' first cells import, and what the types of Ferry's own
// packages refer to.
var prewarmPackages = []string{
	"fmt", "strings", "strconv", "time", "math", "math/rand", "os", "sort", "errors",
	"io", "context", "bytes", "slices", "maps", "sync", "image", "image/color", "encoding/json",
}

// rtPath is the import path of the compiled helpers of the preamble.
const rtPath = "github.com/ferryml/ferry/kernel/goeval/rt"

// preamble adds the builtins yaegi lacks.
const preamble = `import _ferryrt "` + rtPath + `"
type _ferryOrdered interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr | ~float32 | ~float64 | ~string
}
func min[T _ferryOrdered](x T, y ...T) T {
	for _, v := range y {
		if v < x {
			x = v
		}
	}
	return x
}
func max[T _ferryOrdered](x T, y ...T) T {
	for _, v := range y {
		if v > x {
			x = v
		}
	}
	return x
}
func clear(x any) { _ferryrt.Clear(x) }
func _ferryID(v any) any { return v }
`

// renderer is display.Renderer as a type of this package, so that the
// interface wrapper yaegi needs to pass interpreted values to compiled code
// can be given for it whatever symbols the kernel has.
type renderer interface {
	MIMEBundle() (data, metadata map[string]any)
}

// _goeval_renderer is yaegi's interface wrapper for renderer.
type _goeval_renderer struct {
	IValue      any
	WMIMEBundle func() (map[string]any, map[string]any)
}

func (w _goeval_renderer) MIMEBundle() (map[string]any, map[string]any) { return w.WMIMEBundle() }

// rtClear implements the clear builtin for maps and slices.
func rtClear(x any) {
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Map, reflect.Slice:
		v.Clear()
	default:
		panic(fmt.Sprintf("invalid argument: clear(%T)", x))
	}
}

// goCall runs fn(args...) in a goroutine that turns a panic into a message
// on the cell's stderr: a panic in a goroutine must not end the kernel.
func (e *Evaluator) goCall(fn any, args ...any) {
	f := reflect.ValueOf(fn)
	if f.Kind() != reflect.Func {
		panic(fmt.Sprintf("go: %T is not a function", fn))
	}
	t := f.Type()
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		if a != nil {
			in[i] = reflect.ValueOf(a)
			continue
		}
		// A nil interface argument: the zero value of the parameter.
		pt := t.In(min(i, t.NumIn()-1))
		if t.IsVariadic() && i >= t.NumIn()-1 {
			pt = pt.Elem()
		}
		in[i] = reflect.Zero(pt)
	}
	go func() {
		defer func() { e.goPanic(recover()) }()
		f.Call(in)
	}()
}

// goPanic reports the panic r (if any) of a goroutine started by a cell.
func (e *Evaluator) goPanic(r any) {
	if r == nil {
		return
	}
	fmt.Fprintf(e.stderr, "panic in a goroutine started by a cell (recovered; the kernel goes on): %v\n", r)
}

// New returns an Evaluator with a fresh interpreter.
func New(opts Options) (*Evaluator, error) {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Stdin == nil {
		opts.Stdin = strings.NewReader("")
	}
	e := &Evaluator{
		opts:         opts,
		stderr:       &panicFilter{w: opts.Stderr},
		pkgKeys:      map[string]string{},
		cells:        map[int]string{},
		imports:      map[string]string{},
		otherImports: map[string]bool{},
		funcs:        map[string]*ast.FuncDecl{},
		types:        map[string]string{},
		varTypes:     map[string]string{},
		decls:        map[string]*declInfo{},
		sess:         newSession(),
		native:       map[string]*nativeDecls{},
	}
	stdout := opts.Stdout
	if opts.CaptureStdio {
		if err := e.captureStdio(); err != nil {
			log.Printf("goeval: standard output of compiled code not captured: %v", err)
		} else {
			// Interpreted output goes straight to the stream (a widget's
			// callback prints into the output capturing it), after what
			// compiled code wrote before it.
			stdout = &orderedWriter{w: opts.Stdout, e: e}
		}
	}
	e.interp = interp.New(interp.Options{
		Stdout:       stdout,
		Stderr:       e.stderr,
		Stdin:        opts.Stdin,
		Unrestricted: true,
	})
	rt := interp.Exports{
		rtPath + "/rt": {
			"Clear":   reflect.ValueOf(rtClear),
			"Runes":   reflect.ValueOf(rtRunes),
			"Show":    reflect.ValueOf(func(r renderer) { e.shown = r }),
			"Line":    reflect.ValueOf(func(l int) { e.line.Store(int64(l)) }),
			"Go":      reflect.ValueOf(e.goCall),
			"GoPanic": reflect.ValueOf(e.goPanic),
		},
		// yaegi looks up the wrapper of an interface in its package.
		reflect.TypeOf((*renderer)(nil)).Elem().PkgPath() + "/goeval": {
			"_renderer": reflect.ValueOf((*_goeval_renderer)(nil)),
		},
	}
	e.exports = append([]interp.Exports{stdlib.Symbols, unrestricted.Symbols}, opts.Symbols...)
	for _, ex := range append(e.exports, rt) {
		if err := e.interp.Use(ex); err != nil {
			return nil, fmt.Errorf("goeval: using symbols: %w", err)
		}
		for k := range ex {
			e.pkgKeys[path.Dir(k)] = k
		}
	}
	e.imp = newPkgImporter(token.NewFileSet(), e.packageSymbols)
	if opts.Compile {
		// The kernel's first cells: the checker needs the export data of
		// what they import, which the go command builds once per machine.
		e.imp.Prewarm(prewarmPackages...)
	}
	// yaegi leaves os.Stdout and os.Stderr the process's own unless
	// YAEGI_SPECIAL_STDIO is set in the environment: route them to the
	// cell's streams, as fmt.Print* and log already are.
	e.osStdin, e.osStdout, e.osStderr = opts.Stdin, stdout, e.stderr
	if err := e.interp.Use(interp.Exports{"os/os": {
		"Stdin":  reflect.ValueOf(&e.osStdin).Elem(),
		"Stdout": reflect.ValueOf(&e.osStdout).Elem(),
		"Stderr": reflect.ValueOf(&e.osStderr).Elem(),
	}}); err != nil {
		return nil, fmt.Errorf("goeval: using symbols: %w", err)
	}
	if _, err := e.interp.Eval(preamble); err != nil {
		return nil, fmt.Errorf("goeval: preamble: %w", err)
	}
	names := make([]string, 0, len(opts.PreImports))
	for n := range opts.PreImports {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := opts.PreImports[n]
		if _, err := e.safeEval(fmt.Sprintf("import %s %q", n, p)); err != nil {
			log.Printf("goeval: pre-import %s %q skipped: %v", n, p, err)
			continue
		}
		e.imports[n] = p
	}
	return e, nil
}

// safeEval evaluates src, turning a panic of yaegi into an error.
func (e *Evaluator) safeEval(src string) (v reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaegi: %v", r)
		}
	}()
	return e.interp.Eval(src)
}

// globals returns the interpreter's global variables and constants (cached
// until the next evaluation).
func (e *Evaluator) globals() map[string]reflect.Value {
	if e.glob == nil {
		e.glob = e.interp.Globals()
	}
	return e.glob
}

// pkgSymbol returns the compiled symbol pkg.Name of an imported package.
func (e *Evaluator) pkgSymbol(sel *ast.SelectorExpr) (reflect.Value, bool) {
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return reflect.Value{}, false
	}
	p, ok := e.imports[id.Name]
	if !ok {
		return reflect.Value{}, false
	}
	syms := e.packageSymbols(p)
	v, ok := syms[sel.Sel.Name]
	return v, ok && v.IsValid()
}

// packageSymbols returns the exports of the package at import path p.
func (e *Evaluator) packageSymbols(p string) map[string]reflect.Value {
	k, ok := e.pkgKeys[p]
	if !ok {
		return nil
	}
	for _, ex := range e.exports {
		if m, ok := ex[k]; ok {
			return m
		}
	}
	return nil
}

// Eval runs a cell; see kernel.Evaluator.
func (e *Evaluator) Eval(ctx context.Context, code string) (*kernel.Bundle, error) {
	e.cellID++
	id := e.cellID
	defer func() {
		// Only compiled code of the session (cells, modules) writes to
		// the captured descriptors; the kernel's packages print nothing.
		if e.compiled.Load() {
			for _, s := range e.stdio {
				s.sync()
			}
		}
	}()
	e.shown = nil
	e.cells[id] = code
	chunks := splitCell(code)
	if e.opts.Packages != nil {
		if err := e.loadImports(ctx, id, code, chunks); err != nil {
			return nil, err
		}
	}
	var last *prepared
	var lastVal reflect.Value
	for _, ch := range chunks {
		p, err := e.prepare(ctx, id, code, ch)
		if err != nil {
			return nil, err
		}
		v, err := e.run(ctx, id, code, p)
		e.glob = nil
		if err != nil {
			return nil, err
		}
		e.commit(p, code)
		last, lastVal = p, v
	}
	if last == nil || last.decl || len(last.stmts) == 0 {
		return nil, nil
	}
	es, ok := last.stmts[len(last.stmts)-1].(*ast.ExprStmt)
	if !ok {
		return nil, nil
	}
	switch e.resultCount(es.X) {
	case 0:
		return nil, nil
	case 1:
	case -1:
		if !lastVal.IsValid() {
			return nil, nil
		}
	default:
		return nil, nil
	}
	if lastVal.IsValid() && lastVal.Type() == reflect.TypeOf((*any)(nil)) {
		// yaegi gives this placeholder for statements without a value
		// (e.g. a call of a func literal).
		return nil, nil
	}
	var val any
	if lastVal.IsValid() && lastVal.CanInterface() {
		if !(lastVal.Kind() == reflect.Interface && lastVal.IsNil()) {
			val = lastVal.Interface()
		}
	}
	data, md := display.MIMEBundle(val)
	if last.renderer {
		data, md = e.rendered(data, md)
	}
	if md == nil {
		md = map[string]any{}
	}
	return &kernel.Bundle{Data: data, Metadata: md}, nil
}

// rendered returns the bundle of the renderer given to _ferryrt.Show by the
// trailing expression, with the text/plain of plain when it has none; it
// returns plain and its metadata when there is none.
func (e *Evaluator) rendered(plain, plainMD map[string]any) (data, md map[string]any) {
	r := e.shown
	e.shown = nil
	if r == nil {
		return plain, plainMD
	}
	data, md = r.MIMEBundle()
	if data == nil {
		data = map[string]any{}
	}
	if md == nil {
		md = map[string]any{}
	}
	if _, ok := data["text/plain"]; !ok {
		data["text/plain"] = plain["text/plain"]
	}
	return data, md
}

// resultCount returns how many values expression x gives: 1 for anything
// but a call, the number of results of the function called when known,
// else -1.
func (e *Evaluator) resultCount(x ast.Expr) int {
	for {
		p, ok := x.(*ast.ParenExpr)
		if !ok {
			break
		}
		x = p.X
	}
	call, ok := x.(*ast.CallExpr)
	if !ok {
		return 1
	}
	countFields := func(fl *ast.FieldList) int {
		if fl == nil {
			return 0
		}
		n := 0
		for _, f := range fl.List {
			n += max(1, len(f.Names))
		}
		return n
	}
	switch f := call.Fun.(type) {
	case *ast.Ident:
		if d, ok := e.funcs[f.Name]; ok {
			return countFields(d.Type.Results)
		}
		switch f.Name {
		case "panic", "print", "println", "close", "delete", "clear":
			return 0
		case "copy", "len", "cap", "append", "make", "new", "complex", "real", "imag", "min", "max", "recover":
			return 1
		}
		if _, ok := e.types[f.Name]; ok {
			return 1 // conversion
		}
		if intTypeNames[f.Name] || f.Name == "string" || f.Name == "float64" || f.Name == "float32" || f.Name == "bool" || f.Name == "any" {
			return 1
		}
		if v, ok := e.globals()[f.Name]; ok && v.Kind() == reflect.Func {
			return v.Type().NumOut()
		}
	case *ast.FuncLit:
		return countFields(f.Type.Results)
	case *ast.SelectorExpr:
		if v, ok := e.pkgSymbol(f); ok {
			if v.Kind() == reflect.Func {
				return v.Type().NumOut()
			}
			return 1 // conversion
		}
		// A method: of a cell-declared type when a single result count
		// fits all methods of that name, else of a compiled global value.
		n := -1
		for k, d := range e.decls {
			if d.fn != nil && strings.HasSuffix(k, "."+f.Sel.Name) {
				c := countFields(d.fn.Type.Results)
				if n >= 0 && n != c {
					return -1
				}
				n = c
			}
		}
		if n >= 0 {
			return n
		}
		if id, ok := f.X.(*ast.Ident); ok {
			if v, ok := e.globals()[id.Name]; ok && v.IsValid() {
				if m := v.MethodByName(f.Sel.Name); m.IsValid() {
					return m.Type().NumOut()
				}
				if v.CanAddr() {
					if m := v.Addr().MethodByName(f.Sel.Name); m.IsValid() {
						return m.Type().NumOut()
					}
				}
			}
		}
	}
	return -1
}

// commit records the declarations of a chunk that ran.
func (e *Evaluator) commit(p *prepared, code string) {
	if p.file == nil {
		return
	}
	e.record(p, code)
	if !p.decl {
		for _, st := range p.stmts {
			e.declaredTypes(st, e.varTypes)
		}
		return
	}
	for _, d := range p.file.Decls {
		e.declaredTypes(d, e.varTypes)
	}
	src := func(n ast.Node) string { return code[p.cellOff(n.Pos()):p.cellOff(n.End())] }
	for _, d := range p.file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			info := &declInfo{kind: "function", doc: d.Doc.Text(), src: src(d), fn: d}
			info.sig = strings.TrimSpace(src(d)[:p.cellOff(d.Type.End())-p.cellOff(d.Pos())])
			name := d.Name.Name
			if d.Recv != nil && len(d.Recv.List) == 1 {
				name = gosrc.RecvTypeName(d) + "." + name
			} else {
				e.funcs[name] = d
			}
			e.decls[name] = info
		case *ast.GenDecl:
			for _, s := range d.Specs {
				doc := d.Doc.Text()
				switch s := s.(type) {
				case *ast.ImportSpec:
					name, ip := e.importName(s)
					if name != "_" && name != "." {
						e.imports[name] = ip
					} else {
						e.otherImports[name+" "+ip] = true
					}
				case *ast.TypeSpec:
					if s.Doc != nil {
						doc = s.Doc.Text()
					}
					e.types[s.Name.Name] = normalize(src(s))
					e.decls[s.Name.Name] = &declInfo{kind: "type", doc: doc, sig: "type " + src(s), src: "type " + src(s)}
				case *ast.ValueSpec:
					if s.Doc != nil {
						doc = s.Doc.Text()
					}
					kind := "variable"
					if d.Tok == token.CONST {
						kind = "constant"
					}
					for _, n := range s.Names {
						e.decls[n.Name] = &declInfo{kind: kind, doc: doc, sig: d.Tok.String() + " " + src(s), src: d.Tok.String() + " " + src(s)}
						delete(e.funcs, n.Name)
					}
				}
			}
		}
	}
}

// normalize returns the tokens of src, without spacing and comments.
func normalize(src string) string {
	toks, _ := scanTokens(src)
	var b strings.Builder
	for _, t := range toks {
		if t.lit != "" && t.tok != token.SEMICOLON {
			b.WriteString(t.lit)
		} else {
			b.WriteString(t.tok.String())
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// declInfo describes a cell-declared name.
type declInfo struct {
	kind string // "function", "type", "variable", "constant"
	sig  string
	doc  string
	src  string
	fn   *ast.FuncDecl
}

// run compiles and executes one prepared chunk.
func (e *Evaluator) run(ctx context.Context, cellID int, code string, p *prepared) (reflect.Value, error) {
	if err := ctx.Err(); err != nil {
		return reflect.Value{}, e.interrupted(err, false)
	}
	// Compile first to tell compile errors (and yaegi's compile panics)
	// from run-time ones. Statements then run with EvalWithContext, which
	// compiles again: ExecuteWithContext has a data race when cancelled
	// (its goroutine writes the named results it already returned).
	// Declarations cannot be compiled twice (imports would be redeclared),
	// and rarely block, so they run with ExecuteWithContext.
	forgetRoots(e.interp) // the previous cells'
	prog, err := e.compile(p.text)
	if err != nil {
		return reflect.Value{}, e.compileError(err, cellID, code, p)
	}
	e.stderr.reset()
	e.line.Store(int64(encodeLine(cellID, 1+strings.Count(code[:p.start], "\n"))))
	var v reflect.Value
	if p.decl {
		v, err = e.interp.ExecuteWithContext(ctx, prog)
	} else {
		v, err = e.interp.EvalWithContext(ctx, p.text)
	}
	if err == nil {
		return v, nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return reflect.Value{}, e.interrupted(err, e.waitStopped())
	}
	return reflect.Value{}, e.runtimeError(err, cellID)
}

// compile compiles src, turning a panic of yaegi into an error.
func (e *Evaluator) compile(src string) (prog *interp.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = internalError{r}
		}
	}()
	return e.interp.Compile(src)
}

type internalError struct{ v any }

func (ie internalError) Error() string { return fmt.Sprint(ie.v) }

// orderedWriter writes interpreted output to the cell's stream after what
// compiled code wrote to the captured descriptors before it.
type orderedWriter struct {
	w io.Writer
	e *Evaluator
}

func (o *orderedWriter) Write(p []byte) (int, error) {
	if o.e.compiled.Load() {
		for _, s := range o.e.stdio {
			s.sync()
		}
	}
	return o.w.Write(p)
}
