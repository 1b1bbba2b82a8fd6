package goeval

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"plugin"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/ferryml/ferry/kernel/gomod"
)

// A declaration chunk whose functions, methods and types need nothing of
// the session but constants and standard packages is compiled by the Go
// toolchain into a plugin: its code runs at native speed with the whole
// language, and its types are real Go types (their names, methods, fields
// and tags seen by fmt, encoding/json and reflect as in a Go program).
// Later cells reach its declarations through the plugin's symbols, which
// also give access to unexported fields and methods (see rewrite.go).
// Without a toolchain of the kernel's Go version, chunks are interpreted.

// compiler builds plugins with the host's toolchain and build settings.
type compiler struct {
	gocmd string
	dir   string   // build workspace
	env   []string // environment of go build
	flags []string // build flags matching the kernel's
	seq   int
}

var (
	compilerOnce sync.Once
	hostCompiler *compiler
	compilerWhy  error
)

// theCompiler returns the process's compiler, or why there is none.
func theCompiler() (*compiler, error) {
	compilerOnce.Do(func() { hostCompiler, compilerWhy = newCompiler() })
	return hostCompiler, compilerWhy
}

func newCompiler() (*compiler, error) {
	if os.Getenv("FERRY_GO_COMPILE") == "0" {
		return nil, errors.New("disabled by FERRY_GO_COMPILE=0")
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("no go command on PATH")
	}
	out, err := exec.Command(gocmd, "env", "GOVERSION").Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	if v := strings.TrimSpace(string(out)); v != runtime.Version() {
		return nil, fmt.Errorf("the go command is %s, the kernel was built with %s", v, runtime.Version())
	}
	flags, env, err := gomod.PluginBuild()
	if err != nil {
		return nil, err
	}
	if !slices.Contains(env, "CGO_ENABLED=1") {
		return nil, errors.New("the kernel was built without cgo, which Go plugins need")
	}
	c := &compiler{gocmd: gocmd, flags: flags, env: append([]string{"GOFLAGS=", "GOWORK=off", "GO111MODULE=on", "GOTOOLCHAIN=local"}, env...)}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	c.dir = filepath.Join(base, "ferry", "cells")
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, err
	}
	return c, nil
}

// symbolsType is the type of the Symbols variable of a cell plugin.
type symbolsType = map[string]map[string]reflect.Value

// build compiles the package made of files (name -> source) as a plugin,
// loads it and returns its Symbols.
func (c *compiler) build(ctx context.Context, files map[string]string) (symbolsType, error) {
	h := sha256.New()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", n, files[n])
	}
	fmt.Fprintf(h, "%q", c.flags)
	sum := hex.EncodeToString(h.Sum(nil))[:20]
	dir := filepath.Join(c.dir, sum)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	if i := strings.IndexAny(goVersion, " -"); i >= 0 {
		goVersion = goVersion[:i]
	}
	files["go.mod"] = "module ferrycells\n\ngo " + goVersion + "\n"
	for n, src := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(src), 0o600); err != nil {
			return nil, err
		}
	}
	c.seq++
	out := filepath.Join(dir, fmt.Sprintf("cell-%d-%d.so", os.Getpid(), c.seq))
	// The plugin's path comes from its content, which names the import
	// path the interpreter gives it: unique in the process.
	args := append([]string{"build", "-buildmode=plugin"}, c.flags...)
	args = append(args, "-o", out, ".")
	cmd := exec.CommandContext(ctx, c.gocmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), c.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	defer os.Remove(out)
	p, err := plugin.Open(out)
	if err != nil {
		return nil, fmt.Errorf("loading the cell plugin: %w", err)
	}
	sym, err := p.Lookup("Symbols")
	if err != nil {
		return nil, err
	}
	m, ok := sym.(*symbolsType)
	if !ok {
		return nil, fmt.Errorf("cell plugin: Symbols is %T", sym)
	}
	slog.Debug("goeval: compiled a declaration chunk", "dir", dir)
	return *m, nil
}
