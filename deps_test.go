package ferry_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// The layering of docs/architecture.md, enforced on the packages' non-test
// imports (tests may reach up to drive real components). A package may
// import its own layer and the layers below it, with the exceptions the
// rules below name.

const module = "github.com/ferryml/ferry"

// layers lists, lowest first, the path prefixes (relative to the module,
// "" for the root package) of each layer. A new domain goes into
// "domains".
var layers = []struct {
	name     string
	prefixes []string
}{
	{"ground", []string{"", "display", "wire", "internal/"}},
	{"controlplane", []string{"controlplane"}},
	{"storage", []string{"storage"}},
	{"domains", []string{"jobs", "tuning", "registry", "serving", "pipelines", "etl", "features"}},
	{"notebook", []string{"kernel", "widgets", "notebookd"}},
	{"magics", []string{"magics"}},
	{"commands", []string{"cmd", "bench"}},
}

// pkg is what the rules read of `go list -json`.
type pkg struct {
	ImportPath string
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test (only for -deps listings)
}

// rel returns p relative to the module ("" for the root package), and
// whether it is in the module.
func rel(p string) (string, bool) {
	if p == module {
		return "", true
	}
	r, ok := strings.CutPrefix(p, module+"/")
	return r, ok
}

// under reports whether the module-relative path r is prefix or below it.
func under(r, prefix string) bool {
	switch {
	case prefix == "":
		return r == ""
	case strings.HasSuffix(prefix, "/"):
		return strings.HasPrefix(r, prefix)
	}
	return r == prefix || strings.HasPrefix(r, prefix+"/")
}

// layerOf returns the index of r's layer, -1 when it has none.
func layerOf(r string) int {
	for i, l := range layers {
		for _, p := range l.prefixes {
			if under(r, p) {
				return i
			}
		}
	}
	return -1
}

// isAPI reports whether the module-relative package r is a domain's
// control-plane API (jobs/jobsapi, storage/trackingapi): it sees the
// contracts, never a backend or a session.
func isAPI(r string) bool {
	return strings.HasSuffix(path.Base(r), "api") && strings.Contains(r, "/") &&
		(layers[layerOf(r)].name == "domains" || layers[layerOf(r)].name == "storage")
}

// checkImports returns a line for each direct import that breaks a rule.
func checkImports(pkgs []pkg) []string {
	var bad []string
	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		lf := layerOf(from)
		if lf < 0 {
			bad = append(bad, fmt.Sprintf("%s is in no layer: add its prefix to a layer of docs/architecture.md and deps_test.go", p.ImportPath))
			continue
		}
		for _, imp := range p.Imports {
			to, ok := rel(imp)
			if !ok {
				continue
			}
			lt := layerOf(to)
			switch {
			case lt > lf:
				bad = append(bad, fmt.Sprintf("%s (%s) imports %s (%s): a package never imports upward", p.ImportPath, layers[lf].name, imp, layers[lt].name))
			case under(to, "magics") && !under(from, "magics") && !under(from, "cmd/ferry-kernel"):
				bad = append(bad, fmt.Sprintf("%s imports the magic %s: magics only parse; put what it needs beside its domain", p.ImportPath, imp))
			case under(to, "cmd") && !under(from, "cmd"):
				bad = append(bad, fmt.Sprintf("%s imports the command package %s", p.ImportPath, imp))
			case under(from, "kernel") && under(to, "notebookd"), under(from, "notebookd") && under(to, "kernel"):
				bad = append(bad, fmt.Sprintf("%s imports %s: kernel and notebookd never import each other (they share package wire)", p.ImportPath, imp))
			case isAPI(from) && strings.Contains(to, "/") && !under(to, "internal/"):
				bad = append(bad, fmt.Sprintf("%s imports %s: an API package imports only contracts (top-level packages), never a backend", p.ImportPath, imp))
			}
		}
	}
	return bad
}

// checkDeps returns a line for each forbidden transitive dependency of the
// listed packages: the kernel links no Kubernetes client, the server no
// interpreter or DuckDB, kernel and notebookd not each other.
func checkDeps(pkgs []pkg) []string {
	forbidden := []struct {
		from  string // a module-relative package and the packages below it
		only  bool   // from itself only
		dep   string // an import path prefix
		allow string // an import path prefix allowed within dep
		why   string
	}{
		{from: "kernel", dep: "k8s.io/", why: "the kernel reaches the cluster through the control plane"},
		{from: "cmd/ferry-kernel", dep: "k8s.io/", why: "the kernel reaches the cluster through the control plane"},
		{from: "kernel", dep: module + "/notebookd", why: "kernel and notebookd never import each other"},
		{from: "notebookd", dep: module + "/kernel", why: "kernel and notebookd never import each other"},
		{from: "cmd/ferry", only: true, dep: "github.com/traefik/yaegi", why: "the server and CLI stay small: cells run in ferry-kernel"},
		{from: "cmd/ferry", only: true, dep: "github.com/duckdb/", why: "the server and CLI stay small: DuckDB runs in ferry-kernel"},
		{from: "controlplane", dep: module + "/", allow: module + "/controlplane", why: "the control plane's plumbing knows no domain"},
	}
	var bad []string
	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		for _, f := range forbidden {
			if f.only && from != f.from || !under(from, f.from) {
				continue
			}
			for _, d := range p.Deps {
				if strings.HasPrefix(d, f.dep) && (f.allow == "" || !strings.HasPrefix(d, f.allow)) {
					bad = append(bad, fmt.Sprintf("%s links %s: %s", p.ImportPath, d, f.why))
					break
				}
			}
		}
	}
	return bad
}

// goList runs go list -json with args and decodes its packages.
func goList(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"list", "-json=ImportPath,Imports,Deps"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestDeps checks the module's packages against the layering.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	pkgs := goList(t, "./...")
	if len(pkgs) < 30 {
		t.Fatalf("go list ./... listed %d packages, want the module's", len(pkgs))
	}
	for _, b := range checkImports(pkgs) {
		t.Error(b)
	}
	for _, b := range checkDeps(pkgs) {
		t.Error(b)
	}
}

// TestRules shows that each rule fires.
func TestRules(t *testing.T) {
	m := func(r string) string {
		if r == "" {
			return module
		}
		return module + "/" + r
	}
	tests := []struct {
		name string
		pkgs []pkg
		want string // in the one complaint; "" for none
	}{
		{"downward", []pkg{{ImportPath: m("jobs/local"), Imports: []string{m("jobs"), m("storage"), m(""), "os"}}}, ""},
		{"upward", []pkg{{ImportPath: m("storage/data"), Imports: []string{m("kernel")}}}, "never imports upward"},
		{"no layer", []pkg{{ImportPath: m("newthing")}}, "is in no layer"},
		{"magic", []pkg{{ImportPath: m("cmd/ferry"), Imports: []string{m("magics/train")}}}, "imports the magic"},
		{"magic in the kernel binary", []pkg{{ImportPath: m("cmd/ferry-kernel"), Imports: []string{m("magics/train")}}}, ""},
		{"command", []pkg{{ImportPath: m("bench/data"), Imports: []string{m("cmd/ferry-kernel/symbols")}}}, "imports the command package"},
		{"kernel to notebookd", []pkg{{ImportPath: m("notebookd/kernels"), Imports: []string{m("kernel")}}}, "never import each other"},
		{"api to backend", []pkg{{ImportPath: m("jobs/jobsapi"), Imports: []string{m("jobs/local")}}}, "never a backend"},
		{"api to contract", []pkg{{ImportPath: m("jobs/jobsapi"), Imports: []string{m("jobs"), m("controlplane"), m("")}}}, ""},
		{"tracking api to backend", []pkg{{ImportPath: m("storage/trackingapi"), Imports: []string{m("storage/sqldb")}}}, "never a backend"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := checkImports(tc.pkgs)
			if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)) {
				t.Errorf("checkImports = %q, want one complaint with %q", got, tc.want)
			}
		})
	}
	deps := []struct {
		name string
		p    pkg
		want string
	}{
		{"kernel links client-go", pkg{ImportPath: m("cmd/ferry-kernel"), Deps: []string{"k8s.io/client-go/dynamic"}}, "the kernel reaches the cluster"},
		{"server links yaegi", pkg{ImportPath: m("cmd/ferry"), Deps: []string{"github.com/traefik/yaegi/interp"}}, "the server and CLI stay small"},
		{"notebookd links kernel", pkg{ImportPath: m("notebookd/kernels"), Deps: []string{m("kernel")}}, "never import each other"},
		{"control plane links a domain", pkg{ImportPath: m("controlplane"), Deps: []string{m(""), m("jobs")}}, "knows no domain"},
		{"control plane links the root", pkg{ImportPath: m("controlplane"), Deps: []string{m(""), "net/http"}}, ""},
	}
	for _, tc := range deps {
		t.Run(tc.name, func(t *testing.T) {
			got := checkDeps([]pkg{tc.p})
			if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)) {
				t.Errorf("checkDeps = %q, want one complaint with %q", got, tc.want)
			}
		})
	}
}

// TestDepsListing makes sure go list gives transitive dependencies: a
// rule over an empty Deps list could never fail.
func TestDepsListing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	pkgs := goList(t, "./cmd/ferry")
	i := slices.IndexFunc(pkgs, func(p pkg) bool { return p.ImportPath == module+"/cmd/ferry" })
	if i < 0 || !slices.Contains(pkgs[i].Deps, module+"/notebookd") {
		t.Fatalf("go list ./cmd/ferry: no Deps with notebookd in %v", pkgs)
	}
}
