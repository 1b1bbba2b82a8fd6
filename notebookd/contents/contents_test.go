package contents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryml/ferry/notebookd"
)

var ctx = context.Background()

func newManager(t *testing.T, opts Options) (*Manager, string) {
	t.Helper()
	root := t.TempDir()
	m, err := New(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, root
}

func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFileT(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func names(models []*notebookd.Model) []string {
	var out []string
	for _, m := range models {
		out = append(out, m.Name+":"+m.Type)
	}
	return out
}

const validNB = `{"cells": [{"cell_type": "code", "execution_count": 1, "id": "a1", "metadata": {}, "outputs": [{"name": "stdout", "output_type": "stream", "text": ["hi\n"]}], "source": ["print('hi')"]}, {"cell_type": "markdown", "id": "b2", "metadata": {}, "source": "# Title\ntext"}], "metadata": {"kernelspec": {"name": "go"}}, "nbformat": 4, "nbformat_minor": 5}`

func decodeNB(t *testing.T, s string) map[string]any {
	t.Helper()
	var nb map[string]any
	if err := json.Unmarshal([]byte(s), &nb); err != nil {
		t.Fatal(err)
	}
	return nb
}

func TestNew(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "f", "x")
	if _, err := New(filepath.Join(root, "f"), Options{}); err == nil {
		t.Error("New(file) = nil error, want one")
	}
	if _, err := New(filepath.Join(root, "missing"), Options{}); err == nil {
		t.Error("New(missing) = nil error, want one")
	}
}

func TestGet(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "b.txt", "hello\n")
	writeFile(t, root, "a.bin", "\xff\x00\x01")
	writeFile(t, root, "nb.ipynb", validNB)
	writeFile(t, root, "bad.ipynb", "{not json")
	writeFile(t, root, ".hidden", "h")
	writeFile(t, root, "x.pyc", "c")
	writeFile(t, root, "sub/c.py", "print(1)\n")
	writeFile(t, root, "sub/.ipynb_checkpoints/c-checkpoint.py", "")
	if err := os.Symlink("b.txt", filepath.Join(root, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), filepath.Join(root, "outside")); err != nil {
		t.Fatal(err)
	}

	t.Run("root listing", func(t *testing.T) {
		got, err := m.Get(ctx, "", notebookd.GetOptions{Content: true})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"a.bin:file", "b.txt:file", "bad.ipynb:notebook", "link.txt:file", "nb.ipynb:notebook", "sub:directory"}
		if got.Type != "directory" || got.Path != "" || str(got.Format) != "json" || got.Size != nil {
			t.Errorf("root model = %+v", got)
		}
		if gotNames := names(got.Content.([]*notebookd.Model)); !reflect.DeepEqual(gotNames, want) {
			t.Errorf("listing = %v, want %v", gotNames, want)
		}
		for _, c := range got.Content.([]*notebookd.Model) {
			if c.Content != nil || c.Format != nil {
				t.Errorf("child %s has content", c.Name)
			}
		}
	})
	t.Run("subdirectory", func(t *testing.T) {
		got, err := m.Get(ctx, "/sub/", notebookd.GetOptions{Content: true})
		if err != nil {
			t.Fatal(err)
		}
		children := got.Content.([]*notebookd.Model)
		if got.Path != "sub" || got.Name != "sub" || len(children) != 1 || children[0].Path != "sub/c.py" {
			t.Errorf("sub = %+v %v", got, names(children))
		}
	})

	ipynbMime := "text/plain" // unless the system's MIME tables know .ipynb
	if mt := mimetypeOf("x.ipynb"); mt != nil {
		ipynbMime = *mt
	}
	sum := sha256.Sum256([]byte("hello\n"))
	tests := []struct {
		name                  string
		path                  string
		opt                   notebookd.GetOptions
		status                int
		typ, format, mimetype string
		content               any
		hash                  string
	}{
		{"text", "b.txt", notebookd.GetOptions{Content: true}, 0, "file", "text", "text/plain", "hello\n", ""},
		{"no content", "b.txt", notebookd.GetOptions{}, 0, "file", "<nil>", "text/plain", nil, ""},
		{"hash", "b.txt", notebookd.GetOptions{Hash: true}, 0, "file", "<nil>", "text/plain", nil, hex.EncodeToString(sum[:])},
		{"base64 asked", "b.txt", notebookd.GetOptions{Content: true, Format: "base64"}, 0, "file", "base64", "text/plain", base64.StdEncoding.EncodeToString([]byte("hello\n")), ""},
		{"binary", "a.bin", notebookd.GetOptions{Content: true}, 0, "file", "base64", "application/octet-stream", base64.StdEncoding.EncodeToString([]byte("\xff\x00\x01")), ""},
		{"binary as text", "a.bin", notebookd.GetOptions{Content: true, Format: "text"}, 400, "", "", "", nil, ""},
		{"symlink inside", "link.txt", notebookd.GetOptions{Content: true}, 0, "file", "text", "text/plain", "hello\n", ""},
		{"notebook as file", "nb.ipynb", notebookd.GetOptions{Type: "file", Content: true}, 0, "file", "text", ipynbMime, validNB, ""},
		{"notebook without content", "nb.ipynb", notebookd.GetOptions{}, 0, "notebook", "<nil>", "<nil>", nil, ""},
		{"unreadable notebook", "bad.ipynb", notebookd.GetOptions{Content: true}, 400, "", "", "", nil, ""},
		{"directory as notebook", "sub", notebookd.GetOptions{Type: "notebook"}, 400, "", "", "", nil, ""},
		{"file as directory", "b.txt", notebookd.GetOptions{Type: "directory"}, 400, "", "", "", nil, ""},
		{"bad type", "b.txt", notebookd.GetOptions{Type: "pdf"}, 400, "", "", "", nil, ""},
		{"bad format", "b.txt", notebookd.GetOptions{Format: "hex"}, 400, "", "", "", nil, ""},
		{"missing", "nope.txt", notebookd.GetOptions{}, 404, "", "", "", nil, ""},
		{"missing parent", "nope/x.txt", notebookd.GetOptions{}, 404, "", "", "", nil, ""},
		{"under a file", "b.txt/x", notebookd.GetOptions{}, 404, "", "", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Get(ctx, tt.path, tt.opt)
			if tt.status != 0 {
				if st := notebookd.StatusOf(err); st != tt.status {
					t.Fatalf("Get(%q) status %d (%v), want %d", tt.path, st, err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tt.typ || str(got.Format) != tt.format || str(got.Mimetype) != tt.mimetype || !reflect.DeepEqual(got.Content, tt.content) {
				t.Errorf("Get(%q) = type %s format %s mimetype %s content %#v, want %s %s %s %#v", tt.path, got.Type, str(got.Format), str(got.Mimetype), got.Content, tt.typ, tt.format, tt.mimetype, tt.content)
			}
			if tt.hash != "" && (str(got.Hash) != tt.hash || str(got.HashAlgorithm) != "sha256") {
				t.Errorf("hash = %s %s, want %s sha256", str(got.Hash), str(got.HashAlgorithm), tt.hash)
			}
			if got.Size == nil || got.LastModified.Location() != time.UTC || got.Created.IsZero() || !got.Writable {
				t.Errorf("model metadata = %+v", got)
			}
		})
	}

	t.Run("notebook content", func(t *testing.T) {
		got, err := m.Get(ctx, "nb.ipynb", notebookd.GetOptions{Content: true})
		if err != nil {
			t.Fatal(err)
		}
		nb := got.Content.(map[string]any)
		if got.Type != "notebook" || str(got.Format) != "json" || got.Mimetype != nil || nb["nbformat"] != json.Number("4") {
			t.Errorf("notebook = %+v", got)
		}
	})
}

func TestPathSafety(t *testing.T) {
	m, root := newManager(t, Options{})
	outside := t.TempDir()
	writeFile(t, outside, "passwd", "secret")
	writeFile(t, root, "a/x.txt", "x")
	writeFile(t, root, ".hidden/f.txt", "h")
	writeFile(t, root, ".dot.txt", "h")
	if err := os.Symlink(outside, filepath.Join(root, "outdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(root, "outfile")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		status int
	}{
		{"../x", 404},
		{"a/../../x", 404},
		{"..", 404},
		{"a/..", 404},
		{"/etc/passwd", 404},
		{"outdir/passwd", 403},
		{"outdir", 403},
		{"outfile", 403},
		{"a/x\x00.txt", 400},
		{".hidden/f.txt", 403},
		{".hidden", 403},
		{".dot.txt", 403},
		{"a/.x", 403},
	}
	ops := map[string]func(p string) error{
		"Get": func(p string) error { _, err := m.Get(ctx, p, notebookd.GetOptions{Content: true}); return err },
		"Save": func(p string) error {
			_, err := m.Save(ctx, p, &notebookd.Model{Type: "file", Format: ptr("text"), Content: "pwned"})
			return err
		},
		"SaveDir": func(p string) error { _, err := m.Save(ctx, p+"/new", &notebookd.Model{Type: "directory"}); return err },
		"Chunk": func(p string) error {
			_, err := m.Save(ctx, p, &notebookd.Model{Type: "file", Format: ptr("text"), Content: "x", Chunk: 1})
			return err
		},
		"Open":        func(p string) error { f, _, err := m.Open(ctx, p); closeIf(f); return err },
		"Delete":      func(p string) error { return m.Delete(ctx, p) },
		"RenameFrom":  func(p string) error { _, err := m.Rename(ctx, p, "a/renamed"); return err },
		"RenameTo":    func(p string) error { _, err := m.Rename(ctx, "a/x.txt", p+"/y"); return err },
		"CopyFrom":    func(p string) error { _, err := m.Copy(ctx, p, "a"); return err },
		"CopyTo":      func(p string) error { _, err := m.Copy(ctx, "a/x.txt", p); return err },
		"NewUntitled": func(p string) error { _, err := m.NewUntitled(ctx, p, "file", ""); return err },
		"Checkpoint":  func(p string) error { _, err := m.CreateCheckpoint(ctx, p); return err },
		"List":        func(p string) error { _, err := m.ListCheckpoints(ctx, p); return err },
		"Restore":     func(p string) error { return m.RestoreCheckpoint(ctx, p, "checkpoint") },
		"LocalPath":   func(p string) error { _, err := m.LocalPath(p); return err },
	}
	for _, tt := range tests {
		for name, op := range ops {
			err := op(tt.path)
			if err == nil && name == "List" && tt.status == 404 && !strings.Contains(tt.path, "..") {
				continue // a missing file in the root has no checkpoints
			}
			if err == nil {
				t.Errorf("%s(%q) succeeded, want status %d", name, tt.path, tt.status)
				continue
			}
			// Operations on a child of the path, or that need a
			// directory, may answer 404 where the path is a file.
			if st := notebookd.StatusOf(err); st != tt.status && !(st == 404 && tt.status != 400 && tt.status != 403) {
				t.Errorf("%s(%q) status %d (%v), want %d", name, tt.path, st, err, tt.status)
			}
		}
	}
	if got := readFileT(t, outside, "passwd"); got != "secret" {
		t.Errorf("outside file = %q, changed", got)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Errorf("outside dir has %d entries, want 1", len(entries))
	}
	if got := readFileT(t, root, "a/x.txt"); got != "x" {
		t.Errorf("a/x.txt = %q, changed", got)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "renamed")); err == nil {
		t.Error("a/renamed exists")
	}
}

func closeIf(f io.Closer) {
	if f != nil {
		f.Close()
	}
}

func TestAllowHidden(t *testing.T) {
	m, root := newManager(t, Options{AllowHidden: true})
	writeFile(t, root, ".env", "K=V")
	writeFile(t, root, "v.txt", "v")
	got, err := m.Get(ctx, "", notebookd.GetOptions{Content: true})
	if err != nil {
		t.Fatal(err)
	}
	if g, want := names(got.Content.([]*notebookd.Model)), []string{".env:file", "v.txt:file"}; !reflect.DeepEqual(g, want) {
		t.Errorf("listing = %v, want %v", g, want)
	}
	f, err := m.Get(ctx, ".env", notebookd.GetOptions{Content: true})
	if err != nil || f.Content != "K=V" {
		t.Fatalf("Get(.env) = %v, %v", f, err)
	}
	if _, err := m.Save(ctx, ".dir/.f", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "x"}); notebookd.StatusOf(err) != 404 {
		t.Errorf("Save into a missing directory: %v, want 404", err)
	}
	if _, err := m.Save(ctx, ".f", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "x"}); err != nil {
		t.Error(err)
	}
}

func TestSaveFile(t *testing.T) {
	m, root := newManager(t, Options{})
	tests := []struct {
		name   string
		path   string
		model  notebookd.Model
		status int
		want   string
	}{
		{"text", "t.txt", notebookd.Model{Type: "file", Format: ptr("text"), Content: "héllo\n"}, 0, "héllo\n"},
		{"base64", "b.bin", notebookd.Model{Type: "file", Format: ptr("base64"), Content: base64.StdEncoding.EncodeToString([]byte{0, 1, 255})}, 0, "\x00\x01\xff"},
		{"overwrite", "t.txt", notebookd.Model{Type: "file", Format: ptr("text"), Content: "new"}, 0, "new"},
		{"ipynb as file", "raw.ipynb", notebookd.Model{Type: "file", Format: ptr("text"), Content: "{}"}, 0, "{}"},
		{"no format", "n.txt", notebookd.Model{Type: "file", Content: "x"}, 400, ""},
		{"bad base64", "n.txt", notebookd.Model{Type: "file", Format: ptr("base64"), Content: "!!"}, 400, ""},
		{"not a string", "n.txt", notebookd.Model{Type: "file", Format: ptr("text"), Content: 3}, 400, ""},
		{"no type", "n.txt", notebookd.Model{Content: "x"}, 400, ""},
		{"no content", "n.txt", notebookd.Model{Type: "file", Format: ptr("text")}, 400, ""},
		{"bad type", "n.txt", notebookd.Model{Type: "pdf", Content: "x"}, 400, ""},
		{"root", "", notebookd.Model{Type: "file", Format: ptr("text"), Content: "x"}, 400, ""},
		{"missing parent", "no/n.txt", notebookd.Model{Type: "file", Format: ptr("text"), Content: "x"}, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Save(ctx, tt.path, &tt.model)
			if tt.status != 0 {
				if st := notebookd.StatusOf(err); st != tt.status {
					t.Fatalf("status %d (%v), want %d", st, err, tt.status)
				}
				if _, err := os.Stat(filepath.Join(root, "n.txt")); err == nil {
					t.Error("n.txt was written")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Content != nil || got.Path != tt.path || *got.Size != int64(len(tt.want)) {
				t.Errorf("model = %+v", got)
			}
			if b := readFileT(t, root, tt.path); b != tt.want {
				t.Errorf("file = %q, want %q", b, tt.want)
			}
		})
	}
	if entries, _ := os.ReadDir(root); len(entries) != 3 {
		t.Errorf("root has %d entries (temporary files left?), want 3", len(entries))
	}
}

func TestSaveKeepsModeAndFollowsLinks(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "run.sh", "#!/bin/sh\n")
	if err := os.Chmod(filepath.Join(root, "run.sh"), 0o751); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("run.sh", filepath.Join(root, "link.sh")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Save(ctx, "link.sh", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "echo\n"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o751 {
		t.Errorf("mode = %v, want 0751", fi.Mode().Perm())
	}
	if got := readFileT(t, root, "run.sh"); got != "echo\n" {
		t.Errorf("run.sh = %q", got)
	}
	if lfi, err := os.Lstat(filepath.Join(root, "link.sh")); err != nil || lfi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link.sh is no longer a link: %v", err)
	}
}

func TestSaveDirectory(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "f", "x")
	got, err := m.Save(ctx, "d", &notebookd.Model{Type: "directory"})
	if err != nil || got.Type != "directory" {
		t.Fatalf("Save(d) = %+v, %v", got, err)
	}
	if _, err := m.Save(ctx, "d", &notebookd.Model{Type: "directory"}); err != nil {
		t.Errorf("Save(existing dir) = %v", err)
	}
	if _, err := m.Save(ctx, "f", &notebookd.Model{Type: "directory"}); notebookd.StatusOf(err) != 400 {
		t.Errorf("Save(file as dir) = %v, want 400", err)
	}
	if _, err := m.Save(ctx, "d", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "x"}); notebookd.StatusOf(err) != 400 {
		t.Errorf("Save(file over dir) = %v, want 400", err)
	}
}

func TestSaveNotebook(t *testing.T) {
	m, root := newManager(t, Options{})
	got, err := m.Save(ctx, "n.ipynb", &notebookd.Model{Type: "notebook", Content: decodeNB(t, validNB)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "notebook" || got.Content != nil || got.Format != nil {
		t.Errorf("model = %+v", got)
	}
	want := `{
 "cells": [
  {
   "cell_type": "code",
   "execution_count": 1,
   "id": "a1",
   "metadata": {},
   "outputs": [
    {
     "name": "stdout",
     "output_type": "stream",
     "text": [
      "hi\n"
     ]
    }
   ],
   "source": [
    "print('hi')"
   ]
  },
  {
   "cell_type": "markdown",
   "id": "b2",
   "metadata": {},
   "source": [
    "# Title\n",
    "text"
   ]
  }
 ],
 "metadata": {
  "kernelspec": {
   "name": "go"
  }
 },
 "nbformat": 4,
 "nbformat_minor": 5
}
`
	if b := readFileT(t, root, "n.ipynb"); b != want {
		t.Errorf("written notebook:\n%s\nwant:\n%s", b, want)
	}
	// One checkpoint always exists for a saved notebook.
	if cps, err := m.ListCheckpoints(ctx, "n.ipynb"); err != nil || len(cps) != 1 {
		t.Errorf("checkpoints = %v, %v; want 1", cps, err)
	}
	// Round trip: what Get returns saves to the same bytes.
	back, err := m.Get(ctx, "n.ipynb", notebookd.GetOptions{Content: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Save(ctx, "n.ipynb", back); err != nil {
		t.Fatal(err)
	}
	if b := readFileT(t, root, "n.ipynb"); b != want {
		t.Errorf("notebook after a round trip:\n%s", b)
	}
	// JSON text content is accepted too.
	if _, err := m.Save(ctx, "raw.ipynb", &notebookd.Model{Type: "notebook", Content: json.RawMessage(validNB)}); err != nil {
		t.Error(err)
	}
}

func TestSaveInvalidNotebookLeavesFile(t *testing.T) {
	m, root := newManager(t, Options{})
	const orig = "original bytes, not even JSON\n"
	writeFile(t, root, "n.ipynb", orig)
	mod := func(f func(nb map[string]any)) map[string]any {
		nb := decodeNB(t, validNB)
		f(nb)
		return nb
	}
	cell := func(nb map[string]any, i int) map[string]any { return nb["cells"].([]any)[i].(map[string]any) }
	tests := []struct {
		name    string
		content any
		msg     string
	}{
		{"not an object", []any{1}, "JSON object"},
		{"nbformat 3", mod(func(nb map[string]any) { nb["nbformat"] = 3.0 }), "nbformat: must be 4"},
		{"no nbformat", mod(func(nb map[string]any) { delete(nb, "nbformat") }), "nbformat: missing"},
		{"minor string", mod(func(nb map[string]any) { nb["nbformat_minor"] = "5" }), "nbformat_minor"},
		{"minor fraction", mod(func(nb map[string]any) { nb["nbformat_minor"] = 4.5 }), "nbformat_minor"},
		{"metadata array", mod(func(nb map[string]any) { nb["metadata"] = []any{} }), "metadata: must be an object"},
		{"cells object", mod(func(nb map[string]any) { nb["cells"] = map[string]any{} }), "cells: must be an array"},
		{"cell not object", mod(func(nb map[string]any) { nb["cells"] = []any{"x"} }), "cells[0]: must be an object"},
		{"cell type", mod(func(nb map[string]any) { cell(nb, 1)["cell_type"] = "heading" }), "cells[1].cell_type"},
		{"cell metadata", mod(func(nb map[string]any) { delete(cell(nb, 1), "metadata") }), "cells[1].metadata: missing"},
		{"source number", mod(func(nb map[string]any) { cell(nb, 0)["source"] = 1.0 }), "cells[0].source"},
		{"source list item", mod(func(nb map[string]any) { cell(nb, 0)["source"] = []any{"a", 2.0} }), "cells[0].source[1]"},
		{"no outputs", mod(func(nb map[string]any) { delete(cell(nb, 0), "outputs") }), "cells[0].outputs: missing"},
		{"execution count string", mod(func(nb map[string]any) { cell(nb, 0)["execution_count"] = "1" }), "cells[0].execution_count"},
		{"output type", mod(func(nb map[string]any) {
			cell(nb, 0)["outputs"] = []any{map[string]any{"output_type": "bogus"}}
		}), "cells[0].outputs[0].output_type"},
		{"stream text", mod(func(nb map[string]any) {
			cell(nb, 0)["outputs"] = []any{map[string]any{"output_type": "stream", "name": "stdout", "text": 1.0}}
		}), "cells[0].outputs[0].text"},
		{"unreadable text", `{"nbformat": 4,`, "Invalid notebook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Save(ctx, "n.ipynb", &notebookd.Model{Type: "notebook", Content: tt.content})
			if st := notebookd.StatusOf(err); st != http.StatusBadRequest {
				t.Fatalf("status %d (%v), want 400", st, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not name %q", err, tt.msg)
			}
			if b := readFileT(t, root, "n.ipynb"); b != orig {
				t.Errorf("file changed to %q", b)
			}
		})
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("root has %d entries, want 1", len(entries))
	}
}

func TestAtomicSaveFailure(t *testing.T) {
	m, root := newManager(t, Options{})
	const orig = "original\n"
	writeFile(t, root, "d/f.txt", orig)
	injected := errors.New("injected failure")
	beforeRename = func(tmp string) error {
		// The new bytes are complete and synced; the target still holds
		// the old ones.
		if got := readFileT(t, root, "d/f.txt"); got != orig {
			t.Errorf("target before rename = %q", got)
		}
		return injected
	}
	defer func() { beforeRename = func(string) error { return nil } }()
	_, err := m.Save(ctx, "d/f.txt", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "new"})
	if !errors.Is(err, injected) && !strings.Contains(err.Error(), "injected") {
		t.Fatalf("Save = %v, want the injected error", err)
	}
	if st := notebookd.StatusOf(err); st != 500 {
		t.Errorf("status %d, want 500", st)
	}
	if got := readFileT(t, root, "d/f.txt"); got != orig {
		t.Errorf("file = %q after a failed save", got)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "d")); len(entries) != 1 {
		t.Errorf("d has %d entries (temporary file left), want 1", len(entries))
	}
}

func TestSaveUnwritableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only directories")
	}
	m, root := newManager(t, Options{})
	const orig = "original\n"
	writeFile(t, root, "d/f.txt", orig)
	dir := filepath.Join(root, "d")
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	_, err := m.Save(ctx, "d/f.txt", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "new"})
	if st := notebookd.StatusOf(err); st != 403 {
		t.Errorf("status %d (%v), want 403", st, err)
	}
	if got := readFileT(t, root, "d/f.txt"); got != orig {
		t.Errorf("file = %q after a failed save", got)
	}
}

func TestChunkedUpload(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "big.bin", "old")
	if err := os.Chmod(filepath.Join(root, "big.bin"), 0o600); err != nil {
		t.Fatal(err)
	}
	chunk := func(p string, n int, data string) error {
		_, err := m.Save(ctx, p, &notebookd.Model{Type: "file", Format: ptr("base64"), Content: base64.StdEncoding.EncodeToString([]byte(data)), Chunk: n})
		return err
	}
	steps := []struct {
		n    int
		data string
		want string // big.bin after the chunk
	}{
		{1, "aaa", "old"},
		{2, "bbb", "old"},
		{3, "ccc", "old"},
		{-1, "ddd", "aaabbbcccddd"},
	}
	for _, s := range steps {
		if err := chunk("big.bin", s.n, s.data); err != nil {
			t.Fatalf("chunk %d: %v", s.n, err)
		}
		if got := readFileT(t, root, "big.bin"); got != s.want {
			t.Errorf("after chunk %d file = %q, want %q", s.n, got, s.want)
		}
	}
	if fi, _ := os.Stat(filepath.Join(root, "big.bin")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	for _, n := range []int{2, -1} {
		if err := chunk("big.bin", n, "x"); notebookd.StatusOf(err) != 400 {
			t.Errorf("chunk %d without chunk 1: %v, want 400", n, err)
		}
		if err := chunk("other.bin", n, "x"); notebookd.StatusOf(err) != 400 {
			t.Errorf("chunk %d of a new file without chunk 1: %v, want 400", n, err)
		}
	}
	if err := chunk("big.bin", -2, "x"); notebookd.StatusOf(err) != 400 {
		t.Errorf("chunk -2: %v, want 400", err)
	}
	if _, err := m.Save(ctx, "n.ipynb", &notebookd.Model{Type: "notebook", Content: map[string]any{}, Chunk: 1}); notebookd.StatusOf(err) != 400 {
		t.Errorf("chunked notebook: %v, want 400", err)
	}
	// A new file appears only with the last chunk; chunk 1 again restarts.
	for _, s := range []struct {
		n    int
		data string
	}{{1, "zz"}, {1, "x"}, {2, "y"}, {-1, "z"}} {
		if err := chunk("new.txt", s.n, s.data); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, "new.txt")); (err == nil) != (s.n == -1) {
			t.Errorf("after chunk %d new.txt exists: %v", s.n, err == nil)
		}
	}
	if got := readFileT(t, root, "new.txt"); got != "xyz" {
		t.Errorf("new.txt = %q, want xyz", got)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		t.Errorf("root has %d entries (temporary files left?), want 2", len(entries))
	}
}

func TestNewUntitled(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "sub/keep", "")
	tests := []struct {
		dir, typ, ext string
		want          string
		wantType      string
	}{
		{"", "notebook", "", "Untitled.ipynb", "notebook"},
		{"", "notebook", "", "Untitled1.ipynb", "notebook"},
		{"", "", ".ipynb", "Untitled2.ipynb", "notebook"},
		{"", "file", "", "untitled.txt", "file"},
		{"", "file", "", "untitled1.txt", "file"},
		{"", "file", ".py", "untitled.py", "file"},
		{"", "", "py", "untitled1.py", "file"},
		{"", "directory", "", "Untitled Folder", "directory"},
		{"", "directory", "", "Untitled Folder 1", "directory"},
		{"sub", "notebook", "", "sub/Untitled.ipynb", "notebook"},
		{"/sub/", "directory", "", "sub/Untitled Folder", "directory"},
	}
	for _, tt := range tests {
		got, err := m.NewUntitled(ctx, tt.dir, tt.typ, tt.ext)
		if err != nil {
			t.Fatalf("NewUntitled(%q, %q, %q): %v", tt.dir, tt.typ, tt.ext, err)
		}
		if got.Path != tt.want || got.Type != tt.wantType {
			t.Errorf("NewUntitled(%q, %q, %q) = %s %s, want %s %s", tt.dir, tt.typ, tt.ext, got.Path, got.Type, tt.want, tt.wantType)
		}
	}
	nb, err := m.Get(ctx, "Untitled.ipynb", notebookd.GetOptions{Content: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"cells": []any{}, "metadata": map[string]any{}, "nbformat": json.Number("4"), "nbformat_minor": json.Number("5")}
	if !reflect.DeepEqual(nb.Content, want) {
		t.Errorf("new notebook = %#v", nb.Content)
	}
	if got := readFileT(t, root, "untitled.txt"); got != "" {
		t.Errorf("new file = %q", got)
	}
	for _, tt := range []struct {
		dir, typ string
		status   int
	}{{"missing", "file", 404}, {"sub/keep", "file", 404}, {"", "pdf", 400}} {
		if _, err := m.NewUntitled(ctx, tt.dir, tt.typ, ""); notebookd.StatusOf(err) != tt.status {
			t.Errorf("NewUntitled(%q, %q) = %v, want %d", tt.dir, tt.typ, err, tt.status)
		}
	}
}

func TestCopy(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "a.txt", "A")
	writeFile(t, root, "n.ipynb", validNB)
	writeFile(t, root, "t.tar.gz", "T")
	writeFile(t, root, "other/keep", "")
	tests := []struct {
		from, to string
		want     string
	}{
		{"a.txt", "", "a-Copy1.txt"},
		{"a.txt", "", "a-Copy2.txt"},
		{"a-Copy1.txt", "", "a-Copy3.txt"},
		{"n.ipynb", "", "n-Copy1.ipynb"},
		{"t.tar.gz", "", "t-Copy1.tar.gz"},
		{"a.txt", "other", "other/a.txt"},
		{"a.txt", "other", "other/a-Copy1.txt"},
	}
	for _, tt := range tests {
		got, err := m.Copy(ctx, tt.from, tt.to)
		if err != nil {
			t.Fatalf("Copy(%q, %q): %v", tt.from, tt.to, err)
		}
		if got.Path != tt.want {
			t.Errorf("Copy(%q, %q) = %s, want %s", tt.from, tt.to, got.Path, tt.want)
		}
	}
	if got := readFileT(t, root, "n-Copy1.ipynb"); got != validNB {
		t.Errorf("copied notebook = %q", got)
	}
	for _, tt := range []struct {
		from, to string
		status   int
	}{{"other", "", 400}, {"missing", "", 404}, {"a.txt", "missing", 404}, {"a.txt", "a.txt", 404}} {
		if _, err := m.Copy(ctx, tt.from, tt.to); notebookd.StatusOf(err) != tt.status {
			t.Errorf("Copy(%q, %q) = %v, want %d", tt.from, tt.to, err, tt.status)
		}
	}
}

func TestRename(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "a.txt", "A")
	writeFile(t, root, "b.txt", "B")
	writeFile(t, root, "d/x", "X")
	if _, err := m.CreateCheckpoint(ctx, "a.txt"); err != nil {
		t.Fatal(err)
	}
	got, err := m.Rename(ctx, "a.txt", "d/c.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != "d/c.txt" || got.Name != "c.txt" || readFileT(t, root, "d/c.txt") != "A" {
		t.Errorf("Rename = %+v", got)
	}
	if cps, _ := m.ListCheckpoints(ctx, "d/c.txt"); len(cps) != 1 {
		t.Errorf("checkpoint did not move: %v", cps)
	}
	if _, err := os.Stat(filepath.Join(root, "a.txt")); err == nil {
		t.Error("a.txt still exists")
	}
	if got, err := m.Rename(ctx, "d", "e"); err != nil || got.Type != "directory" || readFileT(t, root, "e/x") != "X" {
		t.Errorf("Rename(dir) = %+v, %v", got, err)
	}
	if _, err := m.Rename(ctx, "b.txt", "b.txt"); err != nil {
		t.Errorf("Rename to itself = %v", err)
	}
	for _, tt := range []struct {
		from, to string
		status   int
	}{
		{"b.txt", "e/x", 409},
		{"e", "e/sub", 400},
		{"missing", "z", 404},
		{"", "z", 400},
		{"b.txt", "", 409},
		{"b.txt", "nodir/z", 404},
	} {
		if _, err := m.Rename(ctx, tt.from, tt.to); notebookd.StatusOf(err) != tt.status {
			t.Errorf("Rename(%q, %q) = %v, want %d", tt.from, tt.to, err, tt.status)
		}
	}
	if readFileT(t, root, "b.txt") != "B" || readFileT(t, root, "e/x") != "X" {
		t.Error("a refused rename changed files")
	}
}

func TestDelete(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "a.txt", "A")
	writeFile(t, root, "d/e/f", "F")
	writeFile(t, root, "target/t", "T")
	if err := os.Symlink("target", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateCheckpoint(ctx, "a.txt"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path   string
		status int
		gone   string
	}{
		{"a.txt", 0, "a.txt"},
		{"d", 0, "d"},
		{"link", 0, "link"},
		{"", 400, ""},
		{"/", 400, ""},
		{"missing", 404, ""},
	} {
		err := m.Delete(ctx, tt.path)
		if st := notebookd.StatusOf(err); (tt.status == 0 && err != nil) || (tt.status != 0 && st != tt.status) {
			t.Errorf("Delete(%q) = %v, want status %d", tt.path, err, tt.status)
		}
		if tt.gone != "" {
			if _, err := os.Lstat(filepath.Join(root, tt.gone)); err == nil {
				t.Errorf("%s still exists", tt.gone)
			}
		}
	}
	if readFileT(t, root, "target/t") != "T" {
		t.Error("deleting a link deleted its target")
	}
	if _, err := os.Stat(filepath.Join(root, checkpointDir, "a-checkpoint.txt")); err == nil {
		t.Error("checkpoint of a.txt left behind")
	}
}

func TestCheckpoints(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "d/n.ipynb", validNB)
	cps, err := m.ListCheckpoints(ctx, "d/n.ipynb")
	if err != nil || cps == nil || len(cps) != 0 {
		t.Fatalf("ListCheckpoints = %#v, %v; want empty", cps, err)
	}
	cp, err := m.CreateCheckpoint(ctx, "d/n.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if cp.ID != "checkpoint" || cp.LastModified.IsZero() {
		t.Errorf("checkpoint = %+v", cp)
	}
	if got := readFileT(t, root, "d/.ipynb_checkpoints/n-checkpoint.ipynb"); got != validNB {
		t.Errorf("checkpoint file = %q", got)
	}
	if cps, err := m.ListCheckpoints(ctx, "d/n.ipynb"); err != nil || !reflect.DeepEqual(cps, []notebookd.Checkpoint{cp}) {
		t.Errorf("ListCheckpoints = %v, %v; want [%v]", cps, err, cp)
	}
	// Checkpoint directories are hidden.
	if l, err := m.Get(ctx, "d", notebookd.GetOptions{Content: true}); err != nil || len(l.Content.([]*notebookd.Model)) != 1 {
		t.Errorf("listing of d = %v, %v", l, err)
	}
	writeFile(t, root, "d/n.ipynb", "changed")
	if err := m.RestoreCheckpoint(ctx, "d/n.ipynb", "checkpoint"); err != nil {
		t.Fatal(err)
	}
	if got := readFileT(t, root, "d/n.ipynb"); got != validNB {
		t.Errorf("restored file = %q", got)
	}
	for _, tt := range []struct {
		name   string
		err    error
		status int
	}{
		{"restore unknown id", m.RestoreCheckpoint(ctx, "d/n.ipynb", "other"), 404},
		{"delete unknown id", m.DeleteCheckpoint(ctx, "d/n.ipynb", "other"), 404},
		{"restore of a directory", m.RestoreCheckpoint(ctx, "d", "checkpoint"), 400},
		{"delete", m.DeleteCheckpoint(ctx, "d/n.ipynb", "checkpoint"), 0},
		{"delete again", m.DeleteCheckpoint(ctx, "d/n.ipynb", "checkpoint"), 404},
		{"restore deleted", m.RestoreCheckpoint(ctx, "d/n.ipynb", "checkpoint"), 404},
	} {
		if st := notebookd.StatusOf(tt.err); (tt.status == 0 && tt.err != nil) || (tt.status != 0 && st != tt.status) {
			t.Errorf("%s = %v, want status %d", tt.name, tt.err, tt.status)
		}
	}
	if cps, _ := m.ListCheckpoints(ctx, "d/n.ipynb"); len(cps) != 0 {
		t.Errorf("checkpoints after delete = %v", cps)
	}
	for _, p := range []string{"d", "missing"} {
		if _, err := m.CreateCheckpoint(ctx, p); err == nil {
			t.Errorf("CreateCheckpoint(%q) succeeded", p)
		}
	}
}

func TestOpenAndLocalPath(t *testing.T) {
	m, root := newManager(t, Options{})
	big := bytes.Repeat([]byte("0123456789"), 100000)
	writeFile(t, root, "d/big.bin", string(big))
	f, fi, err := m.Open(ctx, "d/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi.Size() != int64(len(big)) || fi.Name() != "big.bin" {
		t.Errorf("FileInfo = %v %v", fi.Name(), fi.Size())
	}
	if _, err := f.Seek(10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(f); err != nil || !bytes.Equal(b, big[10:]) {
		t.Errorf("read %d bytes, %v", len(b), err)
	}
	if _, _, err := m.Open(ctx, "d"); notebookd.StatusOf(err) != 404 {
		t.Errorf("Open(dir) = %v, want 404", err)
	}
	for _, tt := range []struct {
		path, want string
		status     int
	}{
		{"", m.Root(), 0},
		{"d", filepath.Join(m.Root(), "d"), 0},
		{"d/big.bin", "", 400},
		{"missing", "", 404},
	} {
		got, err := m.LocalPath(tt.path)
		if st := notebookd.StatusOf(err); got != tt.want || (tt.status != 0 && st != tt.status) || (tt.status == 0 && err != nil) {
			t.Errorf("LocalPath(%q) = %q, %v; want %q, %d", tt.path, got, err, tt.want, tt.status)
		}
	}
	if !filepath.IsAbs(m.Root()) {
		t.Errorf("Root() = %q, not absolute", m.Root())
	}
}

func TestCanceledContext(t *testing.T) {
	m, _ := newManager(t, Options{})
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Get(c, "", notebookd.GetOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context = %v", err)
	}
}

func TestSymlinksInsideRoot(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "real/f.txt", "F")
	if err := os.Symlink("real", filepath.Join(root, "alias")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(root, "dangling")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "real", "f.txt"), filepath.Join(root, "hard.txt")); err != nil {
		t.Fatal(err)
	}
	got, err := m.Get(ctx, "alias", notebookd.GetOptions{Content: true})
	if err != nil {
		t.Fatal(err)
	}
	if children := got.Content.([]*notebookd.Model); len(children) != 1 || children[0].Path != "alias/f.txt" {
		t.Errorf("alias listing = %v", names(children))
	}
	if _, err := m.Save(ctx, "alias/g.txt", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "G"}); err != nil {
		t.Fatal(err)
	}
	if readFileT(t, root, "real/g.txt") != "G" {
		t.Error("save through a linked directory missed")
	}
	if _, err := m.Save(ctx, "dangling", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "x"}); notebookd.StatusOf(err) != 403 {
		t.Errorf("Save(dangling link) = %v, want 403", err)
	}
	if _, err := m.Get(ctx, "dangling", notebookd.GetOptions{}); notebookd.StatusOf(err) != 404 {
		t.Errorf("Get(dangling link) = %v, want 404", err)
	}
	if _, err := m.Rename(ctx, "hard.txt", "real/f.txt"); notebookd.StatusOf(err) != 409 {
		t.Errorf("Rename onto a hard link = %v, want 409", err)
	}
	if root, _ := m.Get(ctx, "", notebookd.GetOptions{Content: true}); len(root.Content.([]*notebookd.Model)) != 3 {
		t.Errorf("root listing = %v, want alias, hard.txt and real", names(root.Content.([]*notebookd.Model)))
	}
}

func TestConcurrentNewUntitled(t *testing.T) {
	m, _ := newManager(t, Options{})
	const n = 16
	paths := make(chan string, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			got, err := m.NewUntitled(ctx, "", "file", "")
			if err != nil {
				errs <- err
				return
			}
			paths <- got.Path
		}()
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			t.Error(err)
		case p := <-paths:
			if seen[p] {
				t.Errorf("%s made twice", p)
			}
			seen[p] = true
		}
	}
}

// TestGetNotebookJoinsLines: multi-line strings stored as lists of lines
// come back as strings, as jupyter_server's nbformat.reads gives them.
func TestGetNotebookJoinsLines(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "lines.ipynb", `{"cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
	 "outputs": [{"name": "stdout", "output_type": "stream", "text": ["one\n", "two\n"]},
	  {"output_type": "display_data", "metadata": {}, "data": {"text/html": ["<b>\n", "x</b>"], "application/json": {"k": ["a", "b"]}}}],
	 "source": ["a := 1\n", "b := 2"]},
	 {"cell_type": "markdown", "id": "b", "metadata": {}, "source": "plain", "attachments": {"i.png": {"image/png": ["iVBO", "Rw=="]}}}],
	 "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`)
	got, err := m.Get(ctx, "lines.ipynb", notebookd.GetOptions{Content: true})
	if err != nil {
		t.Fatal(err)
	}
	nb := got.Content.(map[string]any)
	c0 := nb["cells"].([]any)[0].(map[string]any)
	outs := c0["outputs"].([]any)
	data := outs[1].(map[string]any)["data"].(map[string]any)
	att := nb["cells"].([]any)[1].(map[string]any)["attachments"].(map[string]any)["i.png"].(map[string]any)
	for _, tt := range []struct {
		what string
		got  any
		want any
	}{
		{"source", c0["source"], "a := 1\nb := 2"},
		{"stream text", outs[0].(map[string]any)["text"], "one\ntwo\n"},
		{"text/html", data["text/html"], "<b>\nx</b>"},
		{"application/json (untouched)", data["application/json"], map[string]any{"k": []any{"a", "b"}}},
		{"attachment", att["image/png"], "iVBORw=="},
	} {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.what, tt.got, tt.want)
		}
	}
}

// TestListCheckpointsMissingFile: a file that does not exist has no
// checkpoints (JupyterLab lists the old name's right after a rename).
func TestListCheckpointsMissingFile(t *testing.T) {
	m, _ := newManager(t, Options{})
	cps, err := m.ListCheckpoints(ctx, "gone/Untitled.ipynb")
	if err != nil || len(cps) != 0 || cps == nil {
		t.Errorf("ListCheckpoints = %#v, %v; want an empty list", cps, err)
	}
}
