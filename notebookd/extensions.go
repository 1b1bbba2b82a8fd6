package notebookd

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// JupyterDataDirs returns Jupyter's data directories in search order, as
// jupyter_core's jupyter_path() gives them: $JUPYTER_PATH, the user's
// ($JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter or
// ~/.local/share/jupyter), then /usr/local/share/jupyter and
// /usr/share/jupyter.
func JupyterDataDirs() []string {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv("JUPYTER_PATH")) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		dirs = append(dirs, d)
	} else if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		dirs = append(dirs, filepath.Join(x, "jupyter"))
	} else if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".local", "share", "jupyter"))
	}
	return append(dirs, "/usr/local/share/jupyter", "/usr/share/jupyter")
}

// labExtension is a prebuilt (federated) JupyterLab extension installed in
// a labextensions directory.
type labExtension struct {
	Name          string `json:"name"`
	Load          string `json:"load"`
	Extension     string `json:"extension,omitempty"`
	MimeExtension string `json:"mimeExtension,omitempty"`
	Style         string `json:"style,omitempty"`
	dir           string // <labextensions>/<name>
}

// findLabExtensions lists the federated extensions in dirs (each a
// labextensions directory): <dir>/<name>/package.json and
// <dir>/@scope/<name>/package.json with jupyterlab._build.load. A name
// found in an earlier directory wins, as in jupyterlab_server.
func findLabExtensions(dirs []string) []labExtension {
	seen := map[string]bool{}
	var exts []labExtension
	for _, dir := range dirs {
		var pkgs []string
		for _, pattern := range []string{"*/package.json", "@*/*/package.json"} {
			m, _ := filepath.Glob(filepath.Join(dir, pattern))
			pkgs = append(pkgs, m...)
		}
		sort.Strings(pkgs)
		for _, pkg := range pkgs {
			b, err := os.ReadFile(pkg)
			if err != nil {
				continue
			}
			var meta struct {
				Name       string `json:"name"`
				JupyterLab struct {
					Build *struct {
						Load          string `json:"load"`
						Extension     string `json:"extension"`
						MimeExtension string `json:"mimeExtension"`
						Style         string `json:"style"`
					} `json:"_build"`
				} `json:"jupyterlab"`
			}
			if json.Unmarshal(b, &meta) != nil || meta.Name == "" || meta.JupyterLab.Build == nil || meta.JupyterLab.Build.Load == "" {
				continue // not a built federated extension
			}
			extDir := filepath.Dir(pkg)
			if rel, err := filepath.Rel(dir, extDir); err != nil || filepath.ToSlash(rel) != meta.Name || seen[meta.Name] {
				continue // the directory must be named after the package
			}
			seen[meta.Name] = true
			bi := meta.JupyterLab.Build
			exts = append(exts, labExtension{Name: meta.Name, Load: bi.Load, Extension: bi.Extension,
				MimeExtension: bi.MimeExtension, Style: bi.Style, dir: extDir})
		}
	}
	return exts
}

// labExtensionsDirs are the labextensions directories searched.
func (s *Server) labExtensionsDirs() []string {
	if s.cfg.LabExtensionsDirs != nil {
		return s.cfg.LabExtensionsDirs
	}
	var dirs []string
	for _, d := range JupyterDataDirs() {
		dirs = append(dirs, filepath.Join(d, "labextensions"))
	}
	return dirs
}

// serveLabExtension serves /lab/extensions/<name>/<file> of a federated
// extension (public, as the app's static files).
func (s *Server) serveLabExtension(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, errMethod(r))
		return
	}
	rel, err := unescapePath(rest)
	if err != nil {
		s.writeError(w, err)
		return
	}
	for _, ext := range findLabExtensions(s.labExtensionsDirs()) {
		if file, ok := strings.CutPrefix(rel, ext.Name+"/"); ok {
			if err := serveFileIn(w, r, ext.dir, file); err != nil {
				s.writeError(w, err)
			}
			return
		}
	}
	s.writeError(w, Errorf(http.StatusNotFound, "no lab extension serves %s", rel))
}
