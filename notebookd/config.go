package notebookd

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
)

var configSectionRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request, section string) error {
	if !configSectionRE.MatchString(section) || strings.HasPrefix(section, ".") {
		return Errorf(http.StatusBadRequest, "invalid config section %q", section)
	}
	if s.cfg.DataDir == "" {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			writeJSON(w, http.StatusOK, map[string]any{})
			return nil
		}
		return Errorf(http.StatusServiceUnavailable, "the server has no data directory to store config in")
	}
	file := filepath.Join(s.cfg.DataDir, "config", section+".json")
	data := map[string]any{}
	if err := readFileJSON(file, &data); err != nil {
		// The message names the section, not the server's directories.
		return Errorf(http.StatusInternalServerError, "reading config section %s: %v; fix or remove %s.json in the config directory of the server's data directory", section, WithoutPath(err), section)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		writeJSON(w, http.StatusOK, data)
	case http.MethodPatch, http.MethodPut:
		var patch map[string]any
		if _, err := decodeLimited(w, r, &patch, maxSmallBody, "config sections hold small settings"); err != nil {
			return err
		}
		if NestedDeeper(patch, maxConfigDepth) {
			return Errorf(http.StatusBadRequest, "config section %s: nested deeper than %d levels, the limit; flatten it", section, maxConfigDepth)
		}
		if r.Method == http.MethodPut {
			data = map[string]any{}
		}
		deepMerge(data, patch)
		if NestedDeeper(data, maxConfigDepth) {
			return Errorf(http.StatusBadRequest, "config section %s: nested deeper than %d levels, the limit; flatten it", section, maxConfigDepth)
		}
		b, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			return Errorf(http.StatusBadRequest, "config section %s: %v", section, err)
		}
		if len(b) > maxConfigFile {
			return Errorf(http.StatusRequestEntityTooLarge, "config section %s would be %d bytes, over the limit of %s; remove settings with null values (PATCH) or replace the section (PUT)", section, len(b), byteSize(maxConfigFile))
		}
		if err := writeFileAtomic(file, b); err != nil {
			return Errorf(http.StatusInternalServerError, "writing config section %s: %v", section, WithoutPath(err))
		}
		writeJSON(w, http.StatusOK, data)
	default:
		return errMethod(r)
	}
	return nil
}

// deepMerge merges src into dst recursively; a null value deletes the key.
func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				deepMerge(dm, sm)
				continue
			}
			dm := map[string]any{}
			deepMerge(dm, sm)
			dst[k] = dm
			continue
		}
		dst[k] = v
	}
}
