package notebookd

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// staticDir returns the directory of LabAssetsDir holding index.html, trying the
// app's static/ subdirectory too (a JupyterLab app directory keeps its
// bundle and index.html there).
func (s *Server) staticDir() string {
	d := s.cfg.LabAssetsDir
	if _, err := os.Stat(filepath.Join(d, "index.html")); err != nil {
		if fi, err := os.Stat(filepath.Join(d, "static")); err == nil && fi.IsDir() {
			return filepath.Join(d, "static")
		}
	}
	return d
}

// PageConfig returns the page_config JupyterLab reads from the
// jupyter-config-data script of the page at treePath in workspace.
func (s *Server) PageConfig(r *http.Request, treePath, workspace string) map[string]any {
	b := s.base
	wsURL := ""
	if r != nil && r.Host != "" {
		scheme := "ws"
		if r.TLS != nil {
			scheme = "wss"
		}
		wsURL = scheme + "://" + r.Host + b
	}
	if workspace == "" {
		workspace = "default"
	}
	appDir := s.cfg.LabAssetsDir
	userSettings, workspaces := "", ""
	if s.cfg.DataDir != "" {
		userSettings = filepath.Join(s.cfg.DataDir, "lab", "user-settings")
		workspaces = filepath.Join(s.cfg.DataDir, "lab", "workspaces")
	}
	fedExts := findLabExtensions(s.labExtensionsDirs())
	if fedExts == nil {
		fedExts = []labExtension{}
	}
	return map[string]any{
		"appName":                "JupyterLab",
		"appNamespace":           "lab",
		"appUrl":                 "/lab",
		"appVersion":             LabVersion,
		"appSettingsDir":         filepath.Join(appDir, "settings"),
		"allow_hidden_files":     false,
		"baseUrl":                b,
		"buildAvailable":         false,
		"buildCheck":             false,
		"cacheFiles":             true,
		"collaborative":          false,
		"defaultWorkspace":       "default",
		"devMode":                false,
		"disabledExtensions":     []string{},
		"exposeAppInBrowser":     false,
		"extraLabextensionsPath": []string{},
		"federated_extensions":   fedExts,
		"fullAppUrl":             b + "lab",
		"fullLabextensionsUrl":   b + "lab/extensions",
		"fullLicensesUrl":        b + "lab/api/licenses",
		"fullListingsUrl":        b + "lab/api/listings",
		"fullMathjaxUrl":         "",
		"fullSettingsUrl":        b + "lab/api/settings",
		"fullStaticUrl":          b + "static/lab",
		"fullThemesUrl":          b + "lab/api/themes",
		"fullTranslationsApiUrl": b + "lab/api/translations",
		"fullTreeUrl":            b + "lab/tree",
		"fullWorkspacesApiUrl":   b + "lab/api/workspaces",
		"fullWorkspacesUrl":      b + "lab/workspaces",
		"hubHost":                "",
		"hubPrefix":              "",
		"hubServerName":          "",
		"hubUser":                "",
		"ignorePlugins":          []string{},
		"labextensionsPath":      s.labExtensionsDirs(),
		"labextensionsUrl":       "/lab/extensions",
		"licensesUrl":            "/lab/api/licenses",
		"listingsUrl":            "/lab/api/listings",
		"mathjaxConfig":          "TeX-AMS_HTML-full,Safe",
		"mathjaxUrl":             "",
		"mode":                   "multiple-document",
		"notebookStartsKernel":   true,
		"notebookVersion":        "[2, 14, 2]",
		"preferredPath":          "/",
		"quitButton":             false,
		"schemasDir":             filepath.Join(appDir, "schemas"),
		"settingsUrl":            b + "lab/api/settings",
		"staticDir":              s.staticDir(),
		"store_id":               0,
		"templatesDir":           s.staticDir(),
		"terminalsAvailable":     s.cfg.Terminals != nil,
		"themesDir":              filepath.Join(appDir, "themes"),
		"themesUrl":              b + "lab/api/themes",
		"token":                  s.cfg.Token,
		"translationsApiUrl":     b + "lab/api/translations",
		"treePath":               treePath,
		"treeUrl":                b + "lab/tree",
		"userSettingsDir":        userSettings,
		"workspace":              workspace,
		"workspacesApiUrl":       b + "lab/api/workspaces",
		"workspacesDir":          workspaces,
		"workspacesUrl":          b + "lab/workspaces",
		"wsUrl":                  wsURL,
		"ferryVersion":           s.cfg.Version,
		"jupyterServerVersion":   ServerVersion,
	}
}

// page serves /lab, /lab/tree/<path>, /lab/workspaces/<ws>[/tree/<path>].
func (s *Server) page(w http.ResponseWriter, r *http.Request, p string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, errMethod(r))
		return
	}
	byToken, ok := s.authorize(w, r, false)
	if !ok {
		return
	}
	session, loggedIn := s.loginSession(r)
	if byToken && r.URL.Query().Get("token") != "" && !loggedIn {
		session = s.setLoginCookie(w, r)
	}
	s.xsrfCookie(w, r, session)
	s.touch()
	rest := strings.TrimPrefix(strings.TrimPrefix(p, "lab"), "/")
	workspace, tree := "", ""
	if strings.HasPrefix(rest, "workspaces/") {
		ws, after, _ := strings.Cut(strings.TrimPrefix(rest, "workspaces/"), "/")
		workspace, _ = url.PathUnescape(ws)
		rest = after
	}
	if rest == "tree" || strings.HasPrefix(rest, "tree/") {
		t, err := unescapePath(strings.TrimPrefix(rest, "tree"))
		if err != nil {
			s.writeError(w, err)
			return
		}
		tree = t
	}
	tmpl, err := s.pageTemplate()
	if err != nil {
		s.notBuilt(w, err)
		return
	}
	cfg := s.PageConfig(r, tree, workspace)
	out, err := renderPage(tmpl, cfg, s.base)
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'self'")
	_, _ = w.Write([]byte(out))
}

func (s *Server) pageTemplate() (string, error) {
	if s.cfg.LabAssetsDir == "" {
		return "", errors.New("no JupyterLab assets directory is configured")
	}
	dir := s.staticDir()
	b, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err == nil {
		return string(b), nil
	}
	if _, berr := os.Stat(filepath.Join(dir, "bundle.js")); berr == nil {
		return defaultTemplate, nil
	}
	return "", fmt.Errorf("%s has neither index.html nor bundle.js: %v", dir, err)
}

const defaultTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>JupyterLab</title>
<script id="jupyter-config-data" type="application/json">{{ page_config | tojson }}</script>
</head>
<body>
<script src="{{ page_config.fullStaticUrl }}/bundle.js"></script>
</body>
</html>
`

var (
	jinjaTagRE  = regexp.MustCompile(`\{%-?[\s\S]*?-?%\}|\{#[\s\S]*?#\}`)
	jinjaExprRE = regexp.MustCompile(`\{\{-?\s*([\s\S]*?)\s*-?\}\}`)
	configRE    = regexp.MustCompile(`(?is)<script[^>]*id=["']jupyter-config-data["'][^>]*>.*?</script>`)
	keyRE       = regexp.MustCompile(`^page_config(?:_full)?(?:\.(\w+)|\[['"](\w+)['"]\])$`)
)

// renderPage fills a JupyterLab index.html: the Jinja expressions of its
// template (page_config, base_url) are substituted, its control tags are
// dropped, and the jupyter-config-data script is (re)written with cfg.
func renderPage(tmpl string, cfg map[string]any, base string) (string, error) {
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	// </ in a script element would end it.
	script := `<script id="jupyter-config-data" type="application/json">` +
		strings.ReplaceAll(string(cfgJSON), "</", `<\/`) + `</script>`
	out := jinjaTagRE.ReplaceAllString(tmpl, "")
	out = jinjaExprRE.ReplaceAllStringFunc(out, func(m string) string {
		expr := jinjaExprRE.FindStringSubmatch(m)[1]
		name, filters, _ := strings.Cut(expr, "|")
		name = strings.TrimSpace(name)
		tojson := strings.Contains(filters, "tojson")
		var v any
		switch {
		case name == "page_config" || name == "page_config_full":
			v = cfg
		case name == "base_url":
			v = base
		default:
			if k := keyRE.FindStringSubmatch(name); k != nil {
				v = cfg[k[1]+k[2]]
			}
		}
		if v == nil {
			return ""
		}
		if tojson {
			b, _ := json.Marshal(v)
			return strings.ReplaceAll(string(b), "</", `<\/`)
		}
		if sv, ok := v.(string); ok {
			return html.EscapeString(sv)
		}
		b, _ := json.Marshal(v)
		return html.EscapeString(string(b))
	})
	if configRE.MatchString(out) {
		done := false
		out = configRE.ReplaceAllStringFunc(out, func(string) string {
			if done {
				return ""
			}
			done = true
			return script
		})
		return out, nil
	}
	if i := strings.Index(strings.ToLower(out), "</head>"); i >= 0 {
		return out[:i] + script + "\n" + out[i:], nil
	}
	return script + "\n" + out, nil
}

func (s *Server) notBuilt(w http.ResponseWriter, cause error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>Ferry — JupyterLab frontend not built</title></head>
<body style="font-family:sans-serif;max-width:46em;margin:3em auto">
<h1>The JupyterLab frontend is not built</h1>
<p>%s.</p>
<p>The notebook server is running and its API works (<a href="%sapi">%sapi</a>), but the
JupyterLab web app has to be built once: build the app in <code>labextension/</code> of the Ferry
source tree (<code>cd labextension &amp;&amp; npm ci &amp;&amp; npm run build</code>), then start the server with
<code>ferry lab --lab-assets DIR</code>, DIR being the built app directory (it holds
<code>index.html</code> or <code>static/</code>, <code>schemas/</code> and <code>themes/</code>).</p>
</body></html>
`, html.EscapeString(cause.Error()), html.EscapeString(s.base), html.EscapeString(s.base))
}

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

// --- settings ---

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

// parseJSON5 parses the JSON-with-comments of JupyterLab settings files:
// // and /* */ comments and trailing commas are dropped.
func parseJSON5(b []byte) (map[string]any, error) {
	var out []byte
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			out = append(out, c)
			if c == '\\' && i+1 < len(b) {
				i++
				out = append(out, b[i])
			} else if c == '"' {
				inStr = false
			}
			continue
		}
		switch {
		case c == '"':
			inStr = true
			out = append(out, c)
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			out = append(out, '\n')
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			j := strings.Index(string(b[i+2:]), "*/")
			if j < 0 {
				return nil, errors.New("unterminated /* comment")
			}
			i += j + 3
			out = append(out, ' ')
		case c == ']' || c == '}':
			k := len(out) - 1
			for k >= 0 && (out[k] == ' ' || out[k] == '\n' || out[k] == '\t' || out[k] == '\r') {
				k--
			}
			if k >= 0 && out[k] == ',' {
				out[k] = ' '
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	m := map[string]any{}
	if len(strings.TrimSpace(string(out))) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// --- workspaces ---

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

// --- translations ---

func (s *Server) handleTranslations(w http.ResponseWriter, r *http.Request, rest string) error {
	locale, err := unescapePath(rest)
	if err != nil {
		return err
	}
	if locale == "" {
		return methodJSON(w, r, http.MethodGet, map[string]any{
			"data":    map[string]any{"en": map[string]string{"displayName": "English", "nativeName": "English"}},
			"message": "",
		})
	}
	return methodJSON(w, r, http.MethodGet, map[string]any{"data": map[string]any{}, "message": ""})
}
