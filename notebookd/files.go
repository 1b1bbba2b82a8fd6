package notebookd

import (
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
)

func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request, rest string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errMethod(r)
	}
	p, err := unescapePath(rest)
	if err != nil {
		return err
	}
	f, fi, err := s.cfg.Contents.Open(r.Context(), p)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi.IsDir() {
		return Errorf(http.StatusBadRequest, "%s is a directory", p)
	}
	name := path.Base(p)
	if r.URL.Query().Get("download") != "" && r.URL.Query().Get("download") != "0" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	if strings.HasSuffix(name, ".ipynb") {
		w.Header().Set("Content-Type", "application/x-ipynb+json")
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, fi.ModTime(), f)
	return nil
}

// serveFileIn serves the file rel under dir, refusing anything that leaves
// dir (.., symlinks out) or is hidden.
func serveFileIn(w http.ResponseWriter, r *http.Request, dir, rel string) error {
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") || strings.Contains(seg, "\\") {
			return Errorf(http.StatusNotFound, "%s not found", rel)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Errorf(http.StatusNotFound, "%s not found", rel)
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return Errorf(http.StatusNotFound, "%s not found", rel)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		return Errorf(http.StatusNotFound, "%s not found", rel)
	}
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
	return nil
}
