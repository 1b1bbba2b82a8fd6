package contents

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ferryml/ferry/notebookd"
)

// Options configure a Manager.
type Options struct {
	// AllowHidden lists and serves files and directories whose names start
	// with '.' (jupyter_server's ContentsManager.allow_hidden).
	AllowHidden bool
}

// Manager serves the files under a root directory. It is safe for
// concurrent use.
type Manager struct {
	root        string // absolute, symbolic links resolved
	allowHidden bool

	mu      sync.Mutex        // serializes name picking and chunked uploads
	uploads map[string]string // target OS path -> temporary file of a chunked upload
}

var _ notebookd.Contents = (*Manager)(nil)

// New returns a Manager of the directory root.
func New(root string, opts Options) (*Manager, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("contents: root %s: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("contents: root %s: %w", root, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("contents: root %s: %w", root, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("contents: root %s is not a directory", root)
	}
	return &Manager{root: real, allowHidden: opts.AllowHidden, uploads: map[string]string{}}, nil
}

// Root returns the absolute root directory, symbolic links resolved.
func (m *Manager) Root() string { return m.root }

// checkpointDir is the directory, next to a file, of its checkpoints.
const checkpointDir = ".ipynb_checkpoints"

// hideGlobs are names never listed (jupyter_server's hide_globs).
var hideGlobs = []string{"__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*.so", "*.dylib", "*~"}

func hiddenByGlob(name string) bool {
	for _, g := range hideGlobs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// target is an API path resolved under the root.
type target struct {
	api    string // cleaned API path, "" for the root
	name   string // last element, "" for the root
	parent string // OS directory holding it, symbolic links resolved
	os     string // parent/name: the entry itself (a link stays a link)
	real   string // os with every link resolved; "" when it does not exist or dangles
	lstat  os.FileInfo
	info   os.FileInfo // Stat of real; nil when it does not exist
}

func (t *target) exists() bool { return t.info != nil }
func (t *target) isDir() bool  { return t.info != nil && t.info.IsDir() }

// cleanPath checks and normalizes an API path.
func (m *Manager) cleanPath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", notebookd.Errorf(http.StatusBadRequest, "invalid path %q: NUL byte", p)
	}
	var segs []string
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "", ".":
			continue
		case "..":
			return "", notebookd.Errorf(http.StatusNotFound, "%s is outside root contents directory", p)
		}
		if filepath.Separator != '/' && strings.ContainsRune(s, filepath.Separator) {
			return "", notebookd.Errorf(http.StatusBadRequest, "invalid path %q", p)
		}
		if filepath.IsAbs(s) || filepath.VolumeName(s) != "" {
			return "", notebookd.Errorf(http.StatusNotFound, "%s is outside root contents directory", p)
		}
		if !m.allowHidden && strings.HasPrefix(s, ".") {
			return "", notebookd.Errorf(http.StatusForbidden, "%s is hidden", p)
		}
		segs = append(segs, s)
	}
	return strings.Join(segs, "/"), nil
}

// within reports whether the OS path p is the root or under it.
func (m *Manager) within(p string) bool {
	rel, err := filepath.Rel(m.root, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// resolve checks the API path p and finds it on disk. A missing final
// element is no error (t.exists() is false); a missing parent is a 404.
func (m *Manager) resolve(ctx context.Context, p string) (*target, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	api, err := m.cleanPath(p)
	if err != nil {
		return nil, err
	}
	if api == "" {
		fi, err := os.Stat(m.root)
		if err != nil {
			return nil, osError("reading", api, err)
		}
		return &target{api: "", parent: m.root, os: m.root, real: m.root, lstat: fi, info: fi}, nil
	}
	dir, name := path.Split(api)
	parentLex := filepath.Join(m.root, filepath.FromSlash(dir))
	parent, err := filepath.EvalSymlinks(parentLex)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notebookd.Errorf(http.StatusNotFound, "No such file or directory: %s", api)
		}
		return nil, osError("resolving", api, err)
	}
	if !m.within(parent) {
		return nil, notebookd.Errorf(http.StatusForbidden, "%s is outside root contents directory", api)
	}
	if pfi, err := os.Stat(parent); err != nil {
		return nil, osError("resolving", api, err)
	} else if !pfi.IsDir() {
		return nil, notebookd.Errorf(http.StatusNotFound, "No such file or directory: %s", api)
	}
	t := &target{api: api, name: name, parent: parent, os: filepath.Join(parent, name)}
	t.lstat, err = os.Lstat(t.os)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, osError("resolving", api, err)
	}
	if t.lstat.Mode()&fs.ModeSymlink == 0 {
		t.real, t.info = t.os, t.lstat
		return t, nil
	}
	real, err := filepath.EvalSymlinks(t.os)
	if err != nil {
		// A dangling link: it exists, but there is nothing behind it.
		return t, nil
	}
	if !m.within(real) {
		return nil, notebookd.Errorf(http.StatusForbidden, "%s is outside root contents directory", api)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, osError("resolving", api, err)
	}
	t.real, t.info = real, fi
	return t, nil
}

// existing resolves p and requires it to exist.
func (m *Manager) existing(ctx context.Context, p string) (*target, error) {
	t, err := m.resolve(ctx, p)
	if err != nil {
		return nil, err
	}
	if !t.exists() {
		return nil, notebookd.Errorf(http.StatusNotFound, "No such file or directory: %s", t.api)
	}
	return t, nil
}

// osError turns an OS error about the API path api into an API error that
// does not show OS paths for the common cases.
func osError(op, api string, err error) error {
	var e *notebookd.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return notebookd.Errorf(http.StatusNotFound, "No such file or directory: %s", api)
	case errors.Is(err, fs.ErrPermission):
		return notebookd.Errorf(http.StatusForbidden, "Permission denied: %s", api)
	case errors.Is(err, fs.ErrExist):
		return notebookd.Errorf(http.StatusConflict, "File already exists: %s", api)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		return notebookd.Errorf(http.StatusInternalServerError, "Unexpected error while %s %s: %v", op, api, err)
	}
}

// createTemp creates a new empty file in dir named for base. Its mode is
// 0666 less the umask, like a file created by open(2).
func createTemp(dir, base string) (*os.File, error) {
	for range 100 {
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := filepath.Join(dir, ".~"+base+"."+hex.EncodeToString(b[:])+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("creating a temporary file in %s: %w", dir, fs.ErrExist)
}

// commit syncs and closes the temporary file f and renames it over dst,
// giving it the mode of the file it replaces. On error f is removed.
func commit(f *os.File, dst string) (err error) {
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if fi, err := os.Stat(dst); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("%s: %w", dst, errIsDir)
		}
		if err := f.Chmod(fi.Mode().Perm()); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := beforeRename(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	syncDir(filepath.Dir(dst))
	return nil
}

var errIsDir = errors.New("is a directory")

// beforeRename is called with the synced temporary file of an atomic write
// before it is renamed into place; tests make it fail.
var beforeRename = func(tmp string) error { return nil }

// syncDir makes a rename in dir durable where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// writeAtomic replaces dst with what write writes, atomically.
func writeAtomic(dst string, write func(io.Writer) error) error {
	f, err := createTemp(filepath.Dir(dst), filepath.Base(dst))
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return err
	}
	return commit(f, dst)
}

// copyFileAtomic replaces dst with the bytes of src. With keepTimes the
// copy gets src's modification time (shutil.copy2).
func copyFileAtomic(src, dst string, keepTimes bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := writeAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	}); err != nil {
		return err
	}
	if keepTimes {
		_ = os.Chtimes(dst, fi.ModTime(), fi.ModTime())
	}
	return nil
}
