package notebookd

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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
