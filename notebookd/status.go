package notebookd

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
)

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) error {
	return methodJSON(w, r, http.MethodGet, map[string]string{"version": ServerVersion})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) error {
	ks := s.cfg.Kernels.List()
	conns := 0
	for _, k := range ks {
		conns += k.Connections
	}
	s.activityMu.Lock()
	last := s.lastActivity
	s.activityMu.Unlock()
	for _, k := range ks {
		if k.LastActivity.After(last) {
			last = k.LastActivity
		}
	}
	return methodJSON(w, r, http.MethodGet, map[string]any{
		"started":       s.started,
		"last_activity": last,
		"connections":   conns,
		"kernels":       len(ks),
	})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	name := "ferry"
	if u := os.Getenv("USER"); u != "" {
		name = u
	}
	perms := map[string][]string{}
	if q := r.URL.Query().Get("permissions"); q != "" {
		if err := json.Unmarshal([]byte(q), &perms); err != nil {
			return Errorf(http.StatusBadRequest, "permissions should be a JSON dict of {\"resource\": [\"action\",]}, got %q", q)
		}
	}
	initials := strings.ToUpper(name[:1])
	return methodJSON(w, r, http.MethodGet, map[string]any{
		"identity": map[string]any{
			"username":     name,
			"name":         name,
			"display_name": name,
			"initials":     initials,
			"avatar_url":   nil,
			"color":        nil,
		},
		"permissions": perms,
	})
}
