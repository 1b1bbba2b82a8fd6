package contents

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ferryml/ferry/notebookd"
)

// checkpointID is the one checkpoint a file has (jupyter_server's
// FileCheckpoints).
const checkpointID = "checkpoint"

// checkpointPath is <dir>/.ipynb_checkpoints/<base>-checkpoint<ext>,
// relative to the root. Nothing checks the links on it: every access goes
// through m.r, which refuses a symbolic link (the directory or the file)
// that leads out of the root, as the rest of the API does (403).
func checkpointPath(t *target) string {
	ext := filepath.Ext(t.name)
	base := strings.TrimSuffix(t.name, ext)
	if base == "" { // ".bashrc": os.path.splitext has no extension
		base, ext = t.name, ""
	}
	return filepath.Join(t.parent, checkpointDir, base+"-"+checkpointID+ext)
}

// file resolves p and requires it to be a file.
func (m *Manager) file(ctx context.Context, p string) (*target, error) {
	t, err := m.existing(ctx, p)
	if err != nil {
		return nil, err
	}
	if t.isDir() {
		return nil, notebookd.Errorf(http.StatusBadRequest, "%s is a directory: directories have no checkpoints", t.api)
	}
	return t, nil
}

// CreateCheckpoint saves a copy of the file at p, replacing its checkpoint.
func (m *Manager) CreateCheckpoint(ctx context.Context, p string) (notebookd.Checkpoint, error) {
	t, err := m.file(ctx, p)
	if err != nil {
		return notebookd.Checkpoint{}, err
	}
	cp := checkpointPath(t)
	if err := m.r.Mkdir(filepath.Dir(cp), 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return notebookd.Checkpoint{}, osError("creating a checkpoint of", t.api, err)
	}
	if err := m.copyFileAtomic(t.real, cp, true); err != nil {
		return notebookd.Checkpoint{}, osError("creating a checkpoint of", t.api, err)
	}
	fi, err := m.r.Stat(cp)
	if err != nil {
		return notebookd.Checkpoint{}, osError("creating a checkpoint of", t.api, err)
	}
	return notebookd.Checkpoint{ID: checkpointID, LastModified: fi.ModTime().UTC()}, nil
}

// ListCheckpoints returns the file's checkpoint, if it has one.
func (m *Manager) ListCheckpoints(ctx context.Context, p string) ([]notebookd.Checkpoint, error) {
	// A file that does not exist (JupyterLab asks right after a rename) has
	// no checkpoints, as in jupyter_server; a path that escapes the root is
	// still refused.
	t, err := m.resolve(ctx, p)
	if err != nil {
		if notebookd.StatusOf(err) == http.StatusNotFound && !slices.Contains(strings.Split(p, "/"), "..") {
			return []notebookd.Checkpoint{}, nil
		}
		return nil, err
	}
	fi, err := m.r.Stat(checkpointPath(t))
	if errors.Is(err, fs.ErrNotExist) {
		return []notebookd.Checkpoint{}, nil
	}
	if err != nil {
		return nil, osError("listing the checkpoints of", t.api, err)
	}
	return []notebookd.Checkpoint{{ID: checkpointID, LastModified: fi.ModTime().UTC()}}, nil
}

// checkpoint finds the checkpoint id of p; p itself need not exist.
func (m *Manager) checkpoint(ctx context.Context, p, id string) (*target, string, error) {
	t, err := m.resolve(ctx, p)
	if err != nil {
		return nil, "", err
	}
	if t.api == "" || t.isDir() {
		return nil, "", notebookd.Errorf(http.StatusBadRequest, "%s is a directory: directories have no checkpoints", t.api)
	}
	cp := checkpointPath(t)
	if id != checkpointID {
		return nil, "", notebookd.Errorf(http.StatusNotFound, "Checkpoint does not exist: %s@%s", t.api, id)
	}
	if _, err := m.r.Lstat(cp); errors.Is(err, fs.ErrNotExist) {
		return nil, "", notebookd.Errorf(http.StatusNotFound, "Checkpoint does not exist: %s@%s", t.api, id)
	} else if err != nil {
		return nil, "", osError("finding the checkpoint of", t.api, err)
	}
	return t, cp, nil
}

// RestoreCheckpoint puts the checkpoint id back in place of the file at p,
// atomically.
func (m *Manager) RestoreCheckpoint(ctx context.Context, p, id string) error {
	t, cp, err := m.checkpoint(ctx, p, id)
	if err != nil {
		return err
	}
	if t.lstat != nil && t.info == nil {
		return notebookd.Errorf(http.StatusForbidden, "%s is a broken symbolic link", t.api)
	}
	dest := t.os
	if t.exists() {
		dest = t.real
	}
	if err := m.copyFileAtomic(cp, dest, true); err != nil {
		return osError("restoring a checkpoint of", t.api, err)
	}
	return nil
}

// DeleteCheckpoint removes the checkpoint id of the file at p.
func (m *Manager) DeleteCheckpoint(ctx context.Context, p, id string) error {
	_, cp, err := m.checkpoint(ctx, p, id)
	if err != nil {
		return err
	}
	if err := m.r.Remove(cp); err != nil {
		return osError("deleting a checkpoint of", p, err)
	}
	return nil
}
