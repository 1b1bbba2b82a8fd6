package contents

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryml/ferry/notebookd"
)

// snapshot is every file under dir with its bytes ("name/" for
// directories, "name -> target" for links).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			got[rel] = "-> " + target
			return err
		case d.IsDir():
			got[rel+"/"] = ""
		default:
			b, err := os.ReadFile(p)
			got[rel] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCheckpointLinksOutOfRoot: a .ipynb_checkpoints directory, or a
// checkpoint file, that is a symbolic link out of the root is neither read
// nor written through (issue 11, item 6).
func TestCheckpointLinksOutOfRoot(t *testing.T) {
	for _, link := range []string{"directory", "file"} {
		t.Run(link, func(t *testing.T) {
			m, root := newManager(t, Options{})
			outside := t.TempDir()
			writeFile(t, outside, "n-checkpoint.ipynb", "SECRET")
			writeFile(t, root, "n.ipynb", validNB)
			if link == "directory" {
				if err := os.Symlink(outside, filepath.Join(root, ".ipynb_checkpoints")); err != nil {
					t.Fatal(err)
				}
			} else {
				writeFile(t, root, ".ipynb_checkpoints/keep", "")
				if err := os.Symlink(filepath.Join(outside, "n-checkpoint.ipynb"), filepath.Join(root, ".ipynb_checkpoints", "n-checkpoint.ipynb")); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, outside)

			if err := m.RestoreCheckpoint(ctx, "n.ipynb", "checkpoint"); notebookd.StatusOf(err) != 403 {
				t.Errorf("RestoreCheckpoint = %v, want 403", err)
			}
			if got := readFileT(t, root, "n.ipynb"); got != validNB {
				t.Errorf("n.ipynb = %q after a restore from outside the root", got)
			}
			if _, err := m.ListCheckpoints(ctx, "n.ipynb"); notebookd.StatusOf(err) != 403 {
				t.Errorf("ListCheckpoints = %v, want 403", err)
			}
			_, err := m.CreateCheckpoint(ctx, "n.ipynb")
			if link == "directory" && notebookd.StatusOf(err) != 403 {
				t.Errorf("CreateCheckpoint = %v, want 403", err)
			}
			if link == "file" && err != nil {
				// The link is replaced by a checkpoint in the root.
				t.Errorf("CreateCheckpoint = %v, want a checkpoint in the root", err)
			}
			if err := m.DeleteCheckpoint(ctx, "n.ipynb", "checkpoint"); err != nil && notebookd.StatusOf(err) != 403 && notebookd.StatusOf(err) != 404 {
				t.Errorf("DeleteCheckpoint = %v, want 403, 404 or nil", err)
			}
			if _, err := m.Save(ctx, "n.ipynb", &notebookd.Model{Type: "notebook", Content: decodeNB(t, validNB)}); err != nil {
				t.Errorf("Save = %v", err)
			}
			if _, err := m.Rename(ctx, "n.ipynb", "m.ipynb"); err != nil {
				t.Errorf("Rename = %v", err)
			}
			if err := m.Delete(ctx, "m.ipynb"); err != nil {
				t.Errorf("Delete = %v: a checkpoint behind a link must not keep a file from being deleted", err)
			}
			if after := snapshot(t, outside); !sameSnapshot(before, after) {
				t.Errorf("outside the root: %v, want %v", after, before)
			}
		})
	}
}

// TestNotebookDepthLimit: a notebook nested deeper than the limit is
// refused with the limit in the message and nothing written; one at the
// limit is saved (issue 11, item 7).
func TestNotebookDepthLimit(t *testing.T) {
	nested := func(levels int) map[string]any {
		// The notebook is level 1, its metadata level 2.
		var v any = map[string]any{}
		for range levels - 2 {
			v = map[string]any{"a": v}
		}
		nb := decodeNB(t, validNB)
		nb["metadata"] = v
		return nb
	}
	m, root := newManager(t, Options{})
	writeFile(t, root, "n.ipynb", validNB)
	before := snapshot(t, root)
	for _, levels := range []int{maxNotebookDepth + 1, 9000} {
		_, err := m.Save(ctx, "n.ipynb", &notebookd.Model{Type: "notebook", Content: nested(levels)})
		if notebookd.StatusOf(err) != 400 || !strings.Contains(err.Error(), fmt.Sprint(maxNotebookDepth)) || !strings.Contains(err.Error(), "metadata") {
			t.Errorf("Save(%d levels) = %v, want 400 naming metadata and the limit %d", levels, err, maxNotebookDepth)
		}
	}
	deepCell := decodeNB(t, validNB)
	var v any = "x"
	for range maxNotebookDepth {
		v = []any{v}
	}
	deepCell["cells"].([]any)[1].(map[string]any)["metadata"] = map[string]any{"d": v}
	if _, err := m.Save(ctx, "n.ipynb", &notebookd.Model{Type: "notebook", Content: deepCell}); notebookd.StatusOf(err) != 400 || !strings.Contains(err.Error(), "cells[1].metadata") {
		t.Errorf("Save(deep cell metadata) = %v, want 400 naming cells[1].metadata", err)
	}
	if after := snapshot(t, root); !sameSnapshot(before, after) {
		t.Errorf("root after refused saves = %v, want %v", after, before)
	}
	if _, err := m.Save(ctx, "n.ipynb", &notebookd.Model{Type: "notebook", Content: nested(maxNotebookDepth)}); err != nil {
		t.Errorf("Save(%d levels) = %v, want it saved", maxNotebookDepth, err)
	}
}

// encoderNotebook is what nbformat writes, as encoding/json writes it: the
// reference for writeNotebook.
func encoderNotebook(t *testing.T, nb map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(splitLines(nb)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// randomJSON is a random JSON value nested up to depth, with strings that
// need escaping.
func randomJSON(r *rand.Rand, depth int) any {
	strs := []string{"", "a", "line\nnext\n", "<&>", "tab\t\"q\"\\", "\u2028\x01\x7f", "é🙂", "\xff bad", "no newline"}
	switch n := r.IntN(9); {
	case depth > 0 && n < 2:
		m := map[string]any{}
		for range r.IntN(4) {
			m[strs[r.IntN(len(strs))]] = randomJSON(r, depth-1)
		}
		return m
	case depth > 0 && n < 4:
		var l []any
		for range r.IntN(4) {
			l = append(l, randomJSON(r, depth-1))
		}
		if l == nil {
			l = []any{}
		}
		return l
	case n == 4:
		return r.Float64() * 1e6
	case n == 5:
		return json.Number(fmt.Sprint(r.IntN(1000)))
	case n == 6:
		return nil
	case n == 7:
		return r.IntN(2) == 0
	default:
		return strs[r.IntN(len(strs))]
	}
}

// TestWriteNotebookMatchesEncoder: the streaming writer writes the bytes
// encoding/json writes (nbformat's format), and leaves nb as it was.
func TestWriteNotebookMatchesEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		nb := decodeNB(t, validNB)
		nb["metadata"] = map[string]any{"x": randomJSON(r, 6)}
		cell := map[string]any{"cell_type": "code", "execution_count": nil, "metadata": map[string]any{"m": randomJSON(r, 4)}, "source": "a\nb",
			"outputs": []any{
				map[string]any{"output_type": "display_data", "metadata": map[string]any{}, "data": map[string]any{"text/plain": "x\ny", "image/svg+xml": "<svg>\n</svg>", "application/json": randomJSON(r, 4), "text/html": []string{"<b>\n", "</b>"}}},
				map[string]any{"output_type": "stream", "name": "stdout", "text": ""},
			}}
		nb["cells"] = append(nb["cells"].([]any), cell)
		orig := encoderNotebook(t, nb) // before, in case writeNotebook changed nb
		got, err := marshalNotebook(nb)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, orig) {
			t.Fatalf("notebook %d:\n got %s\nwant %s", i, got, orig)
		}
		if again := encoderNotebook(t, nb); !bytes.Equal(again, orig) {
			t.Fatalf("notebook %d was modified by writeNotebook", i)
		}
	}
}

// TestNamesNotUTF8: a name that is not UTF-8 is neither listed nor served,
// consistently (issue 11, item 9).
func TestNamesNotUTF8(t *testing.T) {
	m, root := newManager(t, Options{})
	bad := "caf\xe9.txt" // Latin-1
	if err := os.WriteFile(filepath.Join(root, bad), []byte("x"), 0o666); err != nil {
		t.Skipf("the file system refuses names that are not UTF-8: %v", err)
	}
	writeFile(t, root, "ok.txt", "y")
	l, err := m.Get(ctx, "", notebookd.GetOptions{Content: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(l.Content.([]*notebookd.Model)); len(got) != 1 || got[0] != "ok.txt:file" {
		t.Errorf("listing = %v, want [ok.txt]", got)
	}
	if _, err := m.Get(ctx, bad, notebookd.GetOptions{Content: true}); notebookd.StatusOf(err) != 400 || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("Get(not UTF-8) = %v, want 400 saying UTF-8", err)
	}
	if _, err := m.Save(ctx, "new\xff", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "z"}); notebookd.StatusOf(err) != 400 {
		t.Errorf("Save(not UTF-8) = %v, want 400", err)
	}
}

// TestLongNames: a name over 255 bytes is a 400 that shows no OS path
// (issue 11, item 9).
func TestLongNames(t *testing.T) {
	m, root := newManager(t, Options{})
	long := strings.Repeat("n", nameMax+1)
	for name, op := range map[string]func() error{
		"Save": func() error {
			_, err := m.Save(ctx, long, &notebookd.Model{Type: "file", Format: ptr("text"), Content: "x"})
			return err
		},
		"Get":    func() error { _, err := m.Get(ctx, "d/"+long, notebookd.GetOptions{}); return err },
		"Rename": func() error { _, err := m.Rename(ctx, "ok.txt", long); return err },
	} {
		writeFile(t, root, "ok.txt", "x")
		err := op()
		if notebookd.StatusOf(err) != 400 || !strings.Contains(err.Error(), "255") || strings.Contains(err.Error(), root) {
			t.Errorf("%s(256-byte name) = %v, want 400 naming the limit and no OS path", name, err)
		}
	}
	// The longest name works, temporary file and all.
	longest := strings.Repeat("n", nameMax)
	if _, err := m.Save(ctx, longest, &notebookd.Model{Type: "file", Format: ptr("text"), Content: "x"}); err != nil {
		t.Errorf("Save(255-byte name) = %v", err)
	}
}

// TestOSErrorsShowNoPath: an unexpected OS error answers 500 with the
// operation and the reason but no OS path (issue 11, item 9).
func TestOSErrorsShowNoPath(t *testing.T) {
	m, root := newManager(t, Options{})
	beforeRename = func(tmp string) error {
		return &fs.PathError{Op: "rename", Path: filepath.Join(root, tmp), Err: syscall.EIO}
	}
	t.Cleanup(func() { beforeRename = func(string) error { return nil } })
	_, err := m.Save(ctx, "f.txt", &notebookd.Model{Type: "file", Format: ptr("text"), Content: "x"})
	if notebookd.StatusOf(err) != 500 || strings.Contains(err.Error(), root) || !strings.Contains(err.Error(), "f.txt") || !strings.Contains(err.Error(), syscall.EIO.Error()) {
		t.Errorf("Save = %v, want 500 naming f.txt and the reason, without %s", err, root)
	}
}

// TestStaleTempFiles: listing a directory removes the temporary files of
// interrupted saves once stale, never one being written, and never lists
// them (issue 11, item 9).
func TestStaleTempFiles(t *testing.T) {
	m, root := newManager(t, Options{AllowHidden: true})
	old := time.Now().Add(-2 * staleTemp)
	stale := ".~f.txt.0123456789ab.tmp"
	fresh := ".~f.txt.ba9876543210.tmp"
	lookalike := ".~notes.tmp" // not one of ours
	for _, n := range []string{stale, fresh, lookalike} {
		writeFile(t, root, n, "partial")
	}
	writing, err := m.createTemp(".", "g.txt") // a save in progress
	if err != nil {
		t.Fatal(err)
	}
	defer m.discard(writing)
	for _, n := range []string{stale, lookalike, writing.rel} {
		if err := os.Chtimes(filepath.Join(root, n), old, old); err != nil {
			t.Fatal(err)
		}
	}
	l, err := m.Get(ctx, "", notebookd.GetOptions{Content: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(l.Content.([]*notebookd.Model)); len(got) != 1 || got[0] != lookalike+":file" {
		t.Errorf("listing = %v, want only %s", got, lookalike)
	}
	for n, want := range map[string]bool{stale: false, fresh: true, lookalike: true, writing.rel: true} {
		if _, err := os.Lstat(filepath.Join(root, n)); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", n, err == nil, want)
		}
	}
	if _, err := writing.WriteString("more"); err != nil {
		t.Fatal(err)
	}
	if err := m.commit(writing, "g.txt"); err != nil {
		t.Fatal(err)
	}
	if got := readFileT(t, root, "g.txt"); got != "more" {
		t.Errorf("g.txt = %q", got)
	}
	if _, ok := m.writing[writing.rel]; ok {
		t.Error("a committed temporary file is still marked as being written")
	}
}

// TestSaveBase64Streams: base64 content is decoded as it is written, with
// wrapping white space; invalid base64 writes nothing.
func TestSaveBase64Streams(t *testing.T) {
	m, root := newManager(t, Options{})
	writeFile(t, root, "b.bin", "orig")
	if _, err := m.Save(ctx, "b.bin", &notebookd.Model{Type: "file", Format: ptr("base64"), Content: "aGVs\r\nbG8g\t d29y bGQ="}); err != nil {
		t.Fatal(err)
	}
	if got := readFileT(t, root, "b.bin"); got != "hello world" {
		t.Errorf("b.bin = %q, want %q", got, "hello world")
	}
	before := snapshot(t, root)
	if _, err := m.Save(ctx, "b.bin", &notebookd.Model{Type: "file", Format: ptr("base64"), Content: "aGVsbG8g!!!!"}); notebookd.StatusOf(err) != 400 {
		t.Errorf("Save(invalid base64) = %v, want 400", err)
	}
	if after := snapshot(t, root); !sameSnapshot(before, after) {
		t.Errorf("root after an invalid save = %v, want %v", after, before)
	}
}

// TestSpaceless: the base64 reader drops white space whatever the sizes of
// the reads.
func TestSpaceless(t *testing.T) {
	in := strings.Repeat("ab c\r\n\td", 1000)
	want := strings.Repeat("abcd", 1000)
	for _, size := range []int{1, 3, 7, 1024, 1 << 16} {
		r := &spaceless{s: in}
		var got strings.Builder
		buf := make([]byte, size)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if got.String() != want {
			t.Errorf("reads of %d: got %d bytes, want %d", size, got.Len(), len(want))
		}
	}
}
