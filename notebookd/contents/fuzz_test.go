package contents

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryml/ferry/notebookd"
)

// marker is in every file outside the root; no answer and no file in the
// root may ever hold it.
const marker = "SENTINEL-0b4d"

// markerNB is a valid notebook that holds the marker.
const markerNB = `{"cells": [{"cell_type": "markdown", "id": "s", "metadata": {}, "source": "` + marker + `"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`

// fuzzRoot builds base/root, a root full of links out of it, and
// base/sentinel, what they lead to.
func fuzzRoot(t *testing.T) (base, root, sentinel string) {
	t.Helper()
	base = t.TempDir()
	root, sentinel = filepath.Join(base, "root"), filepath.Join(base, "sentinel")
	for rel, content := range map[string]string{
		"secret.txt":         marker,
		"secret.ipynb":       markerNB,
		"n-checkpoint.ipynb": markerNB,
		"x-checkpoint.txt":   marker,
		"d/inner.txt":        marker,
	} {
		writeFile(t, sentinel, rel, content)
	}
	for rel, content := range map[string]string{
		"a/x.txt":             "x",
		"a/n.ipynb":           validNB,
		"n.ipynb":             validNB,
		"x.txt":               "x",
		"sub/y.txt":           "y",
		".ipynb_checkpoints/": "",
	} {
		if strings.HasSuffix(rel, "/") {
			if err := os.MkdirAll(filepath.Join(root, rel), 0o777); err != nil {
				t.Fatal(err)
			}
			continue
		}
		writeFile(t, root, rel, content)
	}
	for link, target := range map[string]string{
		"out":                                   sentinel,
		"outrel":                                "../sentinel",
		"outfile":                               filepath.Join(sentinel, "secret.txt"),
		"outnb.ipynb":                           filepath.Join(sentinel, "secret.ipynb"),
		"dangling":                              filepath.Join(sentinel, "new.txt"),
		"loop":                                  "loop",
		"inner":                                 "a",
		"a/.ipynb_checkpoints":                  sentinel,
		".ipynb_checkpoints/n-checkpoint.ipynb": filepath.Join(sentinel, "n-checkpoint.ipynb"),
		".ipynb_checkpoints/x-checkpoint.txt":   filepath.Join(sentinel, "x-checkpoint.txt"),
		"sub/.ipynb_checkpoints":                "../out",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return base, root, sentinel
}

// statSnapshot is every entry under dir with its bytes, mode and
// modification time.
func statSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		s := fmt.Sprint(fi.Mode(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s += " " + string(b)
		}
		got[p] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// FuzzContentsPaths runs every contents operation on fuzzed paths in a
// root whose links lead out of it, to a sentinel directory, and checks
// that nothing outside the root is ever written (the sentinel and the
// directory above the root are unchanged) or read (no answer, and no file
// copied into the root, holds the sentinel's marker). Paths are tried as
// given and URL-unescaped as the HTTP handler does ("%2F", "%2e%2e");
// "$S" stands for the sentinel's absolute path.
func FuzzContentsPaths(f *testing.F) {
	for _, seed := range []struct {
		p, q   string
		hidden bool
	}{
		{"a/x.txt", "a/y.txt", false},
		{"../sentinel/secret.txt", "x.txt", false},
		{"out/secret.txt", "out", false},
		{"outrel/secret.ipynb", "a", false},
		{"outfile", "a/x.txt", false},
		{"outnb.ipynb", "n.ipynb", false},
		{"dangling", "dangling/x", false},
		{"loop/x", "loop", false},
		{"inner/../../sentinel/secret.txt", "inner", false},
		{"a/n.ipynb", "a/m.ipynb", false},
		{"n.ipynb", "m.ipynb", true},
		{"x.txt", "sub/x.txt", true},
		{"sub/y.txt", "out/y.txt", true},
		{"a/.ipynb_checkpoints/n-checkpoint.ipynb", "a/x.txt", true},
		{".ipynb_checkpoints/x-checkpoint.txt", "x.txt", true},
		{"$S/secret.txt", "$S", false},
		{"/$S/secret.txt", "//$S/d", false},
		{"a%2F..%2F..%2Fsentinel%2Fsecret.txt", "%2e%2e/sentinel", false},
		{"out%2fsecret.txt", "a%2Fz.txt", false},
		{"a/\xff\xfe.txt", "caf\xe9", false},
		{strings.Repeat("L", 256), "a/" + strings.Repeat("é", 128), false},
		{"a/x.txt\x00../../x", "a\\..\\..\\sentinel", false},
	} {
		f.Add(seed.p, seed.q, seed.hidden)
	}
	f.Fuzz(func(t *testing.T, p, q string, hidden bool) {
		base, root, sentinel := fuzzRoot(t)
		m, err := New(root, Options{AllowHidden: hidden})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		sentinelBefore := statSnapshot(t, sentinel)
		baseBefore, err := os.ReadDir(base)
		if err != nil {
			t.Fatal(err)
		}
		expand := func(s string) []string {
			s = strings.ReplaceAll(s, "$S", sentinel)
			out := []string{s}
			if u, err := url.PathUnescape(s); err == nil && u != s {
				out = append(out, u)
			}
			return out
		}
		var answers []string // everything the API answered
		answer := func(v any, err error) {
			b, _ := json.Marshal(v)
			answers = append(answers, string(b))
			if err != nil {
				answers = append(answers, err.Error())
			}
		}
		for _, p := range expand(p) {
			for _, q := range expand(q) {
				text := &notebookd.Model{Type: "file", Format: ptr("text"), Content: "fuzz"}
				answer(m.Get(ctx, p, notebookd.GetOptions{Content: true}))
				answer(m.Get(ctx, p, notebookd.GetOptions{Content: true, Type: "file", Format: "base64", Hash: true}))
				if r, _, err := m.Open(ctx, p); err == nil {
					b, _ := io.ReadAll(r)
					r.Close()
					answers = append(answers, string(b))
				}
				answer(m.ListCheckpoints(ctx, p))
				answer(m.CreateCheckpoint(ctx, p))
				answer(nil, m.RestoreCheckpoint(ctx, p, "checkpoint"))
				answer(m.Save(ctx, p, text))
				answer(m.Save(ctx, p, &notebookd.Model{Type: "notebook", Content: decodeNB(t, validNB)}))
				answer(m.Save(ctx, p+"/d", &notebookd.Model{Type: "directory"}))
				answer(m.Save(ctx, p, &notebookd.Model{Type: "file", Format: ptr("base64"), Content: "Zno=", Chunk: 1}))
				answer(m.Save(ctx, p, &notebookd.Model{Type: "file", Format: ptr("base64"), Content: "Zno=", Chunk: -1}))
				answer(m.NewUntitled(ctx, p, "file", ""))
				answer(m.NewUntitled(ctx, p, "notebook", ""))
				answer(m.Copy(ctx, p, q))
				answer(m.Copy(ctx, q, p))
				answer(m.Copy(ctx, "a/x.txt", p))
				answer(m.Rename(ctx, p, q))
				answer(m.Rename(ctx, q, p))
				answer(m.Rename(ctx, "x.txt", p))
				answer(nil, m.DeleteCheckpoint(ctx, p, "checkpoint"))
				answer(nil, m.DeleteCheckpoint(ctx, q, "checkpoint"))
				if lp, err := m.LocalPath(p); err == nil {
					if rel, ok := m.rel(lp); !ok || strings.HasPrefix(rel, "..") {
						t.Errorf("LocalPath(%q) = %q, outside the root %s", p, lp, root)
					}
				}
				answer(m.Get(ctx, "", notebookd.GetOptions{Content: true}))
				answer(nil, m.Delete(ctx, p))
				answer(nil, m.Delete(ctx, q))
			}
		}
		// The paths the client gave may come back in errors (echoed, maybe
		// cleaned): that shows the client nothing it did not send.
		var given []string
		for _, g := range append(expand(p), expand(q)...) {
			for _, v := range []string{g, path.Clean(g), strings.Trim(path.Clean("/"+g), "/")} {
				// An error quotes it with %q: bytes that are not UTF-8
				// come back escaped.
				quoted := strconv.Quote(v)
				given = append(given, v, quoted[1:len(quoted)-1])
			}
		}
		slices.SortFunc(given, func(a, b string) int { return len(b) - len(a) }) // longest first
		for _, a := range answers {
			if strings.Contains(a, marker) {
				t.Fatalf("p=%q q=%q: an answer holds the sentinel's marker: %.200s", p, q, a)
			}
			for _, g := range given {
				if g != "" && g != "." {
					a = strings.ReplaceAll(a, g, "<given>")
				}
			}
			if strings.Contains(a, base) {
				t.Errorf("p=%q q=%q: an answer shows an OS path: %.200s", p, q, a)
			}
		}
		if after := statSnapshot(t, sentinel); !sameSnapshot(sentinelBefore, after) {
			t.Fatalf("p=%q q=%q: the sentinel directory changed:\n got %v\nwant %v", p, q, after, sentinelBefore)
		}
		if after, err := os.ReadDir(base); err != nil || len(after) != len(baseBefore) {
			t.Fatalf("p=%q q=%q: the directory above the root changed: %v, %v", p, q, after, err)
		}
		// Nothing from outside was copied in (a read through a link).
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if b, _ := os.ReadFile(path); strings.Contains(string(b), marker) {
					t.Fatalf("p=%q q=%q: %s holds the sentinel's marker", p, q, path)
				}
			}
			return nil
		})
	})
}
