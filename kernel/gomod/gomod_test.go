package gomod

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/ferryml/ferry/display"
)

// needGo skips the test without the go command of the test binary's Go
// version (the plugins are built with it) or in -short mode.
func needGo(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("fetches modules and builds plugins")
	}
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil || strings.TrimSpace(string(out)) != runtime.Version() {
		t.Skipf("needs the go command %s: %v %s", runtime.Version(), err, out)
	}
}

// testBuild is the build of the test binary: a test binary records no
// module dependencies, so they are read with go list.
func testBuild(t *testing.T) *debug.BuildInfo {
	t.Helper()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info")
	}
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{with .Replace}} {{.Path}} {{.Version}}{{end}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	c := *bi
	c.Deps = nil
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || seen[f[0]] || f[0] == bi.Main.Path {
			continue
		}
		seen[f[0]] = true
		m := &debug.Module{Path: f[0], Version: f[1]}
		if len(f) >= 3 {
			m.Replace = &debug.Module{Path: f[2]}
			if len(f) == 4 {
				m.Replace.Version = f[3]
			}
		}
		c.Deps = append(c.Deps, m)
	}
	return &c
}

// eval runs src in a fresh interpreter with exs and returns the value of
// the last expression.
func eval(t *testing.T, src string, exs ...interp.Exports) reflect.Value {
	t.Helper()
	i := interp.New(interp.Options{})
	for _, ex := range append([]interp.Exports{stdlib.Symbols}, exs...) {
		if err := i.Use(ex); err != nil {
			t.Fatal(err)
		}
	}
	var v reflect.Value
	for _, chunk := range strings.Split(src, "\n---\n") {
		var err error
		if v, err = i.Eval(chunk); err != nil {
			t.Fatalf("eval %q: %v", chunk, err)
		}
	}
	return v
}

func TestLoadUUID(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	cache := t.TempDir()
	var log bytes.Buffer
	l := New(Config{Dir: t.TempDir(), CacheDir: cache, Log: &log, BuildInfo: testBuild(t)})
	start := time.Now()
	ex, err := l.Load(ctx, []string{"github.com/google/uuid"})
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, log.String())
	}
	t.Logf("cold: %v\n%s", time.Since(start), log.String())
	if _, ok := ex["github.com/google/uuid/uuid"]["NewSHA1"]; !ok {
		t.Fatalf("no uuid.NewSHA1 in %v", keys(ex))
	}
	v := eval(t, `import "fmt"
---
import "github.com/google/uuid"
---
u := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://go.dev"))
---
fmt.Sprint(u.Version(), " ", len(u.String()))`, ex)
	if got, want := v.String(), "VERSION_5 36"; got != want {
		t.Errorf("uuid.NewSHA1: got %s, want %s", got, want)
	}
	if !strings.Contains(log.String(), "go: using github.com/google/uuid v1.6.0") {
		t.Errorf("log does not name the version:\n%s", log.String())
	}

	// Another loader (a restarted kernel) takes the plugin from the cache.
	log.Reset()
	start = time.Now()
	l2 := New(Config{Dir: l.cfg.Dir, CacheDir: cache, Log: &log, BuildInfo: l.cfg.BuildInfo})
	if _, err := l2.Load(ctx, []string{"github.com/google/uuid"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("warm: %v\n%s", time.Since(start), log.String())
	if strings.Contains(log.String(), "building") {
		t.Errorf("second load rebuilt the plugin:\n%s", log.String())
	}
}

func keys(ex interp.Exports) []string {
	var ks []string
	for k := range ex {
		ks = append(ks, k)
	}
	return ks
}

// fakeHost is a build that claims to link module path at version.
func fakeHost(t *testing.T, path, version string) *debug.BuildInfo {
	bi := *testBuild(t)
	bi.Deps = append([]*debug.Module{{Path: path, Version: version}}, bi.Deps...)
	return &bi
}

func TestVersionConflicts(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	// The kernel "links" uuid v1.5.0: v1.6.0 cannot be used with it.
	bi := fakeHost(t, "github.com/google/uuid", "v1.5.0")

	t.Run("go get", func(t *testing.T) {
		l := New(Config{Dir: t.TempDir(), CacheDir: t.TempDir(), BuildInfo: bi})
		_, err := l.Get(ctx, []string{"github.com/google/uuid@v1.6.0"})
		if err == nil || !strings.Contains(err.Error(), "github.com/google/uuid v1.5.0") || !strings.Contains(err.Error(), "v1.6.0") {
			t.Fatalf("got %v, want an error naming v1.5.0 and v1.6.0", err)
		}
		ws, _ := l.WorkspaceDir()
		b, _ := os.ReadFile(filepath.Join(ws, "go.mod"))
		if strings.Contains(string(b), "uuid") {
			t.Errorf("go.mod kept the refused version:\n%s", b)
		}
	})
	t.Run("notebook go.mod", func(t *testing.T) {
		dir := t.TempDir()
		gomod := "module example.com/nb\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n"
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		l := New(Config{Dir: dir, CacheDir: t.TempDir(), BuildInfo: bi})
		_, err := l.Load(ctx, []string{"github.com/google/uuid"})
		if err == nil || !strings.Contains(err.Error(), "github.com/google/uuid v1.6.0") || !strings.Contains(err.Error(), "links github.com/google/uuid v1.5.0") {
			t.Fatalf("got %v, want an error naming both versions", err)
		}
	})
}

func TestNotebookGoMod(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/nb\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	l := New(Config{Dir: dir, CacheDir: t.TempDir(), BuildInfo: testBuild(t), Log: &log})
	out, err := l.Get(ctx, []string{"github.com/montanaflynn/stats@v0.14.0"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "github.com/montanaflynn/stats v0.14.0\nrecorded in " + filepath.Join(dir, "go.mod"); out != want {
		t.Errorf("Get = %q, want %q", out, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(b), "github.com/montanaflynn/stats v0.14.0") {
		t.Errorf("the notebook's go.mod does not record the version:\n%s", b)
	}
	ex, err := l.Load(ctx, []string{"github.com/montanaflynn/stats"})
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, log.String())
	}
	v := eval(t, `import "github.com/montanaflynn/stats"
---
m, _ := stats.Median([]float64{3, 1, 2, 10})
---
m`, ex)
	if got := v.Interface(); got != 2.5 {
		t.Errorf("stats.Median = %v, want 2.5", got)
	}
	if !strings.Contains(log.String(), "go: using github.com/montanaflynn/stats v0.14.0") {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestGenericFunction(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	l := New(Config{Dir: t.TempDir(), CacheDir: t.TempDir(), BuildInfo: testBuild(t)})
	// golang.org/x/text at the version the plot test uses: a package is
	// linked once in the test process.
	if _, err := l.Get(ctx, []string{"github.com/samber/lo@v1.53.0", "golang.org/x/text@v0.28.0"}); err != nil {
		t.Fatal(err)
	}
	ex, err := l.Load(ctx, []string{"github.com/samber/lo"})
	if err != nil {
		t.Fatal(err)
	}
	i := interp.New(interp.Options{})
	for _, e := range []interp.Exports{stdlib.Symbols, ex} {
		if err := i.Use(e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := i.Eval(`import "github.com/samber/lo"`); err != nil {
		t.Fatal(err)
	}
	// A generic function: a clear error, not a wrong answer.
	_, err = i.Eval(`lo.Uniq([]int{1, 1, 2})`)
	if err == nil || !strings.Contains(err.Error(), "lo.Uniq is a generic function") {
		t.Errorf("calling lo.Uniq: got %v, want the generic function error", err)
	}
}

func TestLoadedVersionConflict(t *testing.T) {
	loaded.Lock()
	if loaded.pkgs == nil {
		loaded.pkgs = map[string]string{}
	}
	loaded.pkgs["example.com/dep/sub"] = "example.com/dep v1.0.0"
	loaded.Unlock()
	defer func() {
		loaded.Lock()
		delete(loaded.pkgs, "example.com/dep/sub")
		loaded.Unlock()
	}()
	l := New(Config{})
	l.host = &host{mods: map[string]module{}}
	dep := &listed{ImportPath: "example.com/dep/sub", Name: "sub"}
	dep.Module = &struct {
		Path, Version string
		Replace       *struct{ Path, Version string }
	}{Path: "example.com/dep", Version: "v1.2.0"}
	top := &listed{ImportPath: "example.com/top", Name: "top", Module: dep.Module}
	_, _, err := l.check([]*listed{dep, top}, []string{"example.com/top"})
	if err == nil || !strings.Contains(err.Error(), "needs example.com/dep v1.2.0, and an earlier import in this session loaded example.com/dep v1.0.0") {
		t.Errorf("got %v, want the conflict with the loaded version", err)
	}
}

func TestLoadPlotDisplays(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	var log bytes.Buffer
	l := New(Config{Dir: t.TempDir(), CacheDir: t.TempDir(), BuildInfo: testBuild(t), Log: &log})
	if _, err := l.Get(ctx, []string{"gonum.org/v1/plot@v0.17.0"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ex, err := l.Load(ctx, []string{"gonum.org/v1/plot", "gonum.org/v1/plot/plotter"})
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, log.String())
	}
	t.Logf("plot: %v\n%s", time.Since(start), log.String())
	v := eval(t, `import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)
---
p := plot.New()
---
line, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 2}, {X: 2, Y: 1}})
---
p.Add(line)
---
p`, ex)
	data, md := display.MIMEBundle(v.Interface())
	if _, ok := data["image/png"]; !ok {
		t.Fatalf("a *plot.Plot is displayed as %v", data)
	}
	if got, want := fmt.Sprint(md["image/png"]), "map[height:384 width:576]"; got != want {
		t.Errorf("image metadata %s, want %s", got, want)
	}
}

func TestNoGoCommand(t *testing.T) {
	l := New(Config{Dir: t.TempDir(), CacheDir: t.TempDir(), Env: []string{"PATH=" + t.TempDir()}})
	_, err := l.Load(context.Background(), []string{"github.com/google/uuid"})
	want := "importing github.com/google/uuid needs the Go toolchain " + runtime.Version() + " on PATH"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
}
