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
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

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
//
// Every file system call goes through an [os.Root] opened on the root
// directory, which refuses any path that leaves it, through ".." or
// through a symbolic link, at the moment of the call: the checks of
// resolve give the API its answers (403 for a link out of the root), and
// os.Root keeps a link that appears between the check and the use, or a
// path resolve does not check (a checkpoint), inside the root.
type Manager struct {
	root        string   // absolute, symbolic links resolved
	r           *os.Root // the root directory; every file access goes through it
	allowHidden bool

	mu      sync.Mutex        // serializes name picking and chunked uploads
	uploads map[string]string // target path -> temporary file of a chunked upload

	tmpMu   sync.Mutex          // guards writing
	writing map[string]struct{} // temporary files being written, by path
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
	r, err := os.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("contents: root %s: %w", root, err)
	}
	return &Manager{root: real, r: r, allowHidden: opts.AllowHidden, uploads: map[string]string{}, writing: map[string]struct{}{}}, nil
}

// Close releases the root directory. The Manager must not be used after.
func (m *Manager) Close() error { return m.r.Close() }

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

// target is an API path resolved under the root. Its OS paths are relative
// to the root ("." is the root itself), for m.r.
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

// nameMax is the longest file name, in bytes, that Linux, macOS and
// Windows file systems take (NAME_MAX).
const nameMax = 255

// pathMax bounds an API path, in bytes (PATH_MAX).
const pathMax = 4096

// cleanPath checks and normalizes an API path.
func (m *Manager) cleanPath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", notebookd.Errorf(http.StatusBadRequest, "invalid path %q: NUL byte", p)
	}
	if !utf8.ValidString(p) {
		return "", notebookd.Errorf(http.StatusBadRequest, "invalid path %q: not UTF-8; names that are not UTF-8 are not served (rename the file on disk)", p)
	}
	if len(p) > pathMax {
		return "", notebookd.Errorf(http.StatusBadRequest, "invalid path: %d bytes long, the limit is %d bytes", len(p), pathMax)
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
		if len(s) > nameMax {
			return "", notebookd.Errorf(http.StatusBadRequest, "invalid path: the name %.40q... is %d bytes long, the limit is %d bytes; choose a shorter name", s, len(s), nameMax)
		}
		if !m.allowHidden && strings.HasPrefix(s, ".") {
			return "", notebookd.Errorf(http.StatusForbidden, "%s is hidden", p)
		}
		segs = append(segs, s)
	}
	return strings.Join(segs, "/"), nil
}

// rel returns the path of the absolute OS path p relative to the root, and
// whether p is the root or under it.
func (m *Manager) rel(p string) (string, bool) {
	rel, err := filepath.Rel(m.root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return rel, true
}

// evalSymlinks resolves every link in the root-relative path p and returns
// the result relative to the root; ok is false when it leads out of it.
func (m *Manager) evalSymlinks(p string) (real string, ok bool, err error) {
	abs, err := filepath.EvalSymlinks(filepath.Join(m.root, p))
	if err != nil {
		return "", false, err
	}
	real, ok = m.rel(abs)
	return real, ok, nil
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
		fi, err := m.r.Stat(".")
		if err != nil {
			return nil, osError("reading", api, err)
		}
		return &target{api: "", parent: ".", os: ".", real: ".", lstat: fi, info: fi}, nil
	}
	dir, name := path.Split(api)
	parent, ok, err := m.evalSymlinks(filepath.FromSlash(dir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notebookd.Errorf(http.StatusNotFound, "No such file or directory: %s", api)
		}
		return nil, osError("resolving", api, err)
	}
	if !ok {
		return nil, notebookd.Errorf(http.StatusForbidden, "%s is outside root contents directory", api)
	}
	if pfi, err := m.r.Stat(parent); err != nil {
		return nil, osError("resolving", api, err)
	} else if !pfi.IsDir() {
		return nil, notebookd.Errorf(http.StatusNotFound, "No such file or directory: %s", api)
	}
	t := &target{api: api, name: name, parent: parent, os: filepath.Join(parent, name)}
	t.lstat, err = m.r.Lstat(t.os)
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
	real, ok, err := m.evalSymlinks(t.os)
	if err != nil {
		// A dangling link: it exists, but there is nothing behind it.
		return t, nil
	}
	if !ok {
		return nil, notebookd.Errorf(http.StatusForbidden, "%s is outside root contents directory", api)
	}
	fi, err := m.r.Stat(real)
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

// escapes reports whether err is os.Root's refusal of a path that leaves
// the root (its error value is not exported).
func escapes(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return err != nil && err.Error() == "path escapes from parent"
}

// osError turns an OS error about the API path api into an API error. Its
// message never shows an OS path: only the API path, the operation and the
// system's reason.
func osError(op, api string, err error) error {
	var e *notebookd.Error
	switch {
	case errors.As(err, &e):
		return err
	case escapes(err):
		return notebookd.Errorf(http.StatusForbidden, "%s is outside root contents directory: a symbolic link on its way leads out of it", api)
	case errors.Is(err, fs.ErrNotExist):
		return notebookd.Errorf(http.StatusNotFound, "No such file or directory: %s", api)
	case errors.Is(err, fs.ErrPermission):
		return notebookd.Errorf(http.StatusForbidden, "Permission denied: %s", api)
	case errors.Is(err, fs.ErrExist):
		return notebookd.Errorf(http.StatusConflict, "File already exists: %s", api)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return notebookd.Errorf(http.StatusBadRequest, "File name too long: %s; choose a shorter name", api)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		return notebookd.Errorf(http.StatusInternalServerError, "Unexpected error while %s %s: %v", op, api, notebookd.WithoutPath(err))
	}
}

// tmpPattern matches the names of createTemp's temporary files.
var tmpPattern = regexp.MustCompile(`^\.~.*\.[0-9a-f]{12}\.tmp$`)

// staleTemp is the age after which a temporary file that no save of this
// Manager is writing is left over from an interrupted save, and removed.
const staleTemp = 10 * time.Minute

// tempFile is a temporary file of an atomic write.
type tempFile struct {
	*os.File
	rel string // its path relative to the root (f.Name() is absolute)
}

// createTemp creates a new empty file in the directory dir named for base,
// and marks it as being written until m.done. Its mode is 0666 less the
// umask, like a file created by open(2).
func (m *Manager) createTemp(dir, base string) (*tempFile, error) {
	for range 100 {
		var b [6]byte
		_, _ = rand.Read(b[:])
		tmp := ".~" + base + "." + hex.EncodeToString(b[:]) + ".tmp"
		if len(tmp) > nameMax {
			tmp = ".~" + hex.EncodeToString(b[:]) + ".tmp"
		}
		name := filepath.Join(dir, tmp)
		m.tmpMu.Lock()
		m.writing[name] = struct{}{}
		m.tmpMu.Unlock()
		f, err := m.r.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err != nil {
			m.done(name)
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &tempFile{File: f, rel: name}, nil
	}
	return nil, fmt.Errorf("creating a temporary file in %s: %w", dir, fs.ErrExist)
}

// done marks the temporary file name as no longer being written.
func (m *Manager) done(name string) {
	m.tmpMu.Lock()
	delete(m.writing, name)
	m.tmpMu.Unlock()
}

// discard closes and removes the temporary file f.
func (m *Manager) discard(f *tempFile) {
	_ = f.Close()
	_ = m.r.Remove(f.rel)
	m.done(f.rel)
}

// removeStaleTemp removes the temporary file dir/e if it is left over from
// an interrupted save: older than staleTemp and not being written.
func (m *Manager) removeStaleTemp(dir string, e fs.DirEntry) {
	if !e.Type().IsRegular() || !tmpPattern.MatchString(e.Name()) {
		return
	}
	fi, err := e.Info()
	if err != nil || time.Since(fi.ModTime()) < staleTemp {
		return
	}
	name := filepath.Join(dir, e.Name())
	m.tmpMu.Lock()
	defer m.tmpMu.Unlock()
	if _, ok := m.writing[name]; !ok {
		_ = m.r.Remove(name)
	}
}

// commit syncs and closes the temporary file f and renames it over dst,
// giving it the mode of the file it replaces. On error f is removed.
func (m *Manager) commit(f *tempFile, dst string) (err error) {
	tmp := f.rel
	defer m.done(tmp)
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = m.r.Remove(tmp)
		}
	}()
	if fi, err := m.r.Lstat(dst); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("%s: %w", dst, errIsDir)
		}
		if fi.Mode().IsRegular() {
			if err := f.Chmod(fi.Mode().Perm()); err != nil {
				return err
			}
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
	if err := m.r.Rename(tmp, dst); err != nil {
		return err
	}
	m.syncDir(filepath.Dir(dst))
	return nil
}

var errIsDir = errors.New("is a directory")

// beforeRename is called with the synced temporary file of an atomic write
// before it is renamed into place; tests make it fail.
var beforeRename = func(tmp string) error { return nil }

// syncDir makes a rename in dir durable where the system allows it.
func (m *Manager) syncDir(dir string) {
	if d, err := m.r.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// writeAtomic replaces dst with what write writes, atomically.
func (m *Manager) writeAtomic(dst string, write func(io.Writer) error) error {
	f, err := m.createTemp(filepath.Dir(dst), filepath.Base(dst))
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		m.discard(f)
		return err
	}
	return m.commit(f, dst)
}

// copyFileAtomic replaces dst with the bytes of src. With keepTimes the
// copy gets src's modification time (shutil.copy2).
func (m *Manager) copyFileAtomic(src, dst string, keepTimes bool) error {
	in, err := m.r.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return notebookd.Errorf(http.StatusBadRequest, "%s is not a regular file", filepath.ToSlash(src))
	}
	if err := m.writeAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	}); err != nil {
		return err
	}
	if keepTimes {
		_ = m.r.Chtimes(dst, fi.ModTime(), fi.ModTime())
	}
	return nil
}
