package goeval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/constant"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"time"
)

// pkgImporter gives go/types the packages a cell imports: from the export
// data of the Go toolchain (go list -export) when there is one, else from
// the interpreter's symbol maps (the packages the kernel links, with their
// exported functions, types, variables and constants as reflect values).
// The two sources share one set of package objects, so a type seen through
// both is one type.
type pkgImporter struct {
	fset *token.FileSet
	// symbols returns the symbol map of an import path (nil: none).
	symbols func(path string) map[string]reflect.Value
	gocmd   string // the go command, "" when there is none

	gc   types.Importer
	pkgs map[string]*types.Package // import path -> package built from symbols
	ctx  context.Context           // of the check running

	// mu guards what go list fills in, also from Prewarm's goroutine.
	mu    sync.Mutex
	files map[string]string // import path -> export data file ("": none)
	// listed holds the error of go list for a path, reported once.
	listed map[string]error
	// inflight holds, for the paths a go list running now covers, a
	// channel closed when it is done.
	inflight map[string]chan struct{}
}

func newPkgImporter(fset *token.FileSet, symbols func(string) map[string]reflect.Value) *pkgImporter {
	im := &pkgImporter{
		fset:     fset,
		symbols:  symbols,
		files:    map[string]string{},
		pkgs:     map[string]*types.Package{},
		listed:   map[string]error{},
		inflight: map[string]chan struct{}{},
		ctx:      context.Background(),
	}
	if p, err := exec.LookPath("go"); err == nil && os.Getenv("FERRY_GO_NOTYPES") == "" {
		im.gocmd = p
	}
	im.gc = importer.ForCompiler(fset, "gc", im.lookup)
	return im
}

// lookup opens the export data of path for the gc importer.
func (im *pkgImporter) lookup(path string) (io.ReadCloser, error) {
	im.mu.Lock()
	f := im.files[path]
	im.mu.Unlock()
	if f == "" {
		return nil, fmt.Errorf("no export data for %q", path)
	}
	return os.Open(f)
}

// Import implements types.Importer.
func (im *pkgImporter) Import(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	if p, ok := im.pkgs[path]; ok {
		return p, nil
	}
	// The kernel's own packages are what it links; the standard library
	// and modules come with their generic functions from export data.
	syms := im.symbols(path)
	if syms != nil && !isStd(path) {
		return im.fromSymbols(path, syms), nil
	}
	if im.exportFile(path) != "" {
		return im.gc.Import(path)
	}
	if syms != nil {
		return im.fromSymbols(path, syms), nil
	}
	im.mu.Lock()
	err := im.listed[path]
	im.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("package %q is not known to the kernel", path)
}

// exportFile returns the export data file of path, running go list for it
// (and its dependencies) the first time, or waiting for the go list of a
// Prewarm that covers it.
func (im *pkgImporter) exportFile(path string) string {
	if im.gocmd == "" || path == "C" {
		return ""
	}
	im.mu.Lock()
	if f, ok := im.files[path]; ok {
		im.mu.Unlock()
		return f
	}
	if done, ok := im.inflight[path]; ok {
		im.mu.Unlock()
		select {
		case <-done:
		case <-im.ctx.Done():
		}
		im.mu.Lock()
		f := im.files[path]
		im.mu.Unlock()
		return f
	}
	done := make(chan struct{})
	im.inflight[path] = done
	im.mu.Unlock()
	ctx, cancel := context.WithTimeout(im.ctx, 2*time.Minute)
	defer cancel()
	im.list(ctx, []string{path}, done)
	im.mu.Lock()
	defer im.mu.Unlock()
	if _, ok := im.files[path]; !ok {
		im.files[path] = ""
	}
	return im.files[path]
}

// Prewarm lists paths (and their dependencies) in the background, so that
// the first cells that import them need not wait for the go command to
// build their export data: minutes on a cold build cache for what a
// notebook's first cells use.
func (im *pkgImporter) Prewarm(paths ...string) {
	if im.gocmd == "" || len(paths) == 0 {
		return
	}
	done := make(chan struct{})
	var todo []string
	im.mu.Lock()
	for _, p := range paths {
		if _, ok := im.files[p]; ok {
			continue
		}
		if _, ok := im.inflight[p]; ok {
			continue
		}
		im.inflight[p] = done
		todo = append(todo, p)
	}
	im.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		im.list(ctx, todo, done)
	}()
}

// list runs go list -export -deps for paths, records the export data files
// it names, and closes done (removing paths from inflight).
func (im *pkgImporter) list(ctx context.Context, paths []string, done chan struct{}) {
	args := append([]string{"list", "-e", "-export", "-deps",
		"-f", "{{.ImportPath}}\t{{.Export}}\t{{if .Error}}{{.Error.Err}}{{end}}"}, paths...)
	cmd := exec.CommandContext(ctx, im.gocmd, args...)
	// The kernel's own build tags mean nothing to the packages of a cell.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	im.mu.Lock()
	defer im.mu.Unlock()
	defer close(done)
	for _, p := range paths {
		delete(im.inflight, p)
	}
	if err != nil {
		for _, p := range paths {
			im.listed[p] = fmt.Errorf("go list %s: %v: %s", p, err, strings.TrimSpace(stderr.String()))
			im.files[p] = ""
		}
		return
	}
	asked := map[string]bool{}
	for _, p := range paths {
		asked[p] = true
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) < 2 {
			continue
		}
		if _, ok := im.files[f[0]]; !ok || asked[f[0]] {
			im.files[f[0]] = f[1]
		}
		if asked[f[0]] && len(f) == 3 && f[2] != "" {
			im.listed[f[0]] = errors.New(f[2])
		}
	}
}

// fromSymbols builds the package at path from its symbol map.
func (im *pkgImporter) fromSymbols(path string, syms map[string]reflect.Value) *types.Package {
	name := path[strings.LastIndexByte(path, '/')+1:]
	pkg := types.NewPackage(path, name)
	im.pkgs[path] = pkg
	b := &reflectTypes{im: im}
	scope := pkg.Scope()
	constType := reflect.TypeOf((*constant.Value)(nil)).Elem()
	for n, v := range syms {
		if !v.IsValid() || strings.HasPrefix(n, "_") {
			continue
		}
		switch {
		case v.Kind() == reflect.Func && !v.CanAddr():
			scope.Insert(types.NewFunc(token.NoPos, pkg, n, b.typ(v.Type()).(*types.Signature)))
		case v.CanAddr():
			scope.Insert(types.NewVar(token.NoPos, pkg, n, b.typ(v.Type())))
		case v.Kind() == reflect.Pointer && v.IsNil():
			t := v.Type().Elem()
			if t.Name() == n && t.PkgPath() == path {
				scope.Insert(b.named(t).(*types.Named).Obj())
			} else { // an alias
				scope.Insert(types.NewTypeName(token.NoPos, pkg, n, b.typ(t)))
			}
		case v.Type().Implements(constType):
			c := v.Interface().(constant.Value)
			scope.Insert(types.NewConst(token.NoPos, pkg, n, untypedOf(c), c))
		default:
			if c, ok := constOf(v); ok {
				scope.Insert(types.NewConst(token.NoPos, pkg, n, b.typ(v.Type()), c))
			}
		}
	}
	pkg.MarkComplete()
	return pkg
}

func untypedOf(c constant.Value) types.Type {
	switch c.Kind() {
	case constant.Bool:
		return types.Typ[types.UntypedBool]
	case constant.String:
		return types.Typ[types.UntypedString]
	case constant.Int:
		return types.Typ[types.UntypedInt]
	case constant.Float:
		return types.Typ[types.UntypedFloat]
	case constant.Complex:
		return types.Typ[types.UntypedComplex]
	}
	return types.Typ[types.Invalid]
}

func constOf(v reflect.Value) (constant.Value, bool) {
	switch {
	case v.Kind() == reflect.Bool:
		return constant.MakeBool(v.Bool()), true
	case v.Kind() == reflect.String:
		return constant.MakeString(v.String()), true
	case v.CanInt():
		return constant.MakeInt64(v.Int()), true
	case v.CanUint():
		return constant.MakeUint64(v.Uint()), true
	case v.CanFloat():
		return constant.MakeFloat64(v.Float()), true
	}
	return nil, false
}

// reflectTypes converts reflect types to go/types types.
type reflectTypes struct{ im *pkgImporter }

var errorType = reflect.TypeOf((*error)(nil)).Elem()

func (b *reflectTypes) typ(t reflect.Type) types.Type {
	if t == errorType {
		return types.Universe.Lookup("error").Type()
	}
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return basicOf(t.Kind())
		}
		return b.named(t)
	}
	return b.structure(t)
}

func basicOf(k reflect.Kind) types.Type {
	switch k {
	case reflect.Bool:
		return types.Typ[types.Bool]
	case reflect.Int:
		return types.Typ[types.Int]
	case reflect.Int8:
		return types.Typ[types.Int8]
	case reflect.Int16:
		return types.Typ[types.Int16]
	case reflect.Int32:
		return types.Typ[types.Int32]
	case reflect.Int64:
		return types.Typ[types.Int64]
	case reflect.Uint:
		return types.Typ[types.Uint]
	case reflect.Uint8:
		return types.Typ[types.Uint8]
	case reflect.Uint16:
		return types.Typ[types.Uint16]
	case reflect.Uint32:
		return types.Typ[types.Uint32]
	case reflect.Uint64:
		return types.Typ[types.Uint64]
	case reflect.Uintptr:
		return types.Typ[types.Uintptr]
	case reflect.Float32:
		return types.Typ[types.Float32]
	case reflect.Float64:
		return types.Typ[types.Float64]
	case reflect.Complex64:
		return types.Typ[types.Complex64]
	case reflect.Complex128:
		return types.Typ[types.Complex128]
	case reflect.String:
		return types.Typ[types.String]
	case reflect.UnsafePointer:
		return types.Typ[types.UnsafePointer]
	}
	return types.Typ[types.Invalid]
}

// named returns the named type of t: the package's own object when its
// package can be imported, else one built from reflection.
func (b *reflectTypes) named(t reflect.Type) types.Type {
	path := t.PkgPath()
	var pkg *types.Package
	if p, ok := b.im.pkgs[path]; ok {
		pkg = p
	} else if p, err := b.im.Import(path); err == nil {
		pkg = p
	}
	if pkg != nil {
		if obj, ok := pkg.Scope().Lookup(t.Name()).(*types.TypeName); ok {
			return obj.Type()
		}
	} else {
		pkg = types.NewPackage(path, path[strings.LastIndexByte(path, '/')+1:])
		b.im.pkgs[path] = pkg
	}
	obj := types.NewTypeName(token.NoPos, pkg, t.Name(), nil)
	nt := types.NewNamed(obj, nil, nil)
	pkg.Scope().Insert(obj)
	nt.SetUnderlying(b.structure(t).Underlying())
	if t.Kind() != reflect.Interface {
		b.methods(nt, t)
	}
	return nt
}

func (b *reflectTypes) methods(nt *types.Named, t reflect.Type) {
	seen := map[string]bool{}
	add := func(rt reflect.Type, ptr bool) {
		for i := range rt.NumMethod() {
			m := rt.Method(i)
			if seen[m.Name] {
				continue
			}
			seen[m.Name] = true
			var recvT types.Type = nt
			if ptr {
				recvT = types.NewPointer(nt)
			}
			ft := m.Type // with the receiver as first parameter
			sig := b.signature(ft, 1, types.NewVar(token.NoPos, nt.Obj().Pkg(), "", recvT))
			nt.AddMethod(types.NewFunc(token.NoPos, nt.Obj().Pkg(), m.Name, sig))
		}
	}
	add(t, false)
	add(reflect.PointerTo(t), true)
}

func (b *reflectTypes) signature(ft reflect.Type, skip int, recv *types.Var) *types.Signature {
	var params, results []*types.Var
	for i := skip; i < ft.NumIn(); i++ {
		params = append(params, types.NewVar(token.NoPos, nil, "", b.typ(ft.In(i))))
	}
	for i := range ft.NumOut() {
		results = append(results, types.NewVar(token.NoPos, nil, "", b.typ(ft.Out(i))))
	}
	return types.NewSignatureType(recv, nil, nil, types.NewTuple(params...), types.NewTuple(results...), ft.IsVariadic())
}

// structure converts the structure of t (not its name).
func (b *reflectTypes) structure(t reflect.Type) types.Type {
	switch t.Kind() {
	case reflect.Pointer:
		return types.NewPointer(b.typ(t.Elem()))
	case reflect.Slice:
		return types.NewSlice(b.typ(t.Elem()))
	case reflect.Array:
		return types.NewArray(b.typ(t.Elem()), int64(t.Len()))
	case reflect.Map:
		return types.NewMap(b.typ(t.Key()), b.typ(t.Elem()))
	case reflect.Chan:
		dir := types.SendRecv
		switch t.ChanDir() {
		case reflect.SendDir:
			dir = types.SendOnly
		case reflect.RecvDir:
			dir = types.RecvOnly
		}
		return types.NewChan(dir, b.typ(t.Elem()))
	case reflect.Func:
		return b.signature(t, 0, nil)
	case reflect.Struct:
		var fields []*types.Var
		var tags []string
		for i := range t.NumField() {
			f := t.Field(i)
			var pkg *types.Package
			if f.PkgPath != "" {
				pkg = b.stubPkg(f.PkgPath)
			}
			fields = append(fields, types.NewField(token.NoPos, pkg, f.Name, b.typ(f.Type), f.Anonymous))
			tags = append(tags, string(f.Tag))
		}
		return types.NewStruct(fields, tags)
	case reflect.Interface:
		var ms []*types.Func
		for i := range t.NumMethod() {
			m := t.Method(i)
			var pkg *types.Package
			if m.PkgPath != "" {
				pkg = b.stubPkg(m.PkgPath)
			}
			ms = append(ms, types.NewFunc(token.NoPos, pkg, m.Name, b.signature(m.Type, 0, nil)))
		}
		it := types.NewInterfaceType(ms, nil)
		it.Complete()
		return it
	}
	return basicOf(t.Kind())
}

func (b *reflectTypes) stubPkg(path string) *types.Package {
	if p, ok := b.im.pkgs[path]; ok {
		return p
	}
	if p, err := b.im.Import(path); err == nil {
		return p
	}
	p := types.NewPackage(path, path[strings.LastIndexByte(path, '/')+1:])
	b.im.pkgs[path] = p
	return p
}

// isStd reports whether path is a standard library package.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
