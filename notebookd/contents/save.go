package contents

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/ferryml/ferry/notebookd"
)

// Save writes model at p: a notebook, a text or base64 file, or a
// directory (PUT /api/contents/<path>). A notebook must be a valid
// nbformat 4 document. Files may come in chunks (model.Chunk 1, 2, ...,
// -1 for the last): they are gathered in a temporary file which the last
// chunk renames into place. An invalid or failed save leaves the file on
// disk as it was. It returns the model without content.
func (m *Manager) Save(ctx context.Context, p string, model *notebookd.Model) (*notebookd.Model, error) {
	if model == nil {
		return nil, notebookd.Errorf(http.StatusBadRequest, "No JSON data provided")
	}
	if model.Type == "" {
		return nil, notebookd.Errorf(http.StatusBadRequest, "No file type provided")
	}
	if model.Content == nil && model.Type != "directory" {
		return nil, notebookd.Errorf(http.StatusBadRequest, "No file content provided")
	}
	if model.Chunk != 0 && model.Type != "file" {
		return nil, notebookd.Errorf(http.StatusBadRequest, "File type %q is not supported for chunked uploading", model.Type)
	}
	t, err := m.resolve(ctx, p)
	if err != nil {
		return nil, err
	}
	if t.api == "" && model.Type != "directory" {
		return nil, notebookd.Errorf(http.StatusBadRequest, "Cannot save a %s at the root directory", model.Type)
	}
	if t.lstat != nil && t.info == nil {
		return nil, notebookd.Errorf(http.StatusForbidden, "%s is a broken symbolic link", t.api)
	}
	if t.isDir() && model.Type != "directory" {
		return nil, notebookd.Errorf(http.StatusBadRequest, "%s is a directory, not a %s", t.api, model.Type)
	}
	dest := t.os
	if t.exists() {
		dest = t.real // write through a link, which stays in the root
	}
	switch model.Type {
	case "directory":
		if !t.exists() {
			if err := m.r.Mkdir(t.os, 0o777); err != nil {
				return nil, osError("creating directory", t.api, err)
			}
		} else if !t.isDir() {
			return nil, notebookd.Errorf(http.StatusBadRequest, "Not a directory: %s", t.api)
		}
	case "notebook":
		nb, err := notebookContent(model.Content)
		if err != nil {
			return nil, notebookd.Errorf(http.StatusBadRequest, "Invalid notebook %s: %v", t.api, err)
		}
		if err := validateNotebook(nb); err != nil {
			return nil, notebookd.Errorf(http.StatusBadRequest, "Invalid notebook %s: %v", t.api, err)
		}
		if err := m.writeAtomic(dest, func(w io.Writer) error {
			if err := writeNotebook(w, nb); err != nil {
				return errEncode{err}
			}
			return nil
		}); err != nil {
			var ee errEncode
			if errors.As(err, &ee) {
				return nil, notebookd.Errorf(http.StatusBadRequest, "Invalid notebook %s: %v", t.api, ee.err)
			}
			return nil, osError("saving", t.api, err)
		}
		// One checkpoint always exists for notebooks (jupyter_server).
		if _, err := m.r.Lstat(checkpointPath(t)); errors.Is(err, fs.ErrNotExist) {
			if _, err := m.CreateCheckpoint(ctx, t.api); err != nil {
				return nil, err
			}
		}
	case "file":
		write, err := fileContent(t.api, model)
		if err != nil {
			return nil, err
		}
		if model.Chunk != 0 {
			return m.saveChunk(t, dest, model.Chunk, write)
		}
		if err := m.writeAtomic(dest, write); err != nil {
			return nil, osError("saving", t.api, err)
		}
	default:
		return nil, notebookd.Errorf(http.StatusBadRequest, "Unhandled contents type: %q", model.Type)
	}
	return m.Get(ctx, t.api, notebookd.GetOptions{})
}

// errEncode is a notebook that could not be encoded as JSON (a number
// that is not one, from a Go caller).
type errEncode struct{ err error }

func (e errEncode) Error() string { return e.err.Error() }

// notebookContent is the notebook of a model's content: decoded JSON, or
// JSON text.
func notebookContent(c any) (map[string]any, error) {
	switch c := c.(type) {
	case map[string]any:
		return c, nil
	case json.RawMessage:
		return parseNotebook(c)
	case []byte:
		return parseNotebook(c)
	case string:
		return parseNotebook([]byte(c))
	}
	return nil, errors.New("content must be a JSON object")
}

// fileContent returns what writes the bytes of a file model's content,
// without a copy of them: the text, or the base64 decoded as it is
// written. Invalid base64 is found before anything is written.
func fileContent(api string, model *notebookd.Model) (func(io.Writer) error, error) {
	s, ok := model.Content.(string)
	if !ok {
		return nil, notebookd.Errorf(http.StatusBadRequest, "File content must be a string")
	}
	format := ""
	if model.Format != nil {
		format = *model.Format
	}
	switch format {
	case "text":
		return func(w io.Writer) error {
			_, err := io.WriteString(w, s)
			return err
		}, nil
	case "base64":
		if _, err := io.Copy(io.Discard, base64.NewDecoder(base64.StdEncoding, &spaceless{s: s})); err != nil {
			return nil, notebookd.Errorf(http.StatusBadRequest, "Encoding error saving %s: %v", api, err)
		}
		return func(w io.Writer) error {
			_, err := io.Copy(w, base64.NewDecoder(base64.StdEncoding, &spaceless{s: s}))
			return err
		}, nil
	}
	return nil, notebookd.Errorf(http.StatusBadRequest, "Must specify format of file contents as 'text' or 'base64'")
}

// spaceless reads s without its spaces, tabs and line ends (base64 from
// clients may be wrapped).
type spaceless struct{ s string }

func (r *spaceless) Read(p []byte) (int, error) {
	n, i := 0, 0
	for ; n < len(p) && i < len(r.s); i++ {
		switch c := r.s[i]; c {
		case ' ', '\t', '\r', '\n':
		default:
			p[n] = c
			n++
		}
	}
	r.s = r.s[i:]
	if n == 0 && len(r.s) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// saveChunk adds chunk number n of a chunked upload to dest.
func (m *Manager) saveChunk(t *target, dest string, n int, write func(io.Writer) error) (*notebookd.Model, error) {
	if n < -1 {
		return nil, notebookd.Errorf(http.StatusBadRequest, "Invalid chunk number %d", n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var f *tempFile
	if n == 1 {
		if old, ok := m.uploads[dest]; ok {
			_ = m.r.Remove(old)
			m.done(old)
			delete(m.uploads, dest)
		}
		var err error
		if f, err = m.createTemp(filepath.Dir(dest), filepath.Base(dest)); err != nil {
			return nil, osError("saving", t.api, err)
		}
		m.uploads[dest] = f.rel
	} else {
		tmp, ok := m.uploads[dest]
		if !ok {
			return nil, notebookd.Errorf(http.StatusBadRequest, "No upload of %s in progress: chunk %d came before chunk 1", t.api, n)
		}
		osf, err := m.r.OpenFile(tmp, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			delete(m.uploads, dest)
			m.done(tmp)
			return nil, osError("saving", t.api, err)
		}
		f = &tempFile{File: osf, rel: tmp}
	}
	fail := func(err error) (*notebookd.Model, error) {
		m.discard(f)
		delete(m.uploads, dest)
		return nil, osError("saving", t.api, err)
	}
	if err := write(f); err != nil {
		return fail(err)
	}
	if n == -1 {
		delete(m.uploads, dest)
		if err := m.commit(f, dest); err != nil {
			return nil, osError("saving", t.api, err)
		}
		fi, err := m.r.Stat(dest)
		if err != nil {
			return nil, osError("saving", t.api, err)
		}
		return baseModel(t.api, fi, "file"), nil
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	return baseModel(t.api, fi, "file"), nil
}
