package gomod

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"plugin"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/traefik/yaegi/interp"
)

// Config configures a Loader.
type Config struct {
	// Dir is the notebook's directory (the kernel's working directory);
	// "" is the process's working directory. A go.mod there is the
	// notebook's module.
	Dir string
	// CacheDir holds the workspaces (gomod/) and the plugins (plugins/);
	// "" is ferry/ in os.UserCacheDir.
	CacheDir string
	// Env is the environment of the go command (GOPROXY, GOFLAGS,
	// GONOSUMDB, GOPATH, GOMODCACHE, GOCACHE, ...); nil is os.Environ().
	Env []string
	// Log receives what the go command resolved and what is built, for the
	// cell's output; nil discards it.
	Log io.Writer
	// BuildInfo is the build of the process that loads the plugins; nil
	// is debug.ReadBuildInfo (tests set it).
	BuildInfo *debug.BuildInfo
}

// Loader fetches, builds and loads third-party packages for a kernel
// session. Its methods may be called from one goroutine at a time.
type Loader struct {
	cfg Config

	once    sync.Once
	initErr error
	host    *host
	goBin   string
	dir     string            // the notebook's directory, absolute
	ws      string            // the workspace module's directory
	userMod bool              // dir has a go.mod: requirements are recorded there
	loaded  map[string]string // module path -> version loaded in this process
}

// loaded holds, for the process, the module (module.String()) of each
// non-standard package that a plugin brought: a package is linked once, so
// a later plugin must have the same version of it.
var loaded struct {
	sync.Mutex
	pkgs map[string]string // import path -> module
}

// pinsModule is the module path of the workspace's host pins.
const pinsModule = "ferry.local/kernelpins"

// wsModule is the module path of a workspace.
const wsModule = "ferry.local/notebook"

// formatVersion changes when what a plugin holds changes, to invalidate
// the plugin cache.
const formatVersion = "ferry-gomod-1"

// New returns a Loader; nothing is checked before the first Load or Get.
func New(cfg Config) *Loader {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	return &Loader{cfg: cfg, loaded: map[string]string{}}
}

// init finds the go command, the host's build and the workspace.
func (l *Loader) init() error {
	l.once.Do(func() { l.initErr = l.setup() })
	return l.initErr
}

func (l *Loader) setup() error {
	bi := l.cfg.BuildInfo
	if bi == nil {
		var ok bool
		if bi, ok = debug.ReadBuildInfo(); !ok {
			return errors.New("gomod: the kernel has no build information (built without module support)")
		}
	}
	h, err := hostBuild(bi)
	if err != nil {
		return err
	}
	l.host = h
	dir := l.cfg.Dir
	if dir == "" {
		if dir, err = os.Getwd(); err != nil {
			return fmt.Errorf("gomod: %w", err)
		}
	}
	if l.dir, err = filepath.Abs(dir); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	cache := l.cfg.CacheDir
	if cache == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("gomod: no cache directory: %w", err)
		}
		cache = filepath.Join(c, "ferry")
	}
	l.cfg.CacheDir = cache
	sum := sha256.Sum256([]byte(l.dir))
	l.ws = filepath.Join(cache, "gomod", hex.EncodeToString(sum[:8]))
	_, err = os.Stat(filepath.Join(l.dir, "go.mod"))
	l.userMod = err == nil
	return nil
}

// WorkspaceDir returns the directory of the session's workspace module, where
// the versions are recorded when the notebook's directory has no go.mod.
func (l *Loader) WorkspaceDir() (string, error) {
	if err := l.init(); err != nil {
		return "", err
	}
	return l.ws, nil
}

// goCommand checks that the go command is the Go version of the kernel.
// what names the package or command that needs it, for the error.
func (l *Loader) goCommand(what string) error {
	if l.goBin != "" {
		return nil
	}
	path := "go"
	for _, kv := range l.cfg.Env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = lookPath(p)
		}
	}
	hint := "install it (https://go.dev/dl) or put its bin directory on the kernel's PATH"
	if path == "" {
		return fmt.Errorf("gomod: %s needs the Go toolchain %s on PATH; no go command was found: %s", what, runtime.Version(), hint)
	}
	cmd := exec.Command(path, "env", "GOVERSION")
	cmd.Env = setEnv(l.cfg.Env, "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	v := strings.TrimSpace(string(out))
	if err != nil || v != runtime.Version() {
		if err == nil {
			err = fmt.Errorf("it is %s", v)
		}
		return fmt.Errorf("gomod: %s needs the Go toolchain %s on PATH (the version the kernel was built with); %s: %v; %s", what, runtime.Version(), path, err, hint)
	}
	l.goBin = path
	return nil
}

// lookPath finds go in the directories of the PATH list p.
func lookPath(p string) string {
	for _, d := range filepath.SplitList(p) {
		if d == "" {
			continue
		}
		f := filepath.Join(d, "go")
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return f
		}
	}
	return ""
}

// goRun runs the go command in dir with the host's build environment;
// stderr is returned in the error.
func (l *Loader) goRun(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return l.run(ctx, dir, l.goBin, args...)
}

// run runs bin (the go command, or a program that runs it) in dir with the
// host's build environment.
func (l *Loader) run(ctx context.Context, dir, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	env := setEnv(l.cfg.Env, append([]string{"GOTOOLCHAIN=local", "GOWORK=off", "GO111MODULE=on"}, l.host.env...)...)
	// go/build (the extractor's) runs go list: it must see the workspace's
	// module graph as go list -mod=mod does, and the same go command.
	goflags := "-mod=mod"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok && v != "" {
			goflags = v + " -mod=mod"
		}
	}
	env = setEnv(env, "GOFLAGS="+goflags, "PATH="+filepath.Dir(l.goBin)+string(filepath.ListSeparator)+getEnv(env, "PATH"))
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("%s %s: %s", filepath.Base(bin), args[0], msg)
	}
	if s := stderr.String(); s != "" {
		for _, line := range strings.SplitAfter(s, "\n") {
			// What the go command resolved ("go: added x v1", "go:
			// downloading x v1") is for the user.
			if strings.HasPrefix(line, "go: added ") || strings.HasPrefix(line, "go: upgraded ") || strings.HasPrefix(line, "go: downgraded ") {
				io.WriteString(l.cfg.Log, line)
			}
		}
	}
	return out, nil
}

// lock takes the workspace's lock (other kernels of the same directory
// wait); the returned func releases it.
func (l *Loader) lock() (func(), error) {
	if err := os.MkdirAll(l.ws, 0o755); err != nil {
		return nil, fmt.Errorf("gomod: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(l.ws, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("gomod: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("gomod: lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// goVersionLine is the go directive of generated go.mod files: the
// kernel's Go version.
func goVersionLine() string {
	return strings.TrimPrefix(runtime.Version(), "go")
}

// syncWorkspace writes the host pins and, with a notebook go.mod, the
// workspace's go.mod from it; without one it creates the workspace's go.mod
// on first use.
func (l *Loader) syncWorkspace(ctx context.Context) error {
	pins := filepath.Join(l.ws, "kernelpins")
	if err := os.MkdirAll(pins, 0o755); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	if err := writeIfChanged(filepath.Join(pins, "go.mod"), l.host.pinsGoMod(goVersionLine())); err != nil {
		return err
	}
	gomod := filepath.Join(l.ws, "go.mod")
	head := fmt.Sprintf("// The Go modules of the notebooks in %s (written by the Ferry kernel).\nmodule %s\n\ngo %s\n\nrequire %s v0.0.0\n\nreplace %s => ./kernelpins\n",
		l.dir, wsModule, goVersionLine(), pinsModule, pinsModule)
	if r := l.host.replaces(); r != "" {
		head += "\n" + r + "\n"
	}
	if !l.userMod {
		if _, err := os.Stat(gomod); err == nil {
			return nil
		}
		return writeIfChanged(gomod, head)
	}
	// The notebook's go.mod: its requirements and replacements (paths
	// made absolute), with the pins.
	out, err := l.goRun(ctx, l.dir, "mod", "edit", "-json")
	if err != nil {
		return fmt.Errorf("gomod: reading %s: %w", filepath.Join(l.dir, "go.mod"), err)
	}
	var mf struct {
		Require []struct{ Path, Version string }
		Replace []struct {
			Old, New struct{ Path, Version string }
		}
		Exclude []struct{ Path, Version string }
	}
	if err := json.Unmarshal(out, &mf); err != nil {
		return fmt.Errorf("gomod: reading %s: %w", filepath.Join(l.dir, "go.mod"), err)
	}
	var b strings.Builder
	b.WriteString(head)
	for _, r := range mf.Require {
		fmt.Fprintf(&b, "require %s %s\n", r.Path, r.Version)
	}
	for _, r := range mf.Replace {
		np := r.New.Path
		if r.New.Version == "" && !filepath.IsAbs(np) {
			np = filepath.Join(l.dir, np)
		}
		fmt.Fprintf(&b, "replace %s %s => %s %s\n", r.Old.Path, r.Old.Version, np, r.New.Version)
	}
	for _, x := range mf.Exclude {
		fmt.Fprintf(&b, "exclude %s %s\n", x.Path, x.Version)
	}
	if err := os.WriteFile(gomod, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	// The notebook's checksums help: the workspace's are added to.
	if sum, err := os.ReadFile(filepath.Join(l.dir, "go.sum")); err == nil {
		return mergeSum(filepath.Join(l.ws, "go.sum"), sum)
	}
	return nil
}

// recordDir is where go get records versions: the notebook's module, or
// the workspace.
func (l *Loader) recordDir() string {
	if l.userMod {
		return l.dir
	}
	return l.ws
}

// listed is what Load reads of `go list -json`.
type listed struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Standard   bool
	Module     *struct {
		Path, Version string
		Replace       *struct{ Path, Version string }
	}
	Error *struct{ Err string }
}

func (p *listed) module() module {
	if p.Module == nil {
		return module{}
	}
	m := module{Path: p.Module.Path, Version: p.Module.Version}
	if r := p.Module.Replace; r != nil {
		m.Replace, m.ReplaceVersion = r.Path, r.Version
	}
	return m
}

// list runs go list -json on the packages (with -deps, their dependencies
// too).
func (l *Loader) list(ctx context.Context, deps bool, paths ...string) ([]*listed, error) {
	args := []string{"list", "-mod=mod", "-e", "-json=ImportPath,Name,Dir,GoFiles,Standard,Module,Error"}
	if deps {
		args = append(args, "-deps")
	}
	args = append(args, l.host.flags...)
	out, err := l.goRun(ctx, l.ws, append(args, paths...)...)
	if err != nil {
		return nil, err
	}
	var pkgs []*listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		p := new(listed)
		if err := dec.Decode(p); err != nil {
			return nil, fmt.Errorf("gomod: go list: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// Load makes the packages at importPaths importable: it resolves the modules
// that provide them (go get, recording the versions), builds a plugin with
// their yaegi symbols (or takes it from the cache) and loads it. The
// returned exports are for interp.Interpreter.Use.
func (l *Loader) Load(ctx context.Context, importPaths []string) (interp.Exports, error) {
	paths := slices.Clone(importPaths)
	sort.Strings(paths)
	paths = slices.Compact(paths)
	if len(paths) == 0 {
		return interp.Exports{}, nil
	}
	what := "importing " + strings.Join(paths, ", ")
	if err := l.init(); err != nil {
		return nil, err
	}
	if err := l.goCommand(what); err != nil {
		return nil, err
	}
	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := l.syncWorkspace(ctx); err != nil {
		return nil, err
	}
	if err := l.resolve(ctx, paths); err != nil {
		return nil, err
	}
	pkgs, err := l.list(ctx, true, paths...)
	if err != nil {
		return nil, fmt.Errorf("gomod: %s: %w", what, err)
	}
	key, top, err := l.check(pkgs, paths)
	if err != nil {
		return nil, err
	}
	so := filepath.Join(l.cfg.CacheDir, "plugins", key+".so")
	if _, err := os.Stat(so); err != nil {
		if err := l.build(ctx, key, top, pkgs, so); err != nil {
			return nil, err
		}
	}
	ex, err := openPlugin(so)
	if err != nil {
		return nil, fmt.Errorf("gomod: %s: %w", what, err)
	}
	mods := map[string]bool{}
	for _, p := range top {
		if m := p.module(); m.Path != "" && !mods[m.String()] {
			mods[m.String()] = true
			fmt.Fprintf(l.cfg.Log, "go: using %s\n", m)
		}
	}
	loaded.Lock()
	if loaded.pkgs == nil {
		loaded.pkgs = map[string]string{}
	}
	for _, p := range pkgs {
		if m := p.module(); m.Path != "" {
			l.loaded[m.Path] = m.Version
			loaded.pkgs[p.ImportPath] = m.String()
		}
	}
	loaded.Unlock()
	return ex, nil
}

// Get runs go get with args (module@version, or a package path) in the
// notebook's module (a go.mod in the notebook's directory) or the
// workspace, recording the versions that later imports use. It returns the
// versions selected for the modules named, one a line.
func (l *Loader) Get(ctx context.Context, args []string) (string, error) {
	what := "go get " + strings.Join(args, " ")
	if len(args) == 0 {
		return "", fmt.Errorf("gomod: %s: name a module, e.g. github.com/google/uuid@v1.6.0", what)
	}
	if err := l.init(); err != nil {
		return "", err
	}
	if err := l.goCommand(what); err != nil {
		return "", err
	}
	unlock, err := l.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if err := l.syncWorkspace(ctx); err != nil {
		return "", err
	}
	if err := l.get(ctx, args, what); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		p, _, _ := strings.Cut(a, "@")
		out, err := l.goRun(ctx, l.ws, "list", "-m", "-mod=mod", "-f", "{{.Path}} {{.Version}}", p)
		if err != nil {
			continue // a package path, not a module's
		}
		line := strings.TrimSpace(string(out))
		b.WriteString(line)
		if f := strings.Fields(line); len(f) == 2 {
			if v, ok := l.loaded[f[0]]; ok && v != f[1] {
				fmt.Fprintf(&b, " (%s is loaded in this session: restart the kernel to use %s)", v, f[1])
			}
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "recorded in %s", filepath.Join(l.recordDir(), "go.mod"))
	return b.String(), nil
}

// resolve runs go get for the packages no required module provides, in the
// notebook's module or the workspace; a get that changes the version of a
// module linked into the kernel is undone.
func (l *Loader) resolve(ctx context.Context, paths []string) error {
	pkgs, err := l.list(ctx, false, paths...)
	if err != nil {
		return fmt.Errorf("gomod: importing %s: %w", strings.Join(paths, ", "), err)
	}
	var missing []string
	for _, p := range pkgs {
		if p.Module == nil && !p.Standard {
			missing = append(missing, p.ImportPath)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return l.get(ctx, missing, "importing "+strings.Join(missing, ", "))
}

// get runs go get args in the record directory and re-syncs the workspace;
// it restores go.mod and go.sum when the result conflicts with the kernel.
func (l *Loader) get(ctx context.Context, args []string, what string) error {
	dir := l.recordDir()
	restore := snapshot(filepath.Join(dir, "go.mod"), filepath.Join(dir, "go.sum"))
	if _, err := l.goRun(ctx, dir, append([]string{"get"}, args...)...); err != nil {
		restore()
		return fmt.Errorf("gomod: %s: %w", what, err)
	}
	if err := l.syncWorkspace(ctx); err != nil {
		restore()
		return err
	}
	// A module of the kernel named by the get must stay at the kernel's
	// version (the workspace would silently pick the higher one).
	for _, a := range args {
		p, v, ok := strings.Cut(a, "@")
		m, isHost := l.host.mods[p]
		if !ok || !isHost || v == m.Version || v == "latest" || v == "upgrade" || v == "patch" {
			continue
		}
		out, err := l.goRun(ctx, dir, "list", "-m", "-f", "{{.Version}}", p)
		if err == nil && strings.TrimSpace(string(out)) != m.Version {
			restore()
			_ = l.syncWorkspace(ctx)
			return fmt.Errorf("gomod: %s: the kernel links %s %s and a package is linked once: %s %s cannot be used in this kernel (go.mod left as it was)", what, p, m.Version, p, strings.TrimSpace(string(out)))
		}
	}
	if l.userMod {
		fmt.Fprintf(l.cfg.Log, "go: versions recorded in %s\n", filepath.Join(dir, "go.mod"))
	}
	return nil
}

// check returns the plugin's cache key and the listed packages of paths; it
// fails when a package cannot be loaded or a dependency is not the version
// the kernel links.
func (l *Loader) check(pkgs []*listed, paths []string) (string, []*listed, error) {
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	h := sha256.New()
	fmt.Fprintln(h, formatVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH, l.host.flags, l.host.env, paths)
	var top []*listed
	cacheable := true
	for _, p := range pkgs {
		if p.Error != nil {
			return "", nil, fmt.Errorf("gomod: importing %s: %s", p.ImportPath, strings.TrimSpace(p.Error.Err))
		}
		if want[p.ImportPath] {
			if p.Name == "main" {
				return "", nil, fmt.Errorf("gomod: %s is a command (package main), not a package that can be imported", p.ImportPath)
			}
			top = append(top, p)
		}
		if p.Standard {
			continue
		}
		m := p.module()
		fmt.Fprintln(h, p.ImportPath, m)
		if hm, ok := l.host.mods[m.Path]; ok && (hm.Version != m.Version || hm.Replace != m.Replace || hm.ReplaceVersion != m.ReplaceVersion) {
			return "", nil, fmt.Errorf("gomod: importing %s: it needs %s, and the kernel links %s: a package is linked once in a process (the versions must match; pin %s@%s with %%go get, or rebuild the kernel with the newer version)",
				strings.Join(paths, ", "), m, hm, hm.Path, hm.Version)
		}
		if m.Replace != "" && m.ReplaceVersion == "" {
			cacheable = false // a local directory may change
		}
		loaded.Lock()
		prev, ok := loaded.pkgs[p.ImportPath]
		loaded.Unlock()
		if ok && prev != m.String() {
			return "", nil, fmt.Errorf("gomod: importing %s: it needs %s, and an earlier import in this session loaded %s (for package %s): a package is linked once in a process; restart the kernel to load both with the versions now in go.mod",
				strings.Join(paths, ", "), m, prev, p.ImportPath)
		}
	}
	key := hex.EncodeToString(h.Sum(nil))[:32]
	if !cacheable {
		key = fmt.Sprintf("%s-%d", key[:16], time.Now().UnixNano())
	}
	return key, top, nil
}

// build writes the plugin package of the packages top (deps: them and
// their dependencies) in the workspace and builds it as so.
func (l *Loader) build(ctx context.Context, key string, top, deps []*listed, so string) error {
	start := time.Now()
	var names []string
	for _, p := range top {
		names = append(names, p.ImportPath)
	}
	fmt.Fprintf(l.cfg.Log, "building %s for the kernel (a Go plugin; the first build takes a while)...\n", strings.Join(names, ", "))
	tool, err := l.extractTool(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Join(l.ws, "p"+strings.ReplaceAll(key, "-", ""))
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	defer os.RemoveAll(dir)
	// The symbols of each package, and the stubs of generic functions.
	// The extractor type-checks the packages from source with go/build,
	// which runs go list for each package of a module: it is given a
	// GOPATH of links to the packages' files instead (seconds, not tens).
	gopath := filepath.Join(dir, "gopath")
	if err := linkGOPATH(gopath, deps); err != nil {
		return err
	}
	extract := exec.CommandContext(ctx, tool, append([]string{"-o", dir}, names...)...)
	extract.Dir = l.ws
	extract.Env = setEnv(l.cfg.Env, "GO111MODULE=off", "GOPATH="+gopath, "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local",
		"PATH="+filepath.Dir(l.goBin)+string(filepath.ListSeparator)+getEnv(l.cfg.Env, "PATH"))
	extract.Env = setEnv(extract.Env, l.host.env...)
	if out, err := extract.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("gomod: extracting the symbols of %s: %v: %s", strings.Join(names, ", "), err, bytes.TrimSpace(out))
	}
	if err := os.RemoveAll(gopath); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	generics := map[string][]string{}
	for _, p := range top {
		g, err := genericFuncs(p.Dir, p.GoFiles)
		if err != nil {
			return err
		}
		if len(g) > 0 {
			generics[p.ImportPath+"/"+p.Name] = g
		}
	}
	files := map[string]string{"symbols.go": symbolsMain, "zz_generic.go": genericStubs(generics)}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			return fmt.Errorf("gomod: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(so), 0o755); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", so, os.Getpid())
	args := append([]string{"build", "-buildmode=plugin", "-mod=mod", "-buildvcs=false", "-o", tmp}, l.host.flags...)
	if _, err := l.goRun(ctx, l.ws, append(args, "./"+filepath.Base(dir))...); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("gomod: building the plugin of %s (cgo packages need a C compiler; generic-only packages have nothing to call): %w", strings.Join(names, ", "), err)
	}
	if err := os.Rename(tmp, so); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	fmt.Fprintf(l.cfg.Log, "built in %.1fs (cached in %s)\n", time.Since(start).Seconds(), filepath.Dir(so))
	return nil
}

// linkGOPATH makes gopath a GOPATH where each non-standard package of pkgs
// is a directory of links to the files of its directory.
func linkGOPATH(gopath string, pkgs []*listed) error {
	for _, p := range pkgs {
		if p.Standard || p.Dir == "" {
			continue
		}
		dst := filepath.Join(gopath, "src", filepath.FromSlash(p.ImportPath))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return fmt.Errorf("gomod: %w", err)
		}
		ents, err := os.ReadDir(p.Dir)
		if err != nil {
			return fmt.Errorf("gomod: %w", err)
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			if err := os.Symlink(filepath.Join(p.Dir, e.Name()), filepath.Join(dst, e.Name())); err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("gomod: %w", err)
			}
		}
	}
	return nil
}

// extractTool builds the symbol extractor (once per Go and yaegi version)
// and returns its path.
func (l *Loader) extractTool(ctx context.Context) (string, error) {
	yaegi, ok := l.host.mods["github.com/traefik/yaegi"]
	if !ok {
		return "", errors.New("gomod: the kernel does not link github.com/traefik/yaegi")
	}
	sum := sha256.Sum256([]byte(extractMain))
	bin := filepath.Join(l.cfg.CacheDir, "gomod", "tools", fmt.Sprintf("ferryextract-%s-%s-%s", runtime.Version(), yaegi.Version, hex.EncodeToString(sum[:4])))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	src := filepath.Join(l.ws, "ferryextract")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", fmt.Errorf("gomod: %w", err)
	}
	if err := writeIfChanged(filepath.Join(src, "main.go"), extractMain); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	if _, err := l.goRun(ctx, l.ws, "build", "-mod=mod", "-buildvcs=false", "-o", tmp, "./ferryextract"); err != nil {
		return "", fmt.Errorf("gomod: building the symbol extractor: %w", err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("gomod: %w", err)
	}
	return bin, nil
}

// openPlugin opens the plugin so and returns its symbols.
func openPlugin(so string) (interp.Exports, error) {
	p, err := plugin.Open(so)
	if err != nil {
		return nil, err
	}
	s, err := p.Lookup("Symbols")
	if err != nil {
		return nil, err
	}
	m, ok := s.(*map[string]map[string]reflect.Value)
	if !ok {
		return nil, fmt.Errorf("plugin %s: Symbols is a %T", so, s)
	}
	return interp.Exports(*m), nil
}

// writeIfChanged writes content to name unless it holds it already.
func writeIfChanged(name, content string) error {
	if b, err := os.ReadFile(name); err == nil && string(b) == content {
		return nil
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	return nil
}

// mergeSum adds the lines of sum that the go.sum file name lacks.
func mergeSum(name string, sum []byte) error {
	old, _ := os.ReadFile(name)
	have := map[string]bool{}
	for _, line := range strings.Split(string(old), "\n") {
		have[line] = true
	}
	var add []string
	for _, line := range strings.Split(string(sum), "\n") {
		if line != "" && !have[line] {
			add = append(add, line)
		}
	}
	if len(add) == 0 {
		return nil
	}
	out := string(old)
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return writeIfChanged(name, out+strings.Join(add, "\n")+"\n")
}

// snapshot keeps the content of files and returns a func that puts it back
// (removing those that did not exist).
func snapshot(files ...string) func() {
	saved := map[string][]byte{}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			saved[f] = b
		}
	}
	return func() {
		for _, f := range files {
			if b, ok := saved[f]; ok {
				os.WriteFile(f, b, 0o644)
			} else {
				os.Remove(f)
			}
		}
	}
}

// getEnv returns the value of name in env.
func getEnv(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if s, ok := strings.CutPrefix(kv, name+"="); ok {
			v = s
		}
	}
	return v
}
