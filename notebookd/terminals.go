package notebookd

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/gorilla/websocket"
)

// errNoTerminals answers the terminals routes of a server without terminals.
var errNoTerminals = Errorf(http.StatusNotFound, "terminals are disabled on this server (it was started with --no-terminals)")

// handleTerminals serves /api/terminals[/<name>].
func (s *Server) handleTerminals(w http.ResponseWriter, r *http.Request, rest string) error {
	t := s.cfg.Terminals
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			if t == nil {
				writeJSON(w, http.StatusOK, []any{})
				return nil
			}
			list := t.List()
			if list == nil {
				list = []*TerminalModel{}
			}
			writeJSON(w, http.StatusOK, list)
			return nil
		case r.Method != http.MethodPost:
			return errMethod(r)
		case t == nil:
			return errNoTerminals
		}
		var body struct {
			Name string `json:"name"`
			Cwd  string `json:"cwd"`
		}
		if _, err := decodeBody(r, &body); err != nil {
			return err
		}
		dir, err := s.terminalDir(body.Cwd)
		if err != nil {
			return err
		}
		m, err := t.Create(r.Context(), body.Name, dir)
		if err != nil {
			return err
		}
		// jupyter_server answers 200, and @jupyterlab/services expects it.
		writeJSON(w, http.StatusOK, m)
		return nil
	}
	if t == nil {
		return errNoTerminals
	}
	name, err := url.PathUnescape(rest)
	if err != nil || name == "" || strings.Contains(name, "/") {
		return Errorf(http.StatusNotFound, "Terminal not found: %s", rest)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		m, err := t.Get(name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m)
	case http.MethodDelete:
		if err := t.Delete(r.Context(), name); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		return errMethod(r)
	}
	return nil
}

// terminalDir resolves the cwd of a new terminal: "" is the notebook root,
// a relative path is relative to it, and an absolute one must lie inside it.
func (s *Server) terminalDir(cwd string) (string, error) {
	root, err := s.cfg.Contents.LocalPath("")
	if err != nil {
		return "", err
	}
	if cwd == "" {
		return root, nil
	}
	p := filepath.ToSlash(cwd)
	if filepath.IsAbs(cwd) {
		abs := filepath.Clean(cwd)
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", Errorf(http.StatusForbidden, "terminal cwd %q is outside the notebook root: give a directory under the root (relative paths are relative to it)", cwd)
		}
		p = filepath.ToSlash(rel)
		if p == "." {
			p = ""
		}
	}
	dir, err := s.cfg.Contents.LocalPath(strings.Trim(p, "/"))
	if err != nil {
		return "", fmt.Errorf("terminal cwd %q: %w", cwd, err)
	}
	return dir, nil
}

// handleTerminalSocket serves /terminals/websocket/<name>.
func (s *Server) handleTerminalSocket(w http.ResponseWriter, r *http.Request, rest string) error {
	t := s.cfg.Terminals
	if t == nil {
		return errNoTerminals
	}
	name, err := url.PathUnescape(strings.TrimSuffix(rest, "/"))
	if err != nil || name == "" || strings.Contains(name, "/") {
		return Errorf(http.StatusNotFound, "Terminal not found: %s", rest)
	}
	if r.Method != http.MethodGet {
		return errMethod(r)
	}
	if _, err := t.Get(name); err != nil {
		return err
	}
	if !websocket.IsWebSocketUpgrade(r) {
		return Errorf(http.StatusBadRequest, "/terminals/websocket/%s is a websocket: connect with a websocket client", name)
	}
	t.ServeWebsocket(w, r, name)
	return nil
}
