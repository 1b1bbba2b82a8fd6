package kernels

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ferryml/ferry/notebookd"
)

// defaultSpecDirs is Jupyter's data path order, each with "/kernels".
func defaultSpecDirs() []string {
	var dirs []string
	for _, d := range notebookd.JupyterDataDirs() {
		dirs = append(dirs, filepath.Join(d, "kernels"))
	}
	return dirs
}

// specResources are the files of a kernelspec directory that are served,
// besides logo-* images.
var specResources = []string{"kernel.js", "kernel.css"}

// findSpecs reads every <dir>/<name>/kernel.json; the first dir wins per name.
func (m *Manager) findSpecs() map[string]*notebookd.KernelSpec {
	specs := map[string]*notebookd.KernelSpec{}
	for _, dir := range m.specDirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if _, ok := specs[name]; ok || !validSpecName(name) {
				continue
			}
			sd := filepath.Join(dir, name)
			b, err := os.ReadFile(filepath.Join(sd, "kernel.json"))
			if err != nil {
				continue
			}
			var spec map[string]any
			if err := json.Unmarshal(b, &spec); err != nil {
				m.log.Warn("kernelspec: kernel.json is not valid JSON; skipped", "dir", sd, "err", err)
				continue
			}
			if argv, _ := spec["argv"].([]any); len(argv) == 0 {
				m.log.Warn("kernelspec: kernel.json has no argv; skipped", "dir", sd)
				continue
			}
			ks := &notebookd.KernelSpec{Name: name, Spec: spec, Resources: map[string]string{}, Dir: sd}
			files, _ := os.ReadDir(sd)
			for _, f := range files {
				fn := f.Name()
				if f.IsDir() {
					continue
				}
				switch {
				case strings.HasPrefix(fn, "logo-"):
					ks.Resources[strings.TrimSuffix(fn, filepath.Ext(fn))] = "/kernelspecs/" + name + "/" + fn
				case fn == "kernel.js" || fn == "kernel.css":
					ks.Resources[fn] = "/kernelspecs/" + name + "/" + fn
				}
			}
			specs[name] = ks
		}
	}
	return specs
}

func validSpecName(name string) bool {
	if name == "" || strings.HasPrefix(name, ".") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Specs returns the kernelspecs (read afresh from disk) and the default name:
// Options.DefaultSpec when it exists, else "ferry", else "python3", else the
// first by name.
func (m *Manager) Specs() (map[string]*notebookd.KernelSpec, string) {
	specs := m.findSpecs()
	return specs, pickDefault(specs, m.opts.DefaultSpec)
}

func pickDefault(specs map[string]*notebookd.KernelSpec, want string) string {
	for _, n := range []string{want, "ferry", "python3"} {
		if _, ok := specs[n]; ok && n != "" {
			return n
		}
	}
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		return names[0]
	}
	return ""
}

// SpecResource returns the path on disk of a kernelspec's resource file
// (GET /kernelspecs/<name>/<file>): logo-*, kernel.js or kernel.css.
func (m *Manager) SpecResource(name, file string) (string, bool) {
	if !validSpecName(name) || file == "" || strings.ContainsAny(file, `/\`) || strings.HasPrefix(file, ".") {
		return "", false
	}
	ok := strings.HasPrefix(file, "logo-")
	for _, r := range specResources {
		ok = ok || file == r
	}
	if !ok {
		return "", false
	}
	ks, found := m.findSpecs()[name]
	if !found {
		return "", false
	}
	p := filepath.Join(ks.Dir, file)
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return p, true
}

// errNoSuchKernel answers a start of a kernelspec that is not installed: the
// names that are, and how to install one (not the directories searched,
// which are paths on the server).
func errNoSuchKernel(name string, specs map[string]*notebookd.KernelSpec) error {
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, strconv.Quote(n))
	}
	sort.Strings(names)
	known := "no kernel is installed"
	if len(names) > 0 {
		known = "the installed kernels are " + strings.Join(names, ", ")
	}
	return notebookd.Errorf(http.StatusNotFound, "no such kernel: %q; %s. Pick one of them, or install a kernelspec "+
		"(`ferry kernelspec install` for Ferry's Go kernel, `python3 -m ipykernel install --user` for Python) and try again", name, known)
}
