package notebookd

import (
	"net/http"
	"path/filepath"
)

func (s *Server) serveLabStatic(w http.ResponseWriter, r *http.Request, rest string) {
	s.serveAsset(w, r, s.staticDir(), rest)
}

func (s *Server) serveLabThemes(w http.ResponseWriter, r *http.Request, rest string) {
	s.serveAsset(w, r, filepath.Join(s.cfg.LabAssetsDir, "themes"), rest)
}

// serveAsset serves a public file of the JupyterLab build (no login needed,
// as jupyter_server's static handlers).
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, dir, rest string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, errMethod(r))
		return
	}
	if s.cfg.LabAssetsDir == "" {
		s.writeError(w, Errorf(http.StatusNotFound, "the JupyterLab frontend is not built (see /lab)"))
		return
	}
	rel, err := unescapePath(rest)
	if err == nil {
		err = serveFileIn(w, r, dir, rel)
	}
	if err != nil {
		s.writeError(w, err)
	}
}
