package notebookd

import (
	"net/http"
	"strings"
)

// control serves Ferry's control-plane API under api/ferry/v1/: the
// server's own authentication (token, or login cookie with XSRF), or the
// token the server gave the kernels and terminals it started.
func (s *Server) control(w http.ResponseWriter, r *http.Request, p string) {
	// Artifacts and job logs are the users' content: see sandboxCSP.
	w.Header().Set("Content-Security-Policy", sandboxCSP)
	if !s.apiTokenOK(requestToken(r)) {
		if _, ok := s.authorize(w, r, true); !ok {
			return
		}
	}
	liftDeadlines(w)
	s.touch()
	if s.cfg.Control == nil {
		s.writeError(w, Errorf(http.StatusNotFound, "this server has no control plane"))
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + strings.TrimPrefix(r.URL.Path[strings.Index(r.URL.Path, "api/ferry/v1/"):], "api/ferry/v1/")
	r2.URL.RawPath = ""
	if rp := r.URL.EscapedPath(); strings.Contains(rp, "api/ferry/v1/") {
		r2.URL.RawPath = "/" + rp[strings.Index(rp, "api/ferry/v1/")+len("api/ferry/v1/"):]
	}
	s.cfg.Control.ServeHTTP(w, r2)
}

// serveFavicon answers the browser's /favicon.ico: no content (JupyterLab
// sets its own icon in the page).
func (s *Server) serveFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=86400")
	w.WriteHeader(http.StatusNoContent)
}
