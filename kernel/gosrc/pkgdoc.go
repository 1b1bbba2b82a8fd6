package gosrc

import (
	"bufio"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// PackageDoc returns the documentation of name (an exported symbol, or "" for
// the package itself) in the package importPath, read from GOROOT sources
// (or the module cache for module paths) when present.
//
// The pseudo-package "builtin" documents Go's predeclared identifiers
// ("len", "int", "nil", ...).
//
// name is a constant, variable, function or type name, or a method "T.M"
// (also accepted as "(*T).M" or "*T.M"). The Signature of a function or
// method is its declaration without body; of a type, its declaration with
// unexported fields and methods filtered out; of a constant or variable, its
// spec (with the whole group for the implicit specs of iota groups). Source is
// the full declaration text. For name "" the Doc holds the package clause and
// the package comment.
//
// Standard-library packages are read from GOROOT/src. Other paths are looked up
// in the module cache (GOMODCACHE) as <module>@<version>/<subdir>, preferring
// the version required by the go.mod of the working directory and otherwise
// the highest cached version. Each package is parsed once (files selected by
// go/build for the current GOOS and GOARCH, _test.go files skipped) and kept
// in a cache, so repeated calls are cheap. A package that cannot be found is
// not cached, so it is looked up again on the next call.
func PackageDoc(importPath, name string) (Doc, bool) {
	importPath = strings.Trim(strings.TrimSpace(importPath), `"`)
	if importPath == "" {
		return Doc{}, false
	}
	p := loadPackage(importPath)
	if p == nil {
		return Doc{}, false
	}
	name = normalizeName(name)
	if name == "" {
		return p.pkgDoc, true
	}
	sym := p.syms[name]
	if sym == nil {
		return Doc{}, false
	}
	sym.once.Do(func() { sym.doc = sym.build() })
	return sym.doc, true
}

// pkgInfo is a parsed, indexed package.
type pkgInfo struct {
	pkgDoc Doc
	syms   map[string]*symbol // by "Name" or "Type.Method"
}

// symbol is one documented symbol; its Doc is built on first use.
type symbol struct {
	once  sync.Once
	build func() Doc
	doc   Doc
}

var (
	pkgMu    sync.Mutex
	pkgCache = map[string]*pkgInfo{}
)

// loadPackage returns the cached package importPath, parsing it on first use,
// or nil when it cannot be found or parsed.
func loadPackage(importPath string) *pkgInfo {
	pkgMu.Lock()
	p := pkgCache[importPath]
	pkgMu.Unlock()
	if p != nil {
		return p
	}
	dir := packageDir(importPath)
	if dir == "" {
		return nil
	}
	p = parsePackage(importPath, dir)
	if p == nil {
		return nil
	}
	pkgMu.Lock()
	defer pkgMu.Unlock()
	if q := pkgCache[importPath]; q != nil {
		return q // loaded concurrently: keep the first
	}
	pkgCache[importPath] = p
	return p
}

// parsePackage parses and indexes the package in dir.
func parsePackage(importPath, dir string) *pkgInfo {
	names := goFiles(dir)
	if len(names) == 0 {
		return nil
	}
	fset := token.NewFileSet()
	var (
		files   []*ast.File
		pkgName string
	)
	srcs := map[*token.File][]byte{}
	for _, n := range names {
		src, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil && f == nil {
			continue
		}
		if pkgName == "" {
			pkgName = f.Name.Name
		}
		if f.Name.Name != pkgName {
			continue
		}
		files = append(files, f)
		srcs[fset.File(f.Pos())] = src
	}
	if len(files) == 0 {
		return nil
	}
	mode := doc.PreserveAST
	if importPath == "builtin" {
		mode |= doc.AllDecls // its documented names (len, int, nil, …) are lower-case
	}
	dp, err := doc.NewFromFiles(fset, files, importPath, mode)
	if err != nil {
		return nil
	}
	text := func(pos, end token.Pos) string {
		tf := fset.File(pos)
		return sourceText(tf, srcs[tf], pos, end)
	}
	p := &pkgInfo{
		pkgDoc: Doc{
			Name:      importPath,
			Signature: "package " + dp.Name,
			Text:      dp.Doc,
		},
		syms: map[string]*symbol{},
	}
	add := func(key string, build func() Doc) {
		if _, dup := p.syms[key]; !dup {
			p.syms[key] = &symbol{build: build}
		}
	}
	addFunc := func(key string, f *doc.Func) {
		add(key, func() Doc {
			return Doc{
				Name:      dp.Name + "." + key,
				Signature: funcSignature(fset, f.Decl),
				Text:      f.Doc,
				Source:    text(f.Decl.Pos(), f.Decl.End()),
			}
		})
	}
	addValues := func(vs []*doc.Value) {
		for _, v := range vs {
			for _, spec := range v.Decl.Specs {
				vspec, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for _, id := range vspec.Names {
					if id.Name == "_" {
						continue
					}
					add(id.Name, func() Doc {
						d := Doc{
							Name:      dp.Name + "." + id.Name,
							Signature: specSignature(fset, v.Decl, vspec),
							Text:      vspec.Doc.Text(),
							Source:    text(v.Decl.Pos(), v.Decl.End()),
						}
						if d.Text == "" {
							d.Text = v.Doc
						}
						return d
					})
				}
			}
		}
	}
	addValues(dp.Consts)
	addValues(dp.Vars)
	for _, f := range dp.Funcs {
		addFunc(f.Name, f)
	}
	for _, t := range dp.Types {
		addValues(t.Consts)
		addValues(t.Vars)
		for _, f := range t.Funcs {
			addFunc(f.Name, f)
		}
		for _, m := range t.Methods {
			addFunc(t.Name+"."+m.Name, m)
		}
		var spec *ast.TypeSpec
		for _, s := range t.Decl.Specs {
			if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.Name == t.Name {
				spec = ts
			}
		}
		if spec == nil {
			continue
		}
		add(t.Name, func() Doc {
			src := text(t.Decl.Pos(), t.Decl.End())
			if t.Decl.Lparen.IsValid() {
				src = "type " + text(spec.Pos(), spec.End())
			}
			return Doc{
				Name:      dp.Name + "." + t.Name,
				Signature: specSignature(fset, t.Decl, spec),
				Text:      t.Doc,
				Source:    src,
			}
		})
	}
	return p
}

// goFiles returns the non-test Go files of dir that build for the current
// GOOS and GOARCH, or all of its non-test Go files when go/build selects none.
func goFiles(dir string) []string {
	if bp, err := build.Default.ImportDir(dir, 0); err == nil || len(bp.GoFiles)+len(bp.CgoFiles) > 0 {
		if names := append(bp.GoFiles, bp.CgoFiles...); len(names) > 0 {
			return names
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			names = append(names, n)
		}
	}
	return names
}

// packageDir returns the source directory of importPath, or "".
func packageDir(importPath string) string {
	if filepath.IsAbs(importPath) || strings.HasPrefix(importPath, ".") || strings.Contains(importPath, `\`) {
		return ""
	}
	first, _, _ := strings.Cut(importPath, "/")
	if !strings.Contains(first, ".") {
		if root := goroot(); root != "" {
			if dir := filepath.Join(root, "src", filepath.FromSlash(importPath)); isDir(dir) {
				return dir
			}
		}
		return ""
	}
	return moduleDir(importPath)
}

func isDir(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

var (
	gorootOnce sync.Once
	gorootDir  string
	modOnce    sync.Once
	modDir     string
)

// goroot returns the Go root directory, from $GOROOT, go/build's default or
// "go env GOROOT".
func goroot() string {
	gorootOnce.Do(func() {
		for _, d := range []string{os.Getenv("GOROOT"), build.Default.GOROOT} {
			if d != "" && isDir(filepath.Join(d, "src", "fmt")) {
				gorootDir = d
				return
			}
		}
		if d := goEnv("GOROOT"); d != "" && isDir(filepath.Join(d, "src", "fmt")) {
			gorootDir = d
		}
	})
	return gorootDir
}

// modCache returns the module cache directory, from $GOMODCACHE,
// "go env GOMODCACHE" or $GOPATH/pkg/mod.
func modCache() string {
	modOnce.Do(func() {
		if d := os.Getenv("GOMODCACHE"); d != "" {
			modDir = d
			return
		}
		if d := goEnv("GOMODCACHE"); d != "" {
			modDir = d
			return
		}
		gopath := build.Default.GOPATH
		if gp, _, _ := strings.Cut(gopath, string(os.PathListSeparator)); gp != "" {
			modDir = filepath.Join(gp, "pkg", "mod")
		}
	})
	return modDir
}

// goEnv runs "go env key", returning "" on failure.
func goEnv(key string) string {
	goCmd := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); isDir(filepath.Dir(p)) {
			goCmd = p
		}
	}
	out, err := exec.Command(goCmd, "env", key).Output()
	if err != nil && goCmd != "go" {
		out, err = exec.Command("go", "env", key).Output()
	}
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// moduleDir finds importPath in the module cache: it tries each prefix of the
// path, longest first, as a module path.
func moduleDir(importPath string) string {
	cache := modCache()
	if cache == "" {
		return ""
	}
	parts := strings.Split(importPath, "/")
	for i := len(parts); i >= 1; i-- {
		mod := strings.Join(parts[:i], "/")
		esc, ok := escapeModPath(mod)
		if !ok {
			return ""
		}
		parent, base := filepath.Split(filepath.FromSlash(esc))
		entries, err := os.ReadDir(filepath.Join(cache, parent))
		if err != nil {
			continue
		}
		var versions []string
		for _, e := range entries {
			if v, ok := strings.CutPrefix(e.Name(), base+"@"); ok && e.IsDir() {
				versions = append(versions, v)
			}
		}
		if len(versions) == 0 {
			continue
		}
		want := requiredVersion(mod)
		best := ""
		for _, v := range versions {
			if v == want {
				best = v
				break
			}
			if best == "" || compareVersions(v, best) > 0 {
				best = v
			}
		}
		dir := filepath.Join(cache, parent, base+"@"+best, filepath.FromSlash(strings.Join(parts[i:], "/")))
		if isDir(dir) {
			return dir
		}
	}
	return ""
}

// escapeModPath applies the module cache's case encoding: each upper-case
// letter becomes '!' followed by its lower-case form.
func escapeModPath(p string) (string, bool) {
	var b strings.Builder
	for _, r := range p {
		if r == '!' || r >= utf8RuneSelf {
			return "", false
		}
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String(), true
}

const utf8RuneSelf = 0x80

// requiredVersion returns the version of module mod required by the go.mod
// of the working directory or its nearest parent holding one, or "".
func requiredVersion(mod string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				fields := strings.Fields(sc.Text())
				if len(fields) > 0 && fields[0] == "require" {
					fields = fields[1:]
				}
				if len(fields) >= 2 && fields[1] != "=>" && strings.Trim(fields[0], `"`) == mod {
					return fields[1]
				}
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// compareVersions compares two semantic versions ("v1.2.3-pre+meta") and
// returns -1, 0 or +1; it is lenient with malformed versions.
func compareVersions(a, b string) int {
	pa, pb := parseVersion(a), parseVersion(b)
	for i := range 3 {
		if pa.nums[i] != pb.nums[i] {
			if pa.nums[i] < pb.nums[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case pa.pre == pb.pre:
		return strings.Compare(a, b)
	case pa.pre == "":
		return 1
	case pb.pre == "":
		return -1
	}
	return strings.Compare(pa.pre, pb.pre)
}

type version struct {
	nums [3]int
	pre  string
}

func parseVersion(v string) version {
	v = strings.TrimPrefix(v, "v")
	v, _, _ = strings.Cut(v, "+")
	v, pre, _ := strings.Cut(v, "-")
	var out version
	out.pre = pre
	for i, s := range strings.SplitN(v, ".", 3) {
		out.nums[i], _ = strconv.Atoi(s)
	}
	return out
}
