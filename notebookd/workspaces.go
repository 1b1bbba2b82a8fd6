package notebookd

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func (s *Server) workspaceFile(id string) string {
	return filepath.Join(s.cfg.DataDir, "lab", "workspaces", url.PathEscape(id)+".jupyterlab-workspace")
}

func (s *Server) handleWorkspaces(w http.ResponseWriter, r *http.Request, rest string) error {
	id, err := unescapePath(rest)
	if err != nil {
		return err
	}
	dir := filepath.Join(s.cfg.DataDir, "lab", "workspaces")
	if id == "" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return errMethod(r)
		}
		ids, values := []string{}, []any{}
		if s.cfg.DataDir != "" {
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				name, ok := strings.CutSuffix(e.Name(), ".jupyterlab-workspace")
				if !ok {
					continue
				}
				wid, err := url.PathUnescape(name)
				if err != nil {
					continue
				}
				var v any
				if err := readFileJSON(filepath.Join(dir, e.Name()), &v); err != nil {
					continue
				}
				ids = append(ids, wid)
				values = append(values, v)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"workspaces": map[string]any{"ids": ids, "values": values}})
		return nil
	}
	if strings.ContainsAny(id, "/\\") || strings.HasPrefix(id, ".") {
		return Errorf(http.StatusBadRequest, "invalid workspace id %q", id)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		var v any = map[string]any{"data": map[string]any{}, "metadata": map[string]any{"id": id}}
		if s.cfg.DataDir != "" {
			if err := readFileJSON(s.workspaceFile(id), &v); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, v)
	case http.MethodPut:
		if s.cfg.DataDir == "" {
			return Errorf(http.StatusServiceUnavailable, "the server has no data directory to store workspaces in")
		}
		var v map[string]any
		if _, err := decodeBody(r, &v); err != nil {
			return err
		}
		if v == nil {
			return Errorf(http.StatusBadRequest, "PUT needs a workspace: {\"data\": {...}, \"metadata\": {...}}")
		}
		md, _ := v["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			v["metadata"] = md
		}
		md["id"] = id
		now := time.Now().UTC().Format(time.RFC3339Nano)
		md["last_modified"] = now
		if _, ok := md["created"]; !ok {
			md["created"] = now
		}
		if err := writeFileJSON(s.workspaceFile(id), v); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		if s.cfg.DataDir == "" {
			return Errorf(http.StatusNotFound, "workspace not found: %s", id)
		}
		if err := os.Remove(s.workspaceFile(id)); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return Errorf(http.StatusNotFound, "workspace not found: %s", id)
			}
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		return errMethod(r)
	}
	return nil
}
