package notebookd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeContents is a Contents double: files in a map, calls recorded.
type fakeContents struct {
	mu    sync.Mutex
	files map[string]string // path -> content; "" suffix "/" marks directories
	dirs  map[string]bool
	calls []string
	root  string
}

func newFakeContents(t *testing.T) *fakeContents {
	return &fakeContents{
		files: map[string]string{"a.txt": "hello", "sub/n.ipynb": `{"cells":[]}`},
		dirs:  map[string]bool{"": true, "sub": true},
		root:  t.TempDir(),
	}
}

func (f *fakeContents) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeContents) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeContents) model(p string) (*Model, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Contains(p, "..") {
		return nil, Errorf(http.StatusNotFound, "refused %s", p)
	}
	if f.dirs[p] {
		return &Model{Name: path.Base(p), Path: p, Type: "directory"}, nil
	}
	if _, ok := f.files[p]; ok {
		return &Model{Name: path.Base(p), Path: p, Type: "file"}, nil
	}
	return nil, os.ErrNotExist
}

func (f *fakeContents) Get(ctx context.Context, p string, opt GetOptions) (*Model, error) {
	f.record("Get %s %+v", p, opt)
	return f.model(p)
}

func (f *fakeContents) Save(ctx context.Context, p string, m *Model) (*Model, error) {
	f.record("Save %s %s", p, m.Type)
	f.mu.Lock()
	f.files[p] = fmt.Sprint(m.Content)
	f.mu.Unlock()
	return &Model{Name: path.Base(p), Path: p, Type: m.Type}, nil
}

func (f *fakeContents) NewUntitled(ctx context.Context, dir, typ, ext string) (*Model, error) {
	f.record("NewUntitled %s %s %s", dir, typ, ext)
	p := path.Join(dir, "untitled"+ext)
	return &Model{Name: path.Base(p), Path: p, Type: typ}, nil
}

func (f *fakeContents) Copy(ctx context.Context, from, toDir string) (*Model, error) {
	f.record("Copy %s %s", from, toDir)
	p := path.Join(toDir, "a-Copy1.txt")
	return &Model{Name: path.Base(p), Path: p, Type: "file"}, nil
}

func (f *fakeContents) Rename(ctx context.Context, from, to string) (*Model, error) {
	f.record("Rename %s %s", from, to)
	return &Model{Name: path.Base(to), Path: to, Type: "file"}, nil
}

func (f *fakeContents) Delete(ctx context.Context, p string) error {
	f.record("Delete %s", p)
	_, err := f.model(p)
	return err
}

func (f *fakeContents) CreateCheckpoint(ctx context.Context, p string) (Checkpoint, error) {
	f.record("CreateCheckpoint %s", p)
	return Checkpoint{ID: "checkpoint"}, nil
}

func (f *fakeContents) ListCheckpoints(ctx context.Context, p string) ([]Checkpoint, error) {
	f.record("ListCheckpoints %s", p)
	return nil, nil
}

func (f *fakeContents) RestoreCheckpoint(ctx context.Context, p, id string) error {
	f.record("RestoreCheckpoint %s %s", p, id)
	return nil
}

func (f *fakeContents) DeleteCheckpoint(ctx context.Context, p, id string) error {
	f.record("DeleteCheckpoint %s %s", p, id)
	return nil
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

type fakeInfo struct {
	os.FileInfo
	name string
	size int64
}

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return i.size }
func (i fakeInfo) IsDir() bool        { return false }
func (i fakeInfo) ModTime() time.Time { return time.Unix(1700000000, 0) }

func (f *fakeContents) Open(ctx context.Context, p string) (io.ReadSeekCloser, os.FileInfo, error) {
	f.record("Open %s", p)
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.files[p]
	if !ok {
		return nil, nil, os.ErrNotExist
	}
	return nopCloser{strings.NewReader(c)}, fakeInfo{name: path.Base(p), size: int64(len(c))}, nil
}

func (f *fakeContents) LocalPath(p string) (string, error) {
	return filepath.Join(f.root, filepath.FromSlash(p)), nil
}

// fakeKernels is a Kernels double.
type fakeKernels struct {
	mu      sync.Mutex
	kernels map[string]*KernelModel
	n       int
	cwds    []string
	calls   []string
	specDir string
}

func newFakeKernels(t *testing.T) *fakeKernels {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "logo-64x64.png"), []byte("PNG"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &fakeKernels{kernels: map[string]*KernelModel{}, specDir: dir}
}

func (k *fakeKernels) Specs() (map[string]*KernelSpec, string) {
	return map[string]*KernelSpec{"go": {
		Name:      "go",
		Spec:      map[string]any{"display_name": "Go", "language": "go"},
		Resources: map[string]string{"logo-64x64": "logo-64x64.png"},
		Dir:       k.specDir,
	}}, "go"
}

func (k *fakeKernels) Start(ctx context.Context, name, cwd string) (*KernelModel, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if name == "" {
		name = "go"
	}
	if name != "go" {
		return nil, Errorf(http.StatusNotFound, "no such kernel spec %s", name)
	}
	k.n++
	m := &KernelModel{ID: fmt.Sprintf("k%d", k.n), Name: name, ExecutionState: "idle"}
	k.kernels[m.ID] = m
	k.cwds = append(k.cwds, cwd)
	return m, nil
}

func (k *fakeKernels) Get(id string) (*KernelModel, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m, ok := k.kernels[id]
	if !ok {
		return nil, Errorf(http.StatusNotFound, "kernel %s not found", id)
	}
	c := *m
	return &c, nil
}

func (k *fakeKernels) List() []*KernelModel {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []*KernelModel
	for _, m := range k.kernels {
		c := *m
		out = append(out, &c)
	}
	return out
}

func (k *fakeKernels) Interrupt(ctx context.Context, id string) error {
	_, err := k.Get(id)
	k.mu.Lock()
	k.calls = append(k.calls, "interrupt "+id)
	k.mu.Unlock()
	return err
}

func (k *fakeKernels) Restart(ctx context.Context, id string) (*KernelModel, error) {
	return k.Get(id)
}

func (k *fakeKernels) Shutdown(ctx context.Context, id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.kernels[id]; !ok {
		return Errorf(http.StatusNotFound, "kernel %s not found", id)
	}
	delete(k.kernels, id)
	k.calls = append(k.calls, "shutdown "+id)
	return nil
}

func (k *fakeKernels) ServeChannels(w http.ResponseWriter, r *http.Request, id string) {
	w.WriteHeader(http.StatusTeapot) // marks "reached the kernel manager"
	_, _ = io.WriteString(w, "channels "+id)
}

func (k *fakeKernels) Close(ctx context.Context) error { return nil }

const testToken = "secret-token"

type env struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
	c   *fakeContents
	k   *fakeKernels
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, c: newFakeContents(t), k: newFakeKernels(t)}
	cfg := Config{Contents: e.c, Kernels: e.k, Token: testToken, DataDir: t.TempDir()}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(e.ts.Close)
	return e
}

// do sends a request with the token header unless hdr overrides it.
func (e *env) do(method, target, body string, hdr map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+target, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+testToken)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	if h, ok := hdr["Host"]; ok {
		req.Host = h
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestRoutes(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		method, target, body string
		want                 int
		wantBody             string // substring
		wantCall             string // last Contents call
	}{
		{"GET", "/api", "", 200, `"version":"2.14.2"`, ""},
		{"GET", "/api/?_=123", "", 200, `"version"`, ""},
		{"GET", "/api/status", "", 200, `"kernels":0`, ""},
		{"GET", "/api/me?permissions=" + url.QueryEscape(`{"contents":["read","write"]}`), "", 200, `"permissions":{"contents":["read","write"]}`, ""},
		{"GET", "/api/me?permissions=notjson", "", 400, `"reason":"Bad Request"`, ""},
		{"GET", "/api/contents?1700000000", "", 200, `"type":"directory"`, "Get  {Type: Format: Content:true Hash:false}"},
		{"GET", "/api/contents/a.txt?content=0&hash=1&type=file&format=text&foo=bar", "", 200, `"name":"a.txt"`, "Get a.txt {Type:file Format:text Content:false Hash:true}"},
		{"GET", "/api/contents/a.txt?content=2", "", 400, "content", ""},
		{"GET", "/api/contents/a.txt?type=bogus", "", 400, "type", ""},
		{"GET", "/api/contents/missing", "", 404, `"reason":"Not Found"`, "Get missing {Type: Format: Content:true Hash:false}"},
		{"GET", "/api/contents/sub%2Fn.ipynb", "", 200, `"path":"sub/n.ipynb"`, "Get sub/n.ipynb {Type: Format: Content:true Hash:false}"},
		{"GET", "/api/contents/with%20space/x%23y.txt", "", 404, "", "Get with space/x#y.txt {Type: Format: Content:true Hash:false}"},
		{"GET", "/api/contents/%2e%2e/etc/passwd", "", 404, "refused", "Get ../etc/passwd {Type: Format: Content:true Hash:false}"},
		{"GET", "/api/contents/sub/%2e%2e/%2e%2e/x", "", 404, "refused", "Get sub/../../x {Type: Format: Content:true Hash:false}"},
		{"PUT", "/api/contents/a.txt", `{"type":"file","format":"text","content":"x"}`, 200, `"path":"a.txt"`, "Save a.txt file"},
		{"PUT", "/api/contents/new.txt", `{"type":"file","format":"text","content":"x"}`, 201, `"path":"new.txt"`, "Save new.txt file"},
		{"PUT", "/api/contents/new.txt", `{"copy_from":"a.txt"}`, 400, "POST", ""},
		{"PUT", "/api/contents/new.txt", `{bad json`, 400, "invalid JSON", ""},
		{"POST", "/api/contents/sub", `{"type":"notebook","ext":".ipynb"}`, 201, `"path":"sub/untitled.ipynb"`, "NewUntitled sub notebook .ipynb"},
		{"POST", "/api/contents", `{"copy_from":"/a.txt"}`, 201, `"a-Copy1.txt"`, "Copy a.txt "},
		{"POST", "/api/contents/a.txt", `{"type":"file"}`, 400, "PUT", ""},
		{"PATCH", "/api/contents/a.txt", `{"path":"b.txt"}`, 200, `"path":"b.txt"`, "Rename a.txt b.txt"},
		{"PATCH", "/api/contents/a.txt", `{}`, 400, "path", ""},
		{"DELETE", "/api/contents/a.txt", "", 204, "", "Delete a.txt"},
		{"GET", "/api/contents/a.txt/checkpoints", "", 200, "[]", "ListCheckpoints a.txt"},
		{"POST", "/api/contents/sub/n.ipynb/checkpoints", "", 201, `"id":"checkpoint"`, "CreateCheckpoint sub/n.ipynb"},
		{"POST", "/api/contents/sub/n.ipynb/checkpoints/checkpoint", "", 204, "", "RestoreCheckpoint sub/n.ipynb checkpoint"},
		{"DELETE", "/api/contents/sub/n.ipynb/checkpoints/checkpoint", "", 204, "", "DeleteCheckpoint sub/n.ipynb checkpoint"},
		{"GET", "/files/a.txt?x=1", "", 200, "x", "Open a.txt"},
		{"GET", "/files/%2e%2e/a.txt", "", 404, "", "Open ../a.txt"},
		{"GET", "/api/kernelspecs", "", 200, `"default":"go"`, ""},
		{"GET", "/api/kernelspecs/go", "", 200, `"resources":{"logo-64x64":"/kernelspecs/go/logo-64x64.png"}`, ""},
		{"GET", "/kernelspecs/go/logo-64x64.png", "", 200, "PNG", ""},
		{"GET", "/kernelspecs/go/..%2f..%2fetc%2fpasswd", "", 404, "", ""},
		{"GET", "/kernelspecs/go/.hidden", "", 404, "", ""},
		{"GET", "/api/kernels", "", 200, "[]", ""},
		{"GET", "/api/kernels/nope", "", 404, "not found", ""},
		{"GET", "/api/sessions", "", 200, "[]", ""},
		{"GET", "/api/sessions/nope", "", 404, "not found", ""},
		{"POST", "/api/sessions", `{}`, 400, "path", ""},
		{"GET", "/api/terminals", "", 200, "[]", ""}, // terminals off (Config.Terminals nil)
		{"POST", "/api/terminals", "", 404, "--no-terminals", ""},
		{"GET", "/api/terminals/1", "", 404, "terminals are disabled", ""},
		{"DELETE", "/api/terminals/1", "", 404, "terminals are disabled", ""},
		{"GET", "/terminals/websocket/1", "", 404, "terminals are disabled", ""},
		{"GET", "/api/nonexistent", "", 404, `"message"`, ""},
		{"GET", "/lab/api/translations", "", 200, `"en"`, ""},
		{"GET", "/lab/api/translations/fr_FR", "", 200, `{"data":{},"message":""}`, ""},
		{"GET", "/lab/api/settings", "", 200, `{"settings":[]}`, ""},
		{"GET", "/lab/api/workspaces", "", 200, `"ids":[]`, ""},
		{"GET", "/lab/api/workspaces/default", "", 200, `"metadata":{"id":"default"}`, ""},
		{"DELETE", "/lab/api/workspaces/nope", "", 404, "", ""},
		{"GET", "/api/config/notebook", "", 200, "{}", ""},
		{"GET", "/api/config/..%2fx", "", 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			resp, body := e.do(tt.method, tt.target, tt.body, nil)
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.want, body)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body = %s, want it to contain %s", body, tt.wantBody)
			}
			if tt.want >= 400 && !strings.Contains(body, `"reason"`) && tt.method != "HEAD" {
				t.Errorf("error body %s is not {message, reason}", body)
			}
			if tt.wantCall != "" {
				if got := e.c.last(); got != tt.wantCall {
					t.Errorf("last contents call = %q, want %q", got, tt.wantCall)
				}
			}
		})
	}
}

func TestLocationHeaders(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BaseURL = "/base/" })
	resp, _ := e.do("POST", "/base/api/contents/sub", `{"type":"file","ext":".txt"}`, nil)
	if got, want := resp.Header.Get("Location"), "/base/api/contents/sub/untitled.txt"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	resp, _ = e.do("PUT", "/base/api/contents/new%20file.txt", `{"type":"file","format":"text","content":""}`, nil)
	if got, want := resp.Header.Get("Location"), "/base/api/contents/new%20file.txt"; resp.StatusCode != 201 || got != want {
		t.Errorf("PUT: %d Location = %q, want 201 %q", resp.StatusCode, got, want)
	}
	resp, _ = e.do("POST", "/base/api/kernels", `{}`, nil)
	if got, want := resp.Header.Get("Location"), "/base/api/kernels/k1"; resp.StatusCode != 201 || got != want {
		t.Errorf("kernels: %d Location = %q, want 201 %q", resp.StatusCode, got, want)
	}
	if resp, _ := e.do("GET", "/api", "", nil); resp.StatusCode != 404 {
		t.Errorf("outside the base URL: %d, want 404", resp.StatusCode)
	}
	resp, body := e.do("GET", "/base/api/kernelspecs", "", nil)
	if !strings.Contains(body, `"/base/kernelspecs/go/logo-64x64.png"`) {
		t.Errorf("kernelspecs %d %s: want resources under the base URL", resp.StatusCode, body)
	}
}

func TestFilesDownload(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.do("GET", "/files/a.txt?download=1", "", nil)
	if resp.StatusCode != 200 || body != "hello" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("Content-Disposition"), `attachment; filename=a.txt`; got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
	resp, _ = e.do("GET", "/files/a.txt", "", map[string]string{"Range": "bytes=1-2"})
	if resp.StatusCode != http.StatusPartialContent {
		t.Errorf("range: %d, want 206", resp.StatusCode)
	}
}

func TestKernelsAndSessions(t *testing.T) {
	e := newEnv(t, nil)
	if err := os.MkdirAll(filepath.Join(e.c.root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do("POST", "/api/kernels", `{"name":"go","path":"sub/n.ipynb"}`, nil)
	if resp.StatusCode != 201 || !strings.Contains(body, `"id":"k1"`) {
		t.Fatalf("start: %d %s", resp.StatusCode, body)
	}
	if got, want := e.k.cwds[0], filepath.Join(e.c.root, "sub"); got != want {
		t.Errorf("cwd = %q, want %q", got, want)
	}
	if resp, body := e.do("POST", "/api/kernels", `{"name":"nope"}`, nil); resp.StatusCode != 404 {
		t.Errorf("unknown spec: %d %s", resp.StatusCode, body)
	}
	for _, tt := range []struct {
		method, target string
		want           int
	}{
		{"GET", "/api/kernels/k1", 200},
		{"POST", "/api/kernels/k1/interrupt", 204},
		{"POST", "/api/kernels/k1/restart", 200},
		{"GET", "/api/kernels/k1/interrupt", 405},
		{"GET", "/api/kernels/k1/channels?session_id=x", http.StatusTeapot},
		{"GET", "/api/kernels/k9/channels", 404},
		{"DELETE", "/api/kernels/k1", 204},
		{"DELETE", "/api/kernels/k1", 404},
	} {
		if resp, body := e.do(tt.method, tt.target, "", nil); resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d (%s)", tt.method, tt.target, resp.StatusCode, tt.want, body)
		}
	}

	// sessions
	resp, body = e.do("POST", "/api/sessions", `{"path":"sub/n.ipynb","name":"n.ipynb","type":"notebook","kernel":{"name":"go"}}`, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("session: %d %s", resp.StatusCode, body)
	}
	var sm SessionModel
	if err := json.Unmarshal([]byte(body), &sm); err != nil {
		t.Fatal(err)
	}
	if sm.Kernel == nil || sm.Kernel.ID != "k2" || sm.Path != "sub/n.ipynb" || sm.Notebook["path"] != "sub/n.ipynb" || sm.Type != "notebook" {
		t.Errorf("session = %+v", sm)
	}
	if resp.Header.Get("Location") != "/api/sessions/"+sm.ID {
		t.Errorf("Location = %q", resp.Header.Get("Location"))
	}
	// Same path: the same session.
	_, body = e.do("POST", "/api/sessions", `{"path":"sub/n.ipynb","type":"notebook","kernel":{"name":"go"}}`, nil)
	if !strings.Contains(body, sm.ID) {
		t.Errorf("second POST for the same path: %s", body)
	}
	// Attach to an existing kernel.
	_, kb := e.do("POST", "/api/kernels", `{}`, nil) // k3
	_, body = e.do("POST", "/api/sessions", `{"path":"other.ipynb","type":"notebook","kernel":{"id":"k3"}}`, nil)
	if !strings.Contains(body, `"id":"k3"`) {
		t.Errorf("attach: %s (kernel %s)", body, kb)
	}
	if resp, _ := e.do("POST", "/api/sessions", `{"path":"x.ipynb","kernel":{"id":"k99"}}`, nil); resp.StatusCode != 404 {
		t.Errorf("attach to a missing kernel: %d, want 404", resp.StatusCode)
	}
	// Rename, and change the kernel: the old one is shut down.
	resp, body = e.do("PATCH", "/api/sessions/"+sm.ID, `{"path":"sub/m.ipynb","kernel":{"name":"go"}}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"path":"sub/m.ipynb"`) || !strings.Contains(body, `"id":"k4"`) {
		t.Errorf("PATCH: %d %s", resp.StatusCode, body)
	}
	if _, err := e.k.Get("k2"); err == nil {
		t.Error("the replaced kernel k2 still runs")
	}
	_, body = e.do("GET", "/api/sessions", "", nil)
	var list []SessionModel
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 2 {
		t.Errorf("list: %v %s", err, body)
	}
	if resp, _ := e.do("DELETE", "/api/sessions/"+sm.ID, "", nil); resp.StatusCode != 204 {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	if _, err := e.k.Get("k4"); err == nil {
		t.Error("DELETE of the session left its kernel k4 running")
	}
	if resp, _ := e.do("GET", "/api/sessions/"+sm.ID, "", nil); resp.StatusCode != 404 {
		t.Errorf("GET deleted: %d", resp.StatusCode)
	}
	_, body = e.do("GET", "/api/status", "", nil)
	if !strings.Contains(body, `"kernels":1`) {
		t.Errorf("status: %s", body)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name   string
		method string
		target string
		hdr    map[string]string
		want   int
	}{
		{"no token", "GET", "/api/contents", map[string]string{"Authorization": ""}, 403},
		{"wrong token header", "GET", "/api/contents", map[string]string{"Authorization": "token nope"}, 403},
		{"wrong token query", "GET", "/api/contents?token=nope", map[string]string{"Authorization": ""}, 403},
		{"token query", "GET", "/api/contents?token=" + testToken, map[string]string{"Authorization": ""}, 200},
		{"bearer", "GET", "/api/contents", map[string]string{"Authorization": "Bearer " + testToken}, 200},
		{"token POST without xsrf", "POST", "/api/contents", map[string]string{"Content-Type": "application/json"}, 201},
		{"cross origin", "GET", "/api/contents", map[string]string{"Origin": "http://evil.com"}, 403},
		{"cross origin websocket", "GET", "/api/kernels/k1/channels", map[string]string{"Origin": "http://evil.com", "Connection": "Upgrade", "Upgrade": "websocket"}, 403},
		{"evil host", "GET", "/api/contents", map[string]string{"Host": "evil.com"}, 403},
		{"evil host with port", "GET", "/api/contents", map[string]string{"Host": "evil.com:8888"}, 403},
		{"localhost host", "GET", "/api/contents", map[string]string{"Host": "localhost:8888", "Origin": "http://localhost:8888"}, 200},
		{"ipv6 host", "GET", "/api/contents", map[string]string{"Host": "[::1]:8888"}, 200},
		{"unauthenticated page", "GET", "/lab", map[string]string{"Authorization": ""}, 302},
		{"unauthenticated websocket", "GET", "/api/kernels/k1/channels", map[string]string{"Authorization": "", "Connection": "Upgrade", "Upgrade": "websocket"}, 403},
		{"unauthenticated terminal websocket", "GET", "/terminals/websocket/1", map[string]string{"Authorization": "", "Connection": "Upgrade", "Upgrade": "websocket"}, 403},
		{"cross origin terminal websocket", "GET", "/terminals/websocket/1", map[string]string{"Origin": "http://evil.com", "Connection": "Upgrade", "Upgrade": "websocket"}, 403},
		{"static needs no login", "GET", "/static/lab/nothing.js", map[string]string{"Authorization": ""}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(tt.method, tt.target, "{}", tt.hdr)
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tt.want, body)
			}
			if tt.want == 403 && !strings.Contains(body, `"message"`) {
				t.Errorf("403 body %q is not JSON", body)
			}
		})
	}
	resp, _ := e.do("GET", "/lab?x=1", "", map[string]string{"Authorization": ""})
	if loc := resp.Header.Get("Location"); loc != "/login?next="+url.QueryEscape("/lab?x=1") {
		t.Errorf("redirect to %q", loc)
	}

	// The websocket upgrade with a token reaches the kernel manager.
	e.k.Start(context.Background(), "go", "")
	resp, _ = e.do("GET", "/api/kernels/k1/channels?token="+testToken, "", map[string]string{"Authorization": "", "Origin": e.ts.URL, "Connection": "Upgrade", "Upgrade": "websocket"})
	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("same-origin websocket: %d", resp.StatusCode)
	}

	remote := newEnv(t, func(c *Config) { c.AllowRemoteAccess = true })
	if resp, _ := remote.do("GET", "/api/contents", "", map[string]string{"Host": "evil.com"}); resp.StatusCode != 200 {
		t.Errorf("AllowRemoteAccess: evil.com got %d", resp.StatusCode)
	}
	anyOrigin := newEnv(t, func(c *Config) { c.AllowOrigin = "*" })
	resp, _ = anyOrigin.do("GET", "/api/contents", "", map[string]string{"Origin": "http://other.example"})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://other.example" {
		t.Errorf("AllowOrigin=*: %d ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	one := newEnv(t, func(c *Config) { c.AllowOrigin = "https://app.example" })
	if resp, _ := one.do("GET", "/api/contents", "", map[string]string{"Origin": "https://app.example"}); resp.StatusCode != 200 {
		t.Errorf("allowed origin: %d", resp.StatusCode)
	}
	if resp, _ := one.do("GET", "/api/contents", "", map[string]string{"Origin": "https://other.example"}); resp.StatusCode != 403 {
		t.Errorf("other origin: %d", resp.StatusCode)
	}
}

func cookieHeader(resp *http.Response) string {
	var parts []string
	for _, c := range resp.Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

func TestCookieAuthAndXSRF(t *testing.T) {
	e := newEnv(t, nil)
	// A page load with ?token= sets the login and _xsrf cookies.
	resp, _ := e.do("GET", "/lab?token="+testToken, "", map[string]string{"Authorization": ""})
	cookies := cookieHeader(resp)
	var xsrf string
	for _, c := range resp.Cookies() {
		if c.Name == "_xsrf" {
			xsrf = c.Value
		}
		if strings.HasPrefix(c.Name, "ferry-login-") && (!c.HttpOnly || c.SameSite != http.SameSiteLaxMode) {
			t.Errorf("login cookie %+v is not HttpOnly SameSite=Lax", c)
		}
	}
	if !strings.Contains(cookies, "ferry-login-") || xsrf == "" {
		t.Fatalf("cookies after the page load: %q", cookies)
	}
	noTok := map[string]string{"Authorization": "", "Cookie": cookies}
	if resp, body := e.do("GET", "/api/contents", "", noTok); resp.StatusCode != 200 {
		t.Errorf("cookie GET: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do("POST", "/api/contents", `{"type":"file"}`, noTok); resp.StatusCode != 403 || !strings.Contains(body, "xsrf") {
		t.Errorf("cookie POST without XSRF: %d %s", resp.StatusCode, body)
	}
	bad := map[string]string{"Authorization": "", "Cookie": cookies, "X-XSRFToken": "wrong"}
	if resp, _ := e.do("POST", "/api/contents", `{"type":"file"}`, bad); resp.StatusCode != 403 {
		t.Errorf("cookie POST with a wrong XSRF: %d", resp.StatusCode)
	}
	good := map[string]string{"Authorization": "", "Cookie": cookies, "X-XSRFToken": xsrf}
	if resp, body := e.do("POST", "/api/contents", `{"type":"file"}`, good); resp.StatusCode != 201 {
		t.Errorf("cookie POST with XSRF: %d %s", resp.StatusCode, body)
	}
	// Logout invalidates the cookie.
	e.do("GET", "/logout", "", noTok)
	if resp, _ := e.do("GET", "/api/contents", "", noTok); resp.StatusCode != 403 {
		t.Errorf("after logout: %d", resp.StatusCode)
	}
}

func TestPasswordLogin(t *testing.T) {
	hash := hashPassword("hunter2", []byte("salt"), 1000)
	if !CheckPassword(hash, "hunter2") || CheckPassword(hash, "hunter3") {
		t.Fatal("CheckPassword")
	}
	if h := HashPassword("x"); !CheckPassword(h, "x") || !strings.HasPrefix(h, "pbkdf2-sha256:600000:") {
		t.Errorf("HashPassword = %q", h)
	}
	e := newEnv(t, func(c *Config) { c.Token = ""; c.PasswordHash = hash })
	if e.srv.Token() != "" {
		t.Errorf("password only: token %q", e.srv.Token())
	}
	noAuth := map[string]string{"Authorization": ""}
	resp, body := e.do("GET", "/login?next=%2Flab%2Ftree%2Fa.txt", "", noAuth)
	if resp.StatusCode != 200 || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login page: %d %s", resp.StatusCode, body)
	}
	cookies := cookieHeader(resp)
	xsrf := regexp.MustCompile(`name="_xsrf" value="([^"]+)"`).FindStringSubmatch(body)[1]
	post := func(pw, xs string) *http.Response {
		form := url.Values{"password": {pw}, "_xsrf": {xs}}
		resp, _ := e.do("POST", "/login?next=%2Flab%2Ftree%2Fa.txt", form.Encode(), map[string]string{
			"Authorization": "", "Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"})
		return resp
	}
	if resp := post("hunter2", "bad"); resp.StatusCode != 403 {
		t.Errorf("login without xsrf: %d", resp.StatusCode)
	}
	if resp := post("wrong", xsrf); resp.StatusCode != 401 {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	resp = post("hunter2", xsrf)
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/lab/tree/a.txt" {
		t.Fatalf("login: %d -> %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	all := cookies + "; " + cookieHeader(resp)
	if resp, _ := e.do("GET", "/api/contents", "", map[string]string{"Authorization": "", "Cookie": all}); resp.StatusCode != 200 {
		t.Errorf("after login: %d", resp.StatusCode)
	}
	// An open redirect is refused.
	if got := e.srv.safeNext("//evil.com/x"); got != "/lab" {
		t.Errorf("safeNext(//evil.com) = %q", got)
	}
	if _, err := NewServer(Config{Contents: e.c, Kernels: e.k, PasswordHash: "argon2:xyz"}); err == nil {
		t.Error("a bad password hash was accepted")
	}
}

func TestLabPage(t *testing.T) {
	// No assets: a clear 503.
	e := newEnv(t, nil)
	resp, body := e.do("GET", "/lab", "", nil)
	if resp.StatusCode != 503 || !strings.Contains(body, "not built") {
		t.Errorf("no assets: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do("GET", "/", "", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/lab" {
		t.Errorf("/ -> %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	assets := t.TempDir()
	tmpl := `<!doctype html><html><head>{% set page_config_full = page_config.copy() %}
<script id="jupyter-config-data" type="application/json">{{ page_config_full | tojson }}</script>
</head><body><script src="{{page_config.fullStaticUrl}}/bundle.js"></script></body></html>`
	mustWrite(t, filepath.Join(assets, "static", "index.html"), tmpl)
	mustWrite(t, filepath.Join(assets, "static", "bundle.js"), "console.log(1)")
	mustWrite(t, filepath.Join(assets, "themes", "@jupyterlab", "theme-light-extension", "index.css"), "body{}")
	mustWrite(t, filepath.Join(assets, "schemas", "@jupyterlab", "apputils-extension", "themes.json"), `{"type":"object","properties":{"theme":{"type":"string"}}}`)
	e = newEnv(t, func(c *Config) { c.LabAssetsDir = assets; c.BaseURL = "/b" })
	resp, body = e.do("GET", "/b/lab/tree/sub/n%20b.ipynb?reset&foo", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("page: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `src="/b/static/lab/bundle.js"`) || strings.Contains(body, "{%") {
		t.Errorf("template not rendered: %s", body)
	}
	m := regexp.MustCompile(`(?s)<script id="jupyter-config-data" type="application/json">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no page_config in %s", body)
	}
	var pc map[string]any
	if err := json.Unmarshal([]byte(m[1]), &pc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"baseUrl": "/b/", "token": testToken, "appUrl": "/lab", "fullStaticUrl": "/b/static/lab",
		"themesUrl": "/b/lab/api/themes", "settingsUrl": "/b/lab/api/settings", "workspacesUrl": "/b/lab/workspaces",
		"treePath": "sub/n b.ipynb", "appName": "JupyterLab", "appVersion": "4.6.0", "notebookStartsKernel": true,
		"exposeAppInBrowser": false, "hubUser": "", "terminalsAvailable": false, "wsUrl": "ws://" + strings.TrimPrefix(e.ts.URL, "http://") + "/b/",
	}
	for k, v := range want {
		if pc[k] != v {
			t.Errorf("page_config[%s] = %#v, want %#v", k, pc[k], v)
		}
	}
	for _, k := range []string{"federated_extensions", "disabledExtensions"} {
		if _, ok := pc[k].([]any); !ok {
			t.Errorf("page_config[%s] = %#v, want an array", k, pc[k])
		}
	}
	for _, k := range []string{"mathjaxUrl", "fullSettingsUrl", "workspacesApiUrl"} {
		if _, ok := pc[k]; !ok {
			t.Errorf("page_config has no %s", k)
		}
	}
	_, body = e.do("GET", "/b/lab/workspaces/foo", "", nil)
	if !strings.Contains(body, `"workspace":"foo"`) {
		t.Errorf("workspace page: %s", body)
	}
	for _, tt := range []struct {
		target string
		want   int
		body   string
	}{
		{"/b/static/lab/bundle.js?v=123", 200, "console.log(1)"},
		{"/b/static/lab/..%2f..%2fetc%2fpasswd", 404, ""},
		{"/b/lab/api/themes/@jupyterlab/theme-light-extension/index.css", 200, "body{}"},
		{"/b/lab/api/settings", 200, `"id":"@jupyterlab/apputils-extension:themes"`},
		{"/b/lab/api/settings?ids_only=true", 200, `{"ids":["@jupyterlab/apputils-extension:themes"]}`},
		{"/b/lab/api/settings/@jupyterlab/apputils-extension:themes", 200, `"raw":"{}"`},
		{"/b/lab/api/settings/@jupyterlab/nope:x", 404, ""},
		{"/b/lab/api/settings/..%2F..:x", 400, ""},
	} {
		if resp, body := e.do("GET", tt.target, "", nil); resp.StatusCode != tt.want || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s: %d %s, want %d %s", tt.target, resp.StatusCode, body, tt.want, tt.body)
		}
	}
	raw := `{
  // the theme
  "theme": "JupyterLab Dark",
}`
	b, _ := json.Marshal(map[string]string{"raw": raw})
	if resp, body := e.do("PUT", "/b/lab/api/settings/@jupyterlab/apputils-extension:themes", string(b), nil); resp.StatusCode != 204 {
		t.Fatalf("PUT settings: %d %s", resp.StatusCode, body)
	}
	_, body = e.do("GET", "/b/lab/api/settings/@jupyterlab/apputils-extension:themes", "", nil)
	if !strings.Contains(body, `"settings":{"theme":"JupyterLab Dark"}`) || !strings.Contains(body, `"version":"4.6.0"`) {
		t.Errorf("settings after PUT: %s", body)
	}
}

func TestWorkspacesAndConfig(t *testing.T) {
	e := newEnv(t, nil)
	ws := `{"data":{"layout-restorer:data":{}},"metadata":{"id":"default"}}`
	if resp, body := e.do("PUT", "/lab/api/workspaces/default", ws, nil); resp.StatusCode != 204 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	_, body := e.do("GET", "/lab/api/workspaces/default", "", nil)
	if !strings.Contains(body, "layout-restorer:data") {
		t.Errorf("GET: %s", body)
	}
	_, body = e.do("GET", "/lab/api/workspaces", "", nil)
	if !strings.Contains(body, `"ids":["default"]`) {
		t.Errorf("list: %s", body)
	}
	if resp, _ := e.do("DELETE", "/lab/api/workspaces/default", "", nil); resp.StatusCode != 204 {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}

	if resp, body := e.do("PATCH", "/api/config/notebook", `{"a":{"b":1,"c":2},"d":true}`, nil); resp.StatusCode != 200 {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, body)
	}
	_, body = e.do("PATCH", "/api/config/notebook", `{"a":{"c":null,"e":3}}`, nil)
	if body != `{"a":{"b":1,"e":3},"d":true}` {
		t.Errorf("merged: %s", body)
	}
	_, body = e.do("GET", "/api/config/notebook", "", nil)
	if body != `{"a":{"b":1,"e":3},"d":true}` {
		t.Errorf("persisted: %s", body)
	}
	if _, err := os.Stat(filepath.Join(e.srv.cfg.DataDir, "config", "notebook.json")); err != nil {
		t.Error(err)
	}
}

func TestListenAndServe(t *testing.T) {
	c, k := newFakeContents(t), newFakeKernels(t)
	var out bytes.Buffer
	var mu sync.Mutex
	srv, err := NewServer(Config{Contents: c, Kernels: k, Port: -1, Out: lockedWriter{&mu, &out}})
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Token()) != 48 {
		t.Errorf("random token %q is not 48 hex digits", srv.Token())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Addr() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get("http://" + srv.Addr() + "/api?token=" + srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /api: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(out.String(), "/lab?token="+srv.Token()) {
		t.Errorf("banner %q has no URL with the token", out.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func mustWrite(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestControlPlane: /api/ferry/v1/ reaches Config.Control with the prefix
// stripped, with the server's token, a login cookie, or the API token the
// server gives the processes it starts — which opens nothing else.
func TestControlPlane(t *testing.T) {
	var gotPath string
	control := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.EscapedPath()
		w.WriteHeader(http.StatusTeapot)
	})
	t.Run("token", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Control = control })
		resp, _ := e.do("GET", "/api/ferry/v1/runs/a%2Fb", "", nil)
		if resp.StatusCode != http.StatusTeapot || gotPath != "/runs/a%2Fb" {
			t.Errorf("status %d path %q, want 418 /runs/a%%2Fb", resp.StatusCode, gotPath)
		}
		resp, _ = e.do("GET", "/api/ferry/v1/experiments", "", map[string]string{"Authorization": "token wrong"})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("wrong token: status %d", resp.StatusCode)
		}
		if e.srv.apiToken != testToken {
			t.Errorf("API token %q, want the server's token", e.srv.apiToken)
		}
	})
	t.Run("password only", func(t *testing.T) {
		e := newEnv(t, func(c *Config) {
			c.Token = ""
			c.PasswordHash = HashPassword("pw")
			c.Control = control
		})
		api := e.srv.apiToken
		if len(api) < 32 {
			t.Fatalf("no API token for kernels: %q", api)
		}
		resp, _ := e.do("POST", "/api/ferry/v1/runs", "{}", map[string]string{"Authorization": "token " + api})
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("API token on the control plane: status %d", resp.StatusCode)
		}
		resp, _ = e.do("GET", "/api/contents", "", map[string]string{"Authorization": "token " + api})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("API token on /api/contents: status %d, want 403", resp.StatusCode)
		}
	})
	t.Run("no control plane", func(t *testing.T) {
		e := newEnv(t, nil)
		if resp, body := e.do("GET", "/api/ferry/v1/experiments", "", nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "control plane") {
			t.Errorf("status %d %s", resp.StatusCode, body)
		}
	})
	t.Run("stubs", func(t *testing.T) {
		e := newEnv(t, nil)
		for _, p := range []string{"/lsp/status", "/lab/api/listings/@jupyterlab/extensionmanager-extension/listings.json"} {
			if resp, body := e.do("GET", p, "", nil); resp.StatusCode != 200 || !strings.HasPrefix(body, "{") {
				t.Errorf("GET %s: %d %s", p, resp.StatusCode, body)
			}
		}
		if resp, _ := e.do("GET", "/favicon.ico", "", nil); resp.StatusCode != http.StatusNoContent {
			t.Errorf("favicon: %d", resp.StatusCode)
		}
	})
}

// TestLabExtensions: prebuilt (federated) extensions in the labextensions
// directories are listed in page_config and their files served; a
// directory without a built package.json is skipped, the first directory
// wins, and no path leaves an extension's directory.
func TestLabExtensions(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	write := func(dir, rel, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkg := func(name, load string) string {
		return `{"name": "` + name + `", "jupyterlab": {"_build": {"load": "` + load + `", "extension": "./extension", "style": "./style"}}}`
	}
	write(first, "@acme/viewer/package.json", pkg("@acme/viewer", "static/remoteEntry.1.js"))
	write(first, "@acme/viewer/static/remoteEntry.1.js", "// first")
	write(second, "@acme/viewer/package.json", pkg("@acme/viewer", "static/remoteEntry.2.js"))
	write(second, "plain/package.json", pkg("plain", "static/remoteEntry.p.js"))
	write(second, "plain/static/remoteEntry.p.js", "// plain")
	write(second, "broken/install.json", `{"packageManager": "python"}`)
	write(second, "misnamed/package.json", pkg("other-name", "static/x.js"))
	write(second, "secret.txt", "no")

	e := newEnv(t, func(c *Config) { c.LabExtensionsDirs = []string{first, second} })
	req := httptest.NewRequest("GET", "/lab", nil)
	exts := e.srv.PageConfig(req, "", "")["federated_extensions"].([]labExtension)
	var got []string
	for _, x := range exts {
		got = append(got, x.Name+" "+x.Load)
	}
	if want := []string{"@acme/viewer static/remoteEntry.1.js", "plain static/remoteEntry.p.js"}; !reflect.DeepEqual(got, want) {
		t.Errorf("federated_extensions = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/lab/extensions/@acme/viewer/static/remoteEntry.1.js", 200, "// first"},
		{"/lab/extensions/%40acme/viewer/static/remoteEntry.1.js", 200, "// first"},
		{"/lab/extensions/plain/static/remoteEntry.p.js", 200, "// plain"},
		{"/lab/extensions/plain/../secret.txt", 404, ""},
		{"/lab/extensions/plain/%2e%2e/secret.txt", 404, ""},
		{"/lab/extensions/broken/install.json", 404, ""},
		{"/lab/extensions/nope/x.js", 404, ""},
	} {
		resp, body := e.do("GET", tt.path, "", map[string]string{"Authorization": ""})
		if resp.StatusCode != tt.status || (tt.body != "" && body != tt.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
	}
}
