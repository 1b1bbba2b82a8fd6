package notebookd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryml/ferry/notebookd"
	"github.com/ferryml/ferry/notebookd/contents"
)

// noKernels is a Kernels with no kernelspecs, for contents tests.
type noKernels struct{}

func (noKernels) Specs() (map[string]*notebookd.KernelSpec, string) { return nil, "" }
func (noKernels) Start(context.Context, string, string) (*notebookd.KernelModel, error) {
	return nil, notebookd.Errorf(http.StatusNotFound, "no kernels")
}
func (noKernels) Get(string) (*notebookd.KernelModel, error) {
	return nil, notebookd.Errorf(http.StatusNotFound, "no kernels")
}
func (noKernels) List() []*notebookd.KernelModel                           { return nil }
func (noKernels) Interrupt(context.Context, string) error                  { return nil }
func (noKernels) Shutdown(context.Context, string) error                   { return nil }
func (noKernels) Close(context.Context) error                              { return nil }
func (noKernels) ServeChannels(http.ResponseWriter, *http.Request, string) {}
func (noKernels) Restart(context.Context, string) (*notebookd.KernelModel, error) {
	return nil, notebookd.Errorf(http.StatusNotFound, "no kernels")
}

const limitsToken = "limits-token"

// contentsServer serves a real contents manager of a new root.
func contentsServer(t *testing.T, mod func(*notebookd.Config)) (url, root, dataDir string) {
	t.Helper()
	root, dataDir = t.TempDir(), t.TempDir()
	cm, err := contents.New(root, contents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cm.Close() })
	cfg := notebookd.Config{Contents: cm, Kernels: noKernels{}, Token: limitsToken, DataDir: dataDir}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := notebookd.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, root, dataDir
}

// call sends body (a string, or a value to encode as JSON) and returns the
// status and the answer's message (or whole body).
func call(t *testing.T, method, url string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = strings.NewReader(string(j))
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+limitsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct{ Message string }
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		return resp.StatusCode, e.Message
	}
	return resp.StatusCode, string(b)
}

func readT(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestContentsBodyLimit: a contents PUT over Config.MaxBodyBytes is a 413
// naming the limit, and the file stays as it was (issue 11, item 7).
func TestContentsBodyLimit(t *testing.T) {
	const limit = 64 << 10
	url, root, _ := contentsServer(t, func(c *notebookd.Config) { c.MaxBodyBytes = limit })
	if err := os.WriteFile(filepath.Join(root, "f.txt"), []byte("orig"), 0o666); err != nil {
		t.Fatal(err)
	}
	big := map[string]any{"type": "file", "format": "text", "content": strings.Repeat("x", limit)}
	status, msg := call(t, "PUT", url+"/api/contents/f.txt", big)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, fmt.Sprint(limit)) || !strings.Contains(msg, "chunks") {
		t.Errorf("PUT over the limit = %d %q, want 413 naming the limit %d and chunks", status, msg, limit)
	}
	if got := readT(t, filepath.Join(root, "f.txt")); got != "orig" {
		t.Errorf("f.txt = %q after a refused PUT", got)
	}
	if got := entries(t, root); len(got) != 1 {
		t.Errorf("root = %v, want only f.txt", got)
	}
	small := map[string]any{"type": "file", "format": "text", "content": "new"}
	if status, msg := call(t, "PUT", url+"/api/contents/f.txt", small); status != http.StatusOK {
		t.Errorf("PUT under the limit = %d %q", status, msg)
	}
	if status, msg := call(t, "PATCH", url+"/api/contents/f.txt", `{"path": "`+strings.Repeat("a", 2<<20)+`"}`); status != http.StatusRequestEntityTooLarge {
		t.Errorf("PATCH of 2 MiB = %d %q, want 413", status, msg)
	}
	if status, msg := call(t, "PUT", url+"/api/contents/f.txt", `{"type": "file", "format": "text", "content": "a"} {}`); status != http.StatusBadRequest {
		t.Errorf("PUT with data after the JSON = %d %q, want 400", status, msg)
	}
}

// TestContentsDeepNotebook: the 54 KB notebook nested 9,000 deep that
// became an 81 MB file is refused, file and checkpoint untouched (issue 11,
// item 7).
func TestContentsDeepNotebook(t *testing.T) {
	url, root, _ := contentsServer(t, nil)
	const orig = `{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`
	if err := os.WriteFile(filepath.Join(root, "n.ipynb"), []byte(orig), 0o666); err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat(`{"a":`, 9000) + "1" + strings.Repeat("}", 9000)
	body := `{"type": "notebook", "content": {"cells": [], "metadata": ` + deep + `, "nbformat": 4, "nbformat_minor": 5}}`
	status, msg := call(t, "PUT", url+"/api/contents/n.ipynb", body)
	if status != http.StatusBadRequest || !strings.Contains(msg, "100") {
		t.Errorf("PUT of a notebook nested 9000 deep = %d %q, want 400 naming the limit", status, msg)
	}
	if got := readT(t, filepath.Join(root, "n.ipynb")); got != orig {
		t.Errorf("n.ipynb changed after a refused save: %.100q", got)
	}
	if got := entries(t, root); len(got) != 1 {
		t.Errorf("root = %v, want only n.ipynb (no checkpoint, no temporary file)", got)
	}
}

// TestConfigLimits: /api/config/<section> caps its body, its nesting and
// the size of what it stores (issue 11, item 7).
func TestConfigLimits(t *testing.T) {
	url, _, dataDir := contentsServer(t, nil)
	file := filepath.Join(dataDir, "config", "s.json")
	deep := strings.Repeat(`{"a":`, 9000) + "1" + strings.Repeat("}", 9000)
	for _, tt := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"a body of 2 MiB", `{"a": "` + strings.Repeat("x", 2<<20) + `"}`, 413, "1 MiB"},
		{"nested 9000 deep", deep, 400, "32"},
		{"nested 33 deep", strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33), 400, "32"},
	} {
		if status, msg := call(t, "PATCH", url+"/api/config/s", tt.body); status != tt.status || !strings.Contains(msg, tt.want) {
			t.Errorf("PATCH %s = %d %q, want %d naming %s", tt.name, status, msg, tt.status, tt.want)
		}
		if _, err := os.Stat(file); err == nil {
			t.Fatalf("PATCH %s wrote %s", tt.name, file)
		}
	}
	// Each PATCH is under the body limit; together they would grow the
	// section past what is stored.
	var status int
	var msg string
	for i := range 6 {
		status, msg = call(t, "PATCH", url+"/api/config/s", fmt.Sprintf(`{"k%d": "%s"}`, i, strings.Repeat("x", 1<<20-100)))
		if status != http.StatusOK {
			break
		}
	}
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "4 MiB") {
		t.Errorf("PATCHes growing the section past 4 MiB = %d %.200q, want 413 naming the limit", status, msg)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() > 4<<20 {
		t.Errorf("stored section: %v, %v; want at most 4 MiB", fi, err)
	}
	if status, msg := call(t, "PUT", url+"/api/config/s", `{"ok": {"nested": [1, 2]}}`); status != http.StatusOK {
		t.Errorf("PUT of a small section = %d %q", status, msg)
	}
	if err := os.WriteFile(file, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, msg := call(t, "GET", url+"/api/config/s", nil); status != 500 || strings.Contains(msg, dataDir) || !strings.Contains(msg, "s.json") {
		t.Errorf("GET of a broken section = %d %q, want 500 naming s.json without the data directory", status, msg)
	}
}

// TestContentsHTTPPathsShowNoRoot: checkpoints through a link out of the
// root, names too long and names not UTF-8 answer 4xx that show no OS path
// (issue 11, items 6 and 9).
func TestContentsHTTPPathsShowNoRoot(t *testing.T) {
	url, root, _ := contentsServer(t, nil)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "n-checkpoint.ipynb"), []byte("SECRET"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "n.ipynb"), []byte(`{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, ".ipynb_checkpoints")); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("n", 256)
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/api/contents/n.ipynb/checkpoints/checkpoint", nil, 403},
		{"POST", "/api/contents/n.ipynb/checkpoints", nil, 403},
		{"GET", "/api/contents/n.ipynb/checkpoints", nil, 403},
		{"PUT", "/api/contents/" + long, map[string]any{"type": "file", "format": "text", "content": "x"}, 400},
		{"GET", "/api/contents/" + long, nil, 400},
		{"PATCH", "/api/contents/n.ipynb", map[string]any{"path": long}, 400},
		{"GET", "/api/contents/caf%E9.txt", nil, 400},
	} {
		status, msg := call(t, tt.method, url+tt.path, tt.body)
		if status != tt.status || strings.Contains(msg, root) || strings.Contains(msg, outside) || strings.Contains(msg, "SECRET") {
			t.Errorf("%s %.60s = %d %q, want %d without an OS path", tt.method, tt.path, status, msg, tt.status)
		}
	}
	if got := readT(t, filepath.Join(outside, "n-checkpoint.ipynb")); got != "SECRET" {
		t.Errorf("the file outside the root = %q, changed", got)
	}
	if got := entries(t, outside); len(got) != 1 {
		t.Errorf("outside the root: %v, want only n-checkpoint.ipynb", got)
	}
}
