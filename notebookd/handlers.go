package notebookd

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gorilla/websocket"
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
		return Errorf(http.StatusInternalServerError, "reading config section %s: %v; fix or remove %s.json in the config directory of the server's data directory", section, withoutPath(err), section)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		writeJSON(w, http.StatusOK, data)
	case http.MethodPatch, http.MethodPut:
		var patch map[string]any
		if _, err := decodeLimited(w, r, &patch, maxSmallBody, "config sections hold small settings"); err != nil {
			return err
		}
		if nestedDeeper(patch, maxConfigDepth) {
			return Errorf(http.StatusBadRequest, "config section %s: nested deeper than %d levels, the limit; flatten it", section, maxConfigDepth)
		}
		if r.Method == http.MethodPut {
			data = map[string]any{}
		}
		deepMerge(data, patch)
		if nestedDeeper(data, maxConfigDepth) {
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
			return Errorf(http.StatusInternalServerError, "writing config section %s: %v", section, withoutPath(err))
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

var upgrader = websocket.Upgrader{
	// The Origin is checked before any handler runs.
	CheckOrigin: func(*http.Request) bool { return true },
}

// handleEvents serves the event bus: POST /api/events accepts and drops
// events; /api/events/subscribe is a websocket that stays quiet.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, p string) error {
	if p == "api/events" {
		if r.Method != http.MethodPost {
			return errMethod(r)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if !websocket.IsWebSocketUpgrade(r) {
		return Errorf(http.StatusBadRequest, "/api/events/subscribe is a websocket")
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader answered
	}
	defer c.Close()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return nil
		}
	}
}

// --- contents ---

func (s *Server) handleContents(w http.ResponseWriter, r *http.Request, rest string) error {
	ctx := r.Context()
	rest = strings.TrimPrefix(rest, "/")
	// <path>/checkpoints[/<id>], matched on the escaped path as jupyter_server does.
	var cpID string
	checkpoints := false
	if rest == "checkpoints" || strings.HasSuffix(rest, "/checkpoints") {
		checkpoints = true
		rest = strings.TrimSuffix(strings.TrimSuffix(rest, "checkpoints"), "/")
	} else if i := strings.LastIndex(rest, "/checkpoints/"); i >= 0 && !strings.Contains(rest[i+len("/checkpoints/"):], "/") {
		checkpoints = true
		cpID = rest[i+len("/checkpoints/"):]
		rest = rest[:i]
	} else if strings.HasPrefix(rest, "checkpoints/") && !strings.Contains(rest[len("checkpoints/"):], "/") {
		checkpoints = true
		cpID = rest[len("checkpoints/"):]
		rest = ""
	}
	p, err := unescapePath(rest)
	if err != nil {
		return err
	}
	if checkpoints {
		return s.handleCheckpoints(w, r, p, cpID)
	}
	c := s.cfg.Contents
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query()
		opt := GetOptions{Type: q.Get("type"), Format: q.Get("format"), Content: true}
		switch opt.Type {
		case "", "file", "notebook", "directory":
		default:
			return Errorf(http.StatusBadRequest, "type %q is invalid", opt.Type)
		}
		switch opt.Format {
		case "", "text", "base64":
		default:
			return Errorf(http.StatusBadRequest, "format %q is invalid", opt.Format)
		}
		if opt.Content, err = boolArg(q.Get("content"), true, "content"); err != nil {
			return err
		}
		if opt.Hash, err = boolArg(q.Get("hash"), false, "hash"); err != nil {
			return err
		}
		m, err := c.Get(ctx, p, opt)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m)
	case http.MethodPut:
		var body struct {
			Model
			CopyFrom string `json:"copy_from"`
		}
		// The body is decoded as it is read, and capped: a file over the
		// limit is uploaded in chunks.
		empty, err := decodeLimited(w, r, &body, s.maxBodyBytes(), "upload big files in chunks (as JupyterLab does for files over 15 MB), or raise the server's MaxBodyBytes")
		if err != nil {
			return err
		}
		if body.CopyFrom != "" {
			return Errorf(http.StatusBadRequest, "cannot copy with PUT, only POST")
		}
		if empty {
			// jupyter_server: PUT without a body creates a new untitled file in p.
			m, err := c.NewUntitled(ctx, p, "", "")
			if err != nil {
				return err
			}
			return s.created(w, m)
		}
		_, gerr := c.Get(ctx, p, GetOptions{})
		exists := gerr == nil
		if gerr != nil && StatusOf(gerr) != http.StatusNotFound {
			return gerr
		}
		m, err := c.Save(ctx, p, &body.Model)
		if err != nil {
			return err
		}
		if exists {
			writeJSON(w, http.StatusOK, m)
			return nil
		}
		return s.created(w, m)
	case http.MethodPost:
		var body struct {
			CopyFrom string `json:"copy_from"`
			Ext      string `json:"ext"`
			Type     string `json:"type"`
		}
		if _, err := decodeLimited(w, r, &body, maxSmallBody, "a POST to the contents API carries only copy_from, ext and type"); err != nil {
			return err
		}
		dir, err := c.Get(ctx, p, GetOptions{})
		if err != nil {
			return err
		}
		if dir.Type != "directory" {
			return Errorf(http.StatusBadRequest, "cannot POST to files, use PUT instead")
		}
		var m *Model
		if body.CopyFrom != "" {
			from := strings.Trim(body.CopyFrom, "/")
			m, err = c.Copy(ctx, from, p)
		} else {
			m, err = c.NewUntitled(ctx, p, body.Type, body.Ext)
		}
		if err != nil {
			return err
		}
		return s.created(w, m)
	case http.MethodPatch:
		var body struct {
			Path *string `json:"path"`
		}
		if _, err := decodeLimited(w, r, &body, maxSmallBody, "a PATCH to the contents API carries only the new path"); err != nil {
			return err
		}
		if body.Path == nil {
			return Errorf(http.StatusBadRequest, "PATCH needs the new path: {\"path\": ...}")
		}
		m, err := c.Rename(ctx, p, strings.Trim(*body.Path, "/"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m)
	case http.MethodDelete:
		if err := c.Delete(ctx, p); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		return errMethod(r)
	}
	return nil
}

func (s *Server) created(w http.ResponseWriter, m *Model) error {
	w.Header().Set("Location", s.base+"api/contents/"+escapePath(m.Path))
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func boolArg(v string, def bool, name string) (bool, error) {
	switch v {
	case "":
		return def, nil
	case "1", "true", "True":
		return true, nil
	case "0", "false", "False":
		return false, nil
	}
	return false, Errorf(http.StatusBadRequest, "%s %q is invalid: use 0 or 1", name, v)
}

func (s *Server) handleCheckpoints(w http.ResponseWriter, r *http.Request, p, escapedID string) error {
	ctx := r.Context()
	c := s.cfg.Contents
	if escapedID == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			cps, err := c.ListCheckpoints(ctx, p)
			if err != nil {
				return err
			}
			if cps == nil {
				cps = []Checkpoint{}
			}
			writeJSON(w, http.StatusOK, cps)
		case http.MethodPost:
			cp, err := c.CreateCheckpoint(ctx, p)
			if err != nil {
				return err
			}
			w.Header().Set("Location", s.base+"api/contents/"+escapePath(p)+"/checkpoints/"+escapePath(cp.ID))
			writeJSON(w, http.StatusCreated, cp)
		default:
			return errMethod(r)
		}
		return nil
	}
	id, err := unescapePath(escapedID)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodPost:
		err = c.RestoreCheckpoint(ctx, p, id)
	case http.MethodDelete:
		err = c.DeleteCheckpoint(ctx, p, id)
	default:
		return errMethod(r)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request, rest string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errMethod(r)
	}
	p, err := unescapePath(rest)
	if err != nil {
		return err
	}
	f, fi, err := s.cfg.Contents.Open(r.Context(), p)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi.IsDir() {
		return Errorf(http.StatusBadRequest, "%s is a directory", p)
	}
	name := path.Base(p)
	if r.URL.Query().Get("download") != "" && r.URL.Query().Get("download") != "0" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	if strings.HasSuffix(name, ".ipynb") {
		w.Header().Set("Content-Type", "application/x-ipynb+json")
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, fi.ModTime(), f)
	return nil
}

// --- kernelspecs and kernels ---

func (s *Server) specJSON(sp *KernelSpec) map[string]any {
	res := map[string]string{}
	for k, v := range sp.Resources {
		res[k] = s.base + "kernelspecs/" + escapePath(sp.Name) + "/" + escapePath(path.Base(v))
	}
	return map[string]any{"name": sp.Name, "spec": sp.Spec, "resources": res}
}

func (s *Server) handleKernelspecs(w http.ResponseWriter, r *http.Request, rest string) error {
	specs, def := s.cfg.Kernels.Specs()
	name, err := unescapePath(rest)
	if err != nil {
		return err
	}
	if name != "" {
		sp, ok := specs[name]
		if !ok {
			return Errorf(http.StatusNotFound, "kernel spec %s not found", name)
		}
		return methodJSON(w, r, http.MethodGet, s.specJSON(sp))
	}
	out := map[string]any{}
	for n, sp := range specs {
		out[n] = s.specJSON(sp)
	}
	return methodJSON(w, r, http.MethodGet, map[string]any{"default": def, "kernelspecs": out})
}

func (s *Server) handleKernelspecResource(w http.ResponseWriter, r *http.Request, rest string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errMethod(r)
	}
	escName, escRes, ok := strings.Cut(rest, "/")
	if !ok {
		return Errorf(http.StatusNotFound, "no resource given")
	}
	name, err := unescapePath(escName)
	if err != nil {
		return err
	}
	res, err := unescapePath(escRes)
	if err != nil {
		return err
	}
	specs, _ := s.cfg.Kernels.Specs()
	sp, ok := specs[name]
	if !ok || sp.Dir == "" {
		return Errorf(http.StatusNotFound, "kernel spec %s not found", name)
	}
	return serveFileIn(w, r, sp.Dir, res)
}

// serveFileIn serves the file rel under dir, refusing anything that leaves
// dir (.., symlinks out) or is hidden.
func serveFileIn(w http.ResponseWriter, r *http.Request, dir, rel string) error {
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") || strings.Contains(seg, "\\") {
			return Errorf(http.StatusNotFound, "%s not found", rel)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Errorf(http.StatusNotFound, "%s not found", rel)
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return Errorf(http.StatusNotFound, "%s not found", rel)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		return Errorf(http.StatusNotFound, "%s not found", rel)
	}
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
	return nil
}

// kernelCwd returns the directory on disk for a kernel started for the
// contents path p: p itself when a directory, else its nearest parent.
func (s *Server) kernelCwd(p string) string {
	p = strings.Trim(p, "/")
	for {
		if lp, err := s.cfg.Contents.LocalPath(p); err == nil {
			if fi, err := os.Stat(lp); err == nil && fi.IsDir() {
				return lp
			}
		}
		if p == "" {
			return ""
		}
		p = path.Dir(p)
		if p == "." {
			p = ""
		}
	}
}

func (s *Server) handleKernels(w http.ResponseWriter, r *http.Request, rest string) error {
	ctx := r.Context()
	k := s.cfg.Kernels
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			ks := k.List()
			if ks == nil {
				ks = []*KernelModel{}
			}
			writeJSON(w, http.StatusOK, ks)
		case http.MethodPost:
			var body struct {
				Name string `json:"name"`
				Path string `json:"path"`
			}
			if _, err := decodeBody(r, &body); err != nil {
				return err
			}
			km, err := k.Start(ctx, body.Name, s.kernelCwd(body.Path))
			if err != nil {
				return err
			}
			w.Header().Set("Location", s.base+"api/kernels/"+escapePath(km.ID))
			writeJSON(w, http.StatusCreated, km)
		default:
			return errMethod(r)
		}
		return nil
	}
	escID, action, _ := strings.Cut(rest, "/")
	id, err := unescapePath(escID)
	if err != nil {
		return err
	}
	switch action {
	case "":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			km, err := k.Get(id)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, km)
		case http.MethodDelete:
			if err := k.Shutdown(ctx, id); err != nil {
				return err
			}
			s.sessions.dropKernel(id)
			w.WriteHeader(http.StatusNoContent)
		default:
			return errMethod(r)
		}
	case "interrupt":
		if r.Method != http.MethodPost {
			return errMethod(r)
		}
		if err := k.Interrupt(ctx, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	case "restart":
		if r.Method != http.MethodPost {
			return errMethod(r)
		}
		km, err := k.Restart(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, km)
	case "channels":
		if r.Method != http.MethodGet {
			return errMethod(r)
		}
		if _, err := k.Get(id); err != nil {
			return err
		}
		k.ServeChannels(w, r, id)
	default:
		return Errorf(http.StatusNotFound, "no such kernel route: %s", action)
	}
	return nil
}
