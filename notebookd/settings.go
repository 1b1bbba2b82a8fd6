package notebookd

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tailscale/hujson"
)

var settingsIDRE = regexp.MustCompile(`^(@[A-Za-z0-9._-]+/)?[A-Za-z0-9._-]+:[A-Za-z0-9._-]+$`)

type setting struct {
	ID           string         `json:"id"`
	Raw          string         `json:"raw"`
	Settings     map[string]any `json:"settings"`
	Schema       map[string]any `json:"schema"`
	Version      string         `json:"version"`
	LastModified *time.Time     `json:"last_modified"`
	Created      *time.Time     `json:"created"`
}

func (s *Server) schemasDir() string { return filepath.Join(s.cfg.LabAssetsDir, "schemas") }

func (s *Server) userSettingsFile(id string) string {
	pkg, plugin, _ := strings.Cut(id, ":")
	return filepath.Join(s.cfg.DataDir, "lab", "user-settings", filepath.FromSlash(pkg), plugin+".jupyterlab-settings")
}

func (s *Server) readSetting(id string, schema map[string]any) setting {
	st := setting{ID: id, Raw: "{}", Settings: map[string]any{}, Schema: schema, Version: LabVersion}
	if s.cfg.DataDir == "" {
		return st
	}
	file := s.userSettingsFile(id)
	b, err := os.ReadFile(file)
	if err != nil {
		return st
	}
	st.Raw = string(b)
	if v, err := parseJSON5(b); err == nil {
		st.Settings = v
	}
	if fi, err := os.Stat(file); err == nil {
		t := fi.ModTime().UTC()
		st.LastModified, st.Created = &t, &t
	}
	return st
}

// schemaIDs lists the plugin ids of LabAssetsDir/schemas.
func (s *Server) schemaIDs() []string {
	var ids []string
	root := s.schemasDir()
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") || d.Name() == "package.json.orig" {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		i := strings.LastIndex(rel, "/")
		if i < 0 {
			return nil
		}
		id := rel[:i] + ":" + strings.TrimSuffix(rel[i+1:], ".json")
		if settingsIDRE.MatchString(id) {
			ids = append(ids, id)
		}
		return nil
	})
	sort.Strings(ids)
	return ids
}

func (s *Server) schema(id string) (map[string]any, error) {
	pkg, plugin, _ := strings.Cut(id, ":")
	b, err := os.ReadFile(filepath.Join(s.schemasDir(), filepath.FromSlash(pkg), plugin+".json"))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request, rest string) error {
	id, err := unescapePath(rest)
	if err != nil {
		return err
	}
	if id == "" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return errMethod(r)
		}
		ids := s.schemaIDs()
		if ids == nil {
			ids = []string{}
		}
		if r.URL.Query().Get("ids_only") == "true" {
			writeJSON(w, http.StatusOK, map[string]any{"ids": ids})
			return nil
		}
		list := []setting{}
		for _, id := range ids {
			sc, err := s.schema(id)
			if err != nil {
				continue
			}
			list = append(list, s.readSetting(id, sc))
		}
		writeJSON(w, http.StatusOK, map[string]any{"settings": list})
		return nil
	}
	if !settingsIDRE.MatchString(id) {
		return Errorf(http.StatusBadRequest, "invalid settings id %q: want @scope/package:plugin", id)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		sc, err := s.schema(id)
		if err != nil {
			return Errorf(http.StatusNotFound, "schema not found: %s", id)
		}
		writeJSON(w, http.StatusOK, s.readSetting(id, sc))
	case http.MethodPut:
		if s.cfg.DataDir == "" {
			return Errorf(http.StatusServiceUnavailable, "the server has no data directory to store settings in")
		}
		var body struct {
			Raw *string `json:"raw"`
		}
		if _, err := decodeBody(r, &body); err != nil {
			return err
		}
		if body.Raw == nil {
			return Errorf(http.StatusBadRequest, "PUT needs {\"raw\": \"...\"}")
		}
		if _, err := parseJSON5([]byte(*body.Raw)); err != nil {
			return Errorf(http.StatusBadRequest, "invalid settings: %v", err)
		}
		if err := writeFileAtomic(s.userSettingsFile(id), []byte(*body.Raw)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		return errMethod(r)
	}
	return nil
}

// parseJSON5 parses the JSON-with-comments of JupyterLab settings files
// (// and /* */ comments, trailing commas) into an object; empty input is
// an empty object.
func parseJSON5(b []byte) (map[string]any, error) {
	m := map[string]any{}
	if len(bytes.TrimSpace(b)) == 0 {
		return m, nil
	}
	std, err := hujson.Standardize(b)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(std, &m); err != nil {
		return nil, err
	}
	return m, nil
}
