package contents

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/ferryml/ferry/notebookd"
)

// splitName splits a file name as jupyter_server's increment_filename
// does: before ".ipynb", else before the first dot.
func splitName(name string) (base, suffix string) {
	if b, ok := strings.CutSuffix(name, ".ipynb"); ok {
		return b, ".ipynb"
	}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[:i], name[i:]
	}
	return name, ""
}

// increment returns name, or name with insert and 1, 2, ... before its
// extension, whichever is the first free in the OS directory dir.
func (m *Manager) increment(dir, name, insert string) string {
	base, suffix := splitName(name)
	for i := 0; ; i++ {
		n := name
		if i > 0 {
			n = base + insert + strconv.Itoa(i) + suffix
		}
		if _, err := m.r.Lstat(filepath.Join(dir, n)); errors.Is(err, fs.ErrNotExist) {
			return n
		}
	}
}

// directory resolves p and requires it to be a directory.
func (m *Manager) directory(ctx context.Context, p string) (*target, error) {
	t, err := m.resolve(ctx, p)
	if err != nil {
		return nil, err
	}
	if !t.isDir() {
		return nil, notebookd.Errorf(http.StatusNotFound, "No such directory: %s", t.api)
	}
	return t, nil
}

// NewUntitled creates "Untitled.ipynb" (typ "notebook", an empty
// notebook), "untitled.txt" (typ "file"; ext, ".txt" by default, names the
// extension) or "Untitled Folder" (typ "directory") in dir, numbered
// ("Untitled1.ipynb", "untitled1.txt", "Untitled Folder 1") when taken. An
// empty typ is "notebook" when ext is ".ipynb", else "file".
func (m *Manager) NewUntitled(ctx context.Context, dir, typ, ext string) (*notebookd.Model, error) {
	if strings.ContainsAny(ext, "/\\\x00") {
		return nil, notebookd.Errorf(http.StatusBadRequest, "Invalid extension %q", ext)
	}
	if ext != "" && !strings.HasPrefix(ext, ".") {
		ext = "." + ext
	}
	if typ == "" {
		typ = "file"
		if ext == ".ipynb" {
			typ = "notebook"
		}
	}
	t, err := m.directory(ctx, dir)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch typ {
	case "notebook":
		name := m.increment(t.real, "Untitled.ipynb", "")
		return m.Save(ctx, path.Join(t.api, name), &notebookd.Model{Type: "notebook", Content: emptyNotebook()})
	case "file":
		if ext == "" {
			ext = ".txt"
		}
		name := m.increment(t.real, "untitled"+ext, "")
		f, err := m.r.OpenFile(filepath.Join(t.real, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err != nil {
			return nil, osError("creating", path.Join(t.api, name), err)
		}
		if err := f.Close(); err != nil {
			return nil, osError("creating", path.Join(t.api, name), err)
		}
		return m.Get(ctx, path.Join(t.api, name), notebookd.GetOptions{})
	case "directory":
		name := m.increment(t.real, "Untitled Folder", " ")
		if err := m.r.Mkdir(filepath.Join(t.real, name), 0o777); err != nil {
			return nil, osError("creating", path.Join(t.api, name), err)
		}
		return m.Get(ctx, path.Join(t.api, name), notebookd.GetOptions{})
	}
	return nil, notebookd.Errorf(http.StatusBadRequest, "Unhandled contents type: %q", typ)
}

// copyPat is a "-CopyN." that Copy takes out of a name before numbering it.
var copyPat = regexp.MustCompile(`-Copy\d*\.`)

// Copy copies the file from into the directory toDir, as jupyter_server
// does: under its own name when free, else as "<name>-Copy1.<ext>",
// "<name>-Copy2.<ext>", ... Directories are not copied.
func (m *Manager) Copy(ctx context.Context, from, toDir string) (*notebookd.Model, error) {
	src, err := m.existing(ctx, from)
	if err != nil {
		return nil, err
	}
	if src.isDir() {
		return nil, notebookd.Errorf(http.StatusBadRequest, "Can't copy directories: %s", src.api)
	}
	dst, err := m.directory(ctx, toDir)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	name := m.increment(dst.real, copyPat.ReplaceAllString(src.name, "."), "-Copy")
	api := path.Join(dst.api, name)
	if err := m.copyFileAtomic(src.real, filepath.Join(dst.real, name), false); err != nil {
		return nil, osError("copying to", api, err)
	}
	return m.Get(ctx, api, notebookd.GetOptions{})
}

// Rename moves from to the path to, with its checkpoint; to must not
// exist (409).
func (m *Manager) Rename(ctx context.Context, from, to string) (*notebookd.Model, error) {
	src, err := m.resolve(ctx, from)
	if err != nil {
		return nil, err
	}
	if src.api == "" {
		return nil, notebookd.Errorf(http.StatusBadRequest, "Cannot rename the root directory")
	}
	if src.lstat == nil {
		return nil, notebookd.Errorf(http.StatusNotFound, "No such file or directory: %s", src.api)
	}
	dst, err := m.resolve(ctx, to)
	if err != nil {
		return nil, err
	}
	if dst.api == "" {
		return nil, notebookd.Errorf(http.StatusConflict, "File already exists: %s", to)
	}
	if src.api == dst.api {
		return m.Get(ctx, src.api, notebookd.GetOptions{})
	}
	// Only a change of case on a case-insensitive file system may rename
	// onto an existing entry (the same one).
	if dst.lstat != nil && !(strings.EqualFold(src.api, dst.api) && os.SameFile(src.lstat, dst.lstat)) {
		return nil, notebookd.Errorf(http.StatusConflict, "File already exists: %s", dst.api)
	}
	if src.isDir() && src.lstat.IsDir() && strings.HasPrefix(dst.os+string(filepath.Separator), src.os+string(filepath.Separator)) {
		return nil, notebookd.Errorf(http.StatusBadRequest, "Cannot move %s into itself", src.api)
	}
	if err := m.r.Rename(src.os, dst.os); err != nil {
		return nil, osError("renaming", src.api, err)
	}
	if !src.lstat.IsDir() {
		// The checkpoint follows when it can; m.r keeps it in the root.
		if cp := checkpointPath(src); m.exists(cp) {
			if err := m.r.Mkdir(filepath.Join(dst.parent, checkpointDir), 0o777); err == nil || errors.Is(err, fs.ErrExist) {
				_ = m.r.Rename(cp, checkpointPath(dst))
			}
		}
	}
	return m.Get(ctx, dst.api, notebookd.GetOptions{})
}

// exists reports whether the root-relative path p exists (a dangling link
// does).
func (m *Manager) exists(p string) bool {
	_, err := m.r.Lstat(p)
	return err == nil
}

// Delete removes the file or directory (with everything in it) at p, and
// its checkpoint. A symbolic link is removed, not what it points to.
func (m *Manager) Delete(ctx context.Context, p string) error {
	t, err := m.resolve(ctx, p)
	if err != nil {
		return err
	}
	if t.api == "" {
		return notebookd.Errorf(http.StatusBadRequest, "Cannot delete the root directory")
	}
	if t.lstat == nil {
		return notebookd.Errorf(http.StatusNotFound, "No such file or directory: %s", t.api)
	}
	if !t.lstat.IsDir() {
		// A checkpoint behind a link out of the root is not touched, and
		// does not keep the file from being deleted.
		if err := m.r.Remove(checkpointPath(t)); err != nil && !errors.Is(err, fs.ErrNotExist) && !escapes(err) {
			return osError("deleting the checkpoint of", t.api, err)
		}
	}
	if err := m.r.RemoveAll(t.os); err != nil {
		return osError("deleting", t.api, err)
	}
	return nil
}
