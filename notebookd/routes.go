package notebookd

import (
	"net/http"
	"strings"
)

// How a route's path matches the escaped request path below the base URL
// (escaped, so that a %2F in a file name stays inside its segment).
const (
	exact  = iota // the path only
	under         // the path and the paths under it; rest is "" or "/..."
	prefix        // every path that starts with it; rest is what follows
)

// A route is one entry of the server's routing tables.
type route struct {
	path  string
	match int
	// serve answers the request; rest is the part of the path after the
	// route's path.
	serve func(s *Server, w http.ResponseWriter, r *http.Request, rest string) error
}

// lookup returns the first route of table that matches p, and the rest of
// p after the route's path.
func lookup(table []route, p string) (route, string, bool) {
	for _, rt := range table {
		switch {
		case p == rt.path:
			return rt, "", true
		case rt.match == under && strings.HasPrefix(p, rt.path+"/"),
			rt.match == prefix && strings.HasPrefix(p, rt.path):
			return rt, p[len(rt.path):], true
		}
	}
	return route{}, "", false
}

// page returns the route handler of the JupyterLab page at path.
func page(path string) func(*Server, http.ResponseWriter, *http.Request, string) error {
	return func(s *Server, w http.ResponseWriter, r *http.Request, rest string) error {
		s.page(w, r, path+rest)
		return nil
	}
}

// whole returns a route handler for the handlers that take no path.
func whole(h func(*Server, http.ResponseWriter, *http.Request) error) func(*Server, http.ResponseWriter, *http.Request, string) error {
	return func(s *Server, w http.ResponseWriter, r *http.Request, _ string) error { return h(s, w, r) }
}

// publicRoutes are served without authentication, or authenticate on their
// own (the page redirects to /login, the control plane also takes the
// kernels' token).
var publicRoutes = []route{
	{"", exact, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) error {
		target := s.base + "lab"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusFound)
		return nil
	}},
	{"login", exact, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) error {
		r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
		s.handleLogin(w, r)
		return nil
	}},
	{"logout", exact, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) error {
		s.handleLogout(w, r)
		return nil
	}},
	{"lab", exact, page("lab")},
	{"lab/", exact, page("lab/")},
	{"lab/tree", prefix, page("lab/tree")},
	{"lab/workspaces/", prefix, page("lab/workspaces/")},
	{"static/lab/", prefix, func(s *Server, w http.ResponseWriter, r *http.Request, rest string) error {
		s.serveLabStatic(w, r, rest)
		return nil
	}},
	{"lab/api/themes/", prefix, func(s *Server, w http.ResponseWriter, r *http.Request, rest string) error {
		s.serveLabThemes(w, r, rest)
		return nil
	}},
	{"lab/extensions/", prefix, func(s *Server, w http.ResponseWriter, r *http.Request, rest string) error {
		s.serveLabExtension(w, r, rest)
		return nil
	}},
	{"api/ferry/v1/", prefix, func(s *Server, w http.ResponseWriter, r *http.Request, rest string) error {
		s.control(w, r, "api/ferry/v1/"+rest)
		return nil
	}},
	{"favicon.ico", exact, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) error {
		s.serveFavicon(w, r)
		return nil
	}},
}

// apiRoutes are the authenticated routes (see Server.api).
var apiRoutes = []route{
	{"api", exact, whole((*Server).handleAPI)},
	{"api/", exact, whole((*Server).handleAPI)},
	{"api/status", exact, whole((*Server).handleStatus)},
	{"api/me", exact, whole((*Server).handleMe)},
	{"api/config/", prefix, (*Server).handleConfig},
	{"api/contents", under, (*Server).handleContents},
	{"files/", prefix, (*Server).handleFiles},
	{"api/kernelspecs", under, (*Server).handleKernelspecs},
	{"kernelspecs/", prefix, (*Server).handleKernelspecResource},
	{"api/kernels", under, (*Server).handleKernels},
	{"api/sessions", under, (*Server).handleSessions},
	{"api/terminals", under, (*Server).handleTerminals},
	{"terminals/websocket/", prefix, (*Server).handleTerminalSocket},
	{"api/nbconvert", exact, func(_ *Server, w http.ResponseWriter, r *http.Request, _ string) error {
		return methodJSON(w, r, http.MethodGet, map[string]any{})
	}},
	{"api/events", exact, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) error {
		return s.handleEvents(w, r, "api/events")
	}},
	{"api/events/subscribe", exact, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) error {
		return s.handleEvents(w, r, "api/events/subscribe")
	}},
	{"lab/api/settings", under, (*Server).handleSettings},
	{"lab/api/workspaces", under, (*Server).handleWorkspaces},
	{"lab/api/translations", under, (*Server).handleTranslations},
	{"lab/api/listings/", prefix, func(_ *Server, w http.ResponseWriter, r *http.Request, _ string) error {
		// No extension manager listings: nothing is blocked or allowed.
		return methodJSON(w, r, http.MethodGet, map[string]any{"blocked_extensions_uris": []string{}, "allowed_extensions_uris": []string{},
			"blocked_extensions": []string{}, "allowed_extensions": []string{}})
	}},
	{"lsp/status", exact, func(_ *Server, w http.ResponseWriter, r *http.Request, _ string) error {
		// No language servers (jupyter-lsp's answer when it has none).
		return methodJSON(w, r, http.MethodGet, map[string]any{"version": 2, "sessions": map[string]any{}, "specs": map[string]any{}})
	}},
}

// inAPI reports whether p belongs to the authenticated API, routed or not
// (an unknown API route is answered 404 JSON, after authentication).
func inAPI(p string) bool {
	if _, _, ok := lookup(apiRoutes, p); ok {
		return true
	}
	return strings.HasPrefix(p, "api/") || strings.HasPrefix(p, "lab/api/")
}

// route dispatches on the escaped path below the base URL.
func (s *Server) route(w http.ResponseWriter, r *http.Request, p string) {
	if rt, rest, ok := lookup(publicRoutes, p); ok {
		if err := rt.serve(s, w, r, rest); err != nil {
			s.writeError(w, err)
		}
		return
	}
	if inAPI(p) {
		s.api(w, r, p)
		return
	}
	http.NotFound(w, r)
}

// api serves the authenticated routes.
func (s *Server) api(w http.ResponseWriter, r *http.Request, p string) {
	w.Header().Set("Content-Security-Policy", sandboxCSP)
	if _, ok := s.authorize(w, r, true); !ok {
		return
	}
	liftDeadlines(w)
	s.touch()
	var err error = Errorf(http.StatusNotFound, "no such API route: %s", "/"+p)
	if rt, rest, ok := lookup(apiRoutes, p); ok {
		err = rt.serve(s, w, r, rest)
	}
	if err != nil {
		s.writeError(w, err)
	}
}
