package file_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/file"
	"github.com/ferryml/ferry/storage/storetest"
)

func newStore(t *testing.T) *file.Store {
	t.Helper()
	s, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.ObjectStore { return newStore(t) })
}

// tmpFiles lists what is left in the store's temporary directory.
func tmpFiles(t *testing.T, s *file.Store) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(s.Dir(), ".ferry", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestFailedPutLeavesNoTrace(t *testing.T) {
	s := newStore(t)
	old := []byte("the old object")
	if _, err := s.Put(t.Context(), "a/b", bytes.NewReader(old), storage.PutOptions{Size: int64(len(old))}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(strings.Repeat("x", 3<<20)), iotestErr{boom})
	for _, key := range []string{"a/b", "a/new"} {
		if _, err := s.Put(t.Context(), key, r, storage.PutOptions{Size: -1}); !errors.Is(err, boom) {
			t.Fatalf("Put(%q): %v, want %v", key, err, boom)
		}
	}
	if got, err := os.ReadFile(filepath.Join(s.Dir(), "a", "b")); err != nil || !bytes.Equal(got, old) {
		t.Errorf("file a/b = %q, %v; want the old object", got, err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "a", "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file a/new: %v, want it absent", err)
	}
	if left := tmpFiles(t, s); len(left) != 0 {
		t.Errorf("temporary files left: %q", left)
	}
	if err := storage.Verify(t.Context(), s, "a/b"); err != nil {
		t.Errorf("Verify(a/b): %v", err)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

func TestFilesAreTheContent(t *testing.T) {
	s := newStore(t)
	data := storetest.Data(1, 12345)
	if _, err := s.Put(t.Context(), "models/m1/weights.bin", bytes.NewReader(data), storage.PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.Dir(), "models", "m1", "weights.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("file content: %d bytes, %v; want the %d bytes put", len(got), err, len(data))
	}
}

func TestChangedBehindTheStoresBack(t *testing.T) {
	s := newStore(t)
	if _, err := s.Put(t.Context(), "f", strings.NewReader("original"), storage.PutOptions{Size: 8}); err != nil {
		t.Fatal(err)
	}
	// Another tool rewrites the file: the recorded hash no longer applies.
	if err := os.WriteFile(filepath.Join(s.Dir(), "f"), []byte("rewritten by hand"), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(t.Context(), "f")
	if err != nil {
		t.Fatal(err)
	}
	if info.SHA256 != "" || info.Size != 17 || info.ETag == "" {
		t.Errorf("Stat of a file changed by hand: SHA256 %q Size %d ETag %q, want \"\", 17 and an ETag", info.SHA256, info.Size, info.ETag)
	}
	if err := storage.Verify(t.Context(), s, "f"); ferry.ErrorCode(err) != ferry.Invalid {
		t.Errorf("Verify of a file without a hash: %v, want Invalid", err)
	}
	// A file placed by hand is an object too.
	if err := os.WriteFile(filepath.Join(s.Dir(), "g"), []byte("g"), 0o644); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(t.Context(), "g"); err != nil || info.Size != 1 {
		t.Errorf("Stat(g) = %+v, %v", info, err)
	}
}

func TestCorruptionDetected(t *testing.T) {
	s := newStore(t)
	if _, err := s.Put(t.Context(), "f", strings.NewReader("abcdef"), storage.PutOptions{Size: 6}); err != nil {
		t.Fatal(err)
	}
	// Flip a byte in place, keeping size and modification time.
	p := filepath.Join(s.Dir(), "f")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), 2); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	err = storage.Verify(t.Context(), s, "f")
	if !errors.Is(err, storage.ErrChecksumMismatch) {
		t.Errorf("Verify of a corrupted file: %v, want %v", err, storage.ErrChecksumMismatch)
	}
	if _, err := s.Copy(t.Context(), "f", "g"); !errors.Is(err, storage.ErrChecksumMismatch) {
		t.Errorf("Copy of a corrupted file: %v, want %v", err, storage.ErrChecksumMismatch)
	}
	if _, err := s.Stat(t.Context(), "g"); !ferry.IsNotFound(err) {
		t.Errorf("Stat(g) after a failed copy: %v, want NotFound", err)
	}
}

func TestKeyConflicts(t *testing.T) {
	s := newStore(t)
	put := func(key string) error {
		_, err := s.Put(t.Context(), key, strings.NewReader("x"), storage.PutOptions{Size: 1})
		return err
	}
	if err := put("a/b"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "a/b/c", ".ferry/tmp/x", ".ferry"} {
		if err := put(key); ferry.ErrorCode(err) != ferry.Invalid {
			t.Errorf("Put(%q): %v, want Invalid", key, err)
		}
	}
	if left := tmpFiles(t, s); len(left) != 0 {
		t.Errorf("temporary files left: %q", left)
	}
	page, err := s.List(t.Context(), storage.ListOptions{Prefix: ".ferry/"})
	if err != nil || len(page.Objects)+len(page.CommonPrefixes) != 0 {
		t.Errorf("List(.ferry/) = %+v, %v; want nothing", page, err)
	}
}

func TestDeletePrunesDirectories(t *testing.T) {
	s := newStore(t)
	if _, err := s.Put(t.Context(), "x/y/z", strings.NewReader("x"), storage.PutOptions{Size: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), "x/y/z"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory x after deleting its only object: %v, want it gone", err)
	}
	if _, err := os.Stat(s.Dir()); err != nil {
		t.Errorf("store directory: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url, dir string
		ok       bool
	}{
		{"file:///var/lib/ferry", "/var/lib/ferry", true},
		{"file:///var/lib/ferry/", "/var/lib/ferry", true},
		{"file://localhost/srv/x", "/srv/x", true},
		{"file:///a/b/../c", "/a/c", true},
		{"file:///with%20space", "/with space", true},
		{"file://host/srv", "", false},
		{"file:relative", "", false},
		{"file://", "", false},
		{"s3://bucket", "", false},
		{"file:///x?y=1", "", false},
		{"/plain/path", "", false},
	}
	for _, tt := range tests {
		dir, err := file.ParseURL(tt.url)
		if (err == nil) != tt.ok || dir != tt.dir {
			t.Errorf("ParseURL(%q) = %q, %v; want %q, ok=%v", tt.url, dir, err, tt.dir, tt.ok)
		}
		if err != nil && ferry.ErrorCode(err) != ferry.Invalid {
			t.Errorf("ParseURL(%q): code %q, want Invalid", tt.url, ferry.ErrorCode(err))
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"file:///a/b", "file://localhost/x", "file:///../..", "file:///a%00b", "s3://b/p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		dir, err := file.ParseURL(raw)
		if err != nil {
			if ferry.ErrorCode(err) != ferry.Invalid {
				t.Errorf("ParseURL(%q): %v has code %q, want Invalid", raw, err, ferry.ErrorCode(err))
			}
			return
		}
		if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir {
			t.Errorf("ParseURL(%q) = %q, not a clean absolute path", raw, dir)
		}
		// The URL of the directory parses back to it.
		if got, err := file.ParseURL("file://" + filepath.ToSlash(dir)); err == nil && got != dir {
			t.Errorf("ParseURL round trip of %q: %q", dir, got)
		}
	})
}

func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a//b", "ok.txt", "a\\b", "./a", "ünï/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if storage.ValidateKey(key) != nil {
			return
		}
		// A valid key maps into the store's directory, never out of it.
		p := filepath.Join("/store", filepath.FromSlash(key))
		if !strings.HasPrefix(p, "/store/") || filepath.Clean(p) != p || strings.ContainsRune(key, 0) {
			t.Errorf("valid key %q maps to %q, outside /store or not clean", key, p)
		}
	})
}
