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
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ferryml/ferry/notebookd"
)

func ptr[T any](v T) *T { return &v }

// mimetypes are the types of common notebook-side files, as Python's
// mimetypes module names them, whatever the system's MIME tables say.
var mimetypes = map[string]string{
	".txt":  "text/plain",
	".py":   "text/x-python",
	".md":   "text/markdown",
	".csv":  "text/csv",
	".json": "application/json",
	".html": "text/html",
	".css":  "text/css",
	".js":   "text/javascript",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".gif":  "image/gif",
	".pdf":  "application/pdf",
	".go":   "text/x-go",
}

// mimetypeOf guesses a file's MIME type from its extension, without
// parameters; nil when unknown.
func mimetypeOf(name string) *string {
	ext := filepath.Ext(name)
	if ext == "" {
		return nil
	}
	t, ok := mimetypes[strings.ToLower(ext)]
	if !ok {
		t = mime.TypeByExtension(ext)
	}
	if t == "" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		t = mt
	}
	return &t
}

// typeOf is the contents type of a directory entry.
func typeOf(name string, fi os.FileInfo) string {
	switch {
	case fi.IsDir():
		return "directory"
	case strings.HasSuffix(name, ".ipynb"):
		return "notebook"
	default:
		return "file"
	}
}

// baseModel is the model of an entry without content.
func baseModel(api string, fi os.FileInfo, typ string) *notebookd.Model {
	m := &notebookd.Model{
		Name:         path.Base("/" + api),
		Path:         api,
		Type:         typ,
		Writable:     fi.Mode().Perm()&0o200 != 0,
		Created:      created(fi),
		LastModified: fi.ModTime().UTC(),
	}
	if api == "" {
		m.Name = ""
	}
	if typ != "directory" {
		m.Size = ptr(fi.Size())
	}
	if typ == "file" {
		m.Mimetype = mimetypeOf(m.Name)
	}
	return m
}

// Get returns the model of the file, notebook or directory at p.
func (m *Manager) Get(ctx context.Context, p string, opt notebookd.GetOptions) (*notebookd.Model, error) {
	switch opt.Type {
	case "", "file", "notebook", "directory":
	default:
		return nil, notebookd.Errorf(http.StatusBadRequest, "Type %q is invalid", opt.Type)
	}
	switch opt.Format {
	case "", "text", "base64":
	default:
		return nil, notebookd.Errorf(http.StatusBadRequest, "Format %q is invalid", opt.Format)
	}
	t, err := m.existing(ctx, p)
	if err != nil {
		return nil, err
	}
	if t.isDir() {
		if opt.Type != "" && opt.Type != "directory" {
			return nil, notebookd.Errorf(http.StatusBadRequest, "%s is a directory, not a %s", t.api, opt.Type)
		}
		return m.dirModel(ctx, t, opt.Content)
	}
	switch {
	case opt.Type == "directory":
		return nil, notebookd.Errorf(http.StatusBadRequest, "%s is not a directory", t.api)
	case opt.Type == "notebook" || (opt.Type == "" && strings.HasSuffix(t.api, ".ipynb")):
		return m.notebookModel(t, opt)
	default:
		return m.fileModel(t, opt)
	}
}

func (m *Manager) dirModel(ctx context.Context, t *target, content bool) (*notebookd.Model, error) {
	model := baseModel(t.api, t.info, "directory")
	if !content {
		return model, nil
	}
	d, err := m.r.Open(t.real)
	if err != nil {
		return nil, osError("listing", t.api, err)
	}
	entries, err := d.ReadDir(-1)
	_ = d.Close()
	if err != nil {
		return nil, osError("listing", t.api, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	children := []*notebookd.Model{}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := e.Name()
		if strings.HasPrefix(name, ".~") {
			m.removeStaleTemp(t.real, e)
		}
		if tmpPattern.MatchString(name) {
			continue // a save in progress, or left over from one
		}
		// A name that is not UTF-8 could not be asked for (JSON strings and
		// the API paths are UTF-8): it is not listed, as resolve refuses it.
		if !utf8.ValidString(name) || len(name) > nameMax {
			continue
		}
		if (!m.allowHidden && strings.HasPrefix(name, ".")) || hiddenByGlob(name) || name == checkpointDir {
			continue
		}
		if strings.IndexByte(name, 0) >= 0 || strings.Contains(name, "/") {
			continue
		}
		full := filepath.Join(t.real, name)
		var fi os.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			real, ok, err := m.evalSymlinks(full)
			if err != nil || !ok {
				continue // dangling, or leads out of the root
			}
			if fi, err = m.r.Stat(real); err != nil {
				continue
			}
		} else if fi, err = e.Info(); err != nil {
			continue // removed meanwhile
		}
		if !fi.IsDir() && !fi.Mode().IsRegular() {
			continue // sockets, devices, fifos
		}
		child := path.Join(t.api, name)
		children = append(children, baseModel(child, fi, typeOf(name, fi)))
	}
	model.Content = children
	model.Format = ptr("json")
	return model, nil
}

func (m *Manager) readFile(t *target) ([]byte, error) {
	if !t.info.Mode().IsRegular() {
		return nil, notebookd.Errorf(http.StatusBadRequest, "%s is not a regular file", t.api)
	}
	f, err := m.r.Open(t.real)
	if err != nil {
		return nil, osError("reading", t.api, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, osError("reading", t.api, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, notebookd.Errorf(http.StatusBadRequest, "%s is not a regular file", t.api)
	}
	b := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead))
	if _, err := b.ReadFrom(f); err != nil {
		return nil, osError("reading", t.api, err)
	}
	return b.Bytes(), nil
}

func setHash(model *notebookd.Model, b []byte) {
	sum := sha256.Sum256(b)
	model.Hash = ptr(hex.EncodeToString(sum[:]))
	model.HashAlgorithm = ptr("sha256")
}

// loadModel returns the model of file t as typ, with its hash when asked,
// and the file's bytes when content or hash is asked.
func (m *Manager) loadModel(t *target, opt notebookd.GetOptions, typ string) (*notebookd.Model, []byte, error) {
	model := baseModel(t.api, t.info, typ)
	if !opt.Content && !opt.Hash {
		return model, nil, nil
	}
	b, err := m.readFile(t)
	if err != nil {
		return nil, nil, err
	}
	if opt.Hash {
		setHash(model, b)
	}
	return model, b, nil
}

func (m *Manager) fileModel(t *target, opt notebookd.GetOptions) (*notebookd.Model, error) {
	model, b, err := m.loadModel(t, opt, "file")
	if err != nil || !opt.Content {
		return model, err
	}
	format := opt.Format
	if format == "" {
		format = "text"
		if !utf8.Valid(b) {
			format = "base64"
		}
	}
	switch format {
	case "text":
		if !utf8.Valid(b) {
			return nil, notebookd.Errorf(http.StatusBadRequest, "%s is not UTF-8 encoded", t.api)
		}
		model.Content = string(b)
		if model.Mimetype == nil {
			model.Mimetype = ptr("text/plain")
		}
	default:
		model.Content = base64.StdEncoding.EncodeToString(b)
		if model.Mimetype == nil {
			model.Mimetype = ptr("application/octet-stream")
		}
	}
	model.Format = &format
	return model, nil
}

func (m *Manager) notebookModel(t *target, opt notebookd.GetOptions) (*notebookd.Model, error) {
	model, b, err := m.loadModel(t, opt, "notebook")
	if err != nil || !opt.Content {
		return model, err
	}
	nb, err := parseNotebook(b)
	if err != nil {
		return nil, notebookd.Errorf(http.StatusBadRequest, "Unreadable Notebook: %s %v", t.api, err)
	}
	rejoinLines(nb)
	model.Content = nb
	model.Format = ptr("json")
	return model, nil
}

// rejoinLines turns the multi-line strings that nbformat stores as lists of
// lines (cell sources, stream text, text-like output data and attachments)
// into single strings, as nbformat.reads does for jupyter_server: clients
// expect strings.
func rejoinLines(nb map[string]any) {
	cells, _ := nb["cells"].([]any)
	for _, c := range cells {
		cell, ok := c.(map[string]any)
		if !ok {
			continue
		}
		join(cell, "source")
		if att, ok := cell["attachments"].(map[string]any); ok {
			for _, a := range att {
				if bundle, ok := a.(map[string]any); ok {
					joinData(bundle)
				}
			}
		}
		outs, _ := cell["outputs"].([]any)
		for _, o := range outs {
			out, ok := o.(map[string]any)
			if !ok {
				continue
			}
			join(out, "text")
			if data, ok := out["data"].(map[string]any); ok {
				joinData(data)
			}
		}
	}
}

// joinData joins the values of a MIME bundle whose type is not JSON.
func joinData(data map[string]any) {
	for mime := range data {
		if mime == "application/json" || strings.HasSuffix(mime, "+json") {
			continue
		}
		join(data, mime)
	}
}

// join replaces m[key], a list of strings, by their concatenation.
func join(m map[string]any, key string) {
	list, ok := m[key].([]any)
	if !ok {
		return
	}
	var b strings.Builder
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return
		}
		b.WriteString(s)
	}
	m[key] = b.String()
}

// parseNotebook decodes a notebook's JSON, numbers as json.Number so that
// they are written back as they were read.
func parseNotebook(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var nb map[string]any
	if err := dec.Decode(&nb); err != nil {
		return nil, err
	}
	if nb == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level JSON object")
	}
	return nb, nil
}

// Open opens the file at p for reading (the /files/<path> endpoint).
func (m *Manager) Open(ctx context.Context, p string) (io.ReadSeekCloser, os.FileInfo, error) {
	t, err := m.existing(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	if t.isDir() || !t.info.Mode().IsRegular() {
		return nil, nil, notebookd.Errorf(http.StatusNotFound, "%s is not a file", t.api)
	}
	f, err := m.r.Open(t.real)
	if err != nil {
		return nil, nil, osError("opening", t.api, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, osError("opening", t.api, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, notebookd.Errorf(http.StatusNotFound, "%s is not a file", t.api)
	}
	return f, fi, nil
}

// LocalPath returns the absolute OS path, symbolic links resolved, of the
// directory p.
func (m *Manager) LocalPath(p string) (string, error) {
	t, err := m.existing(context.Background(), p)
	if err != nil {
		return "", err
	}
	if !t.isDir() {
		return "", notebookd.Errorf(http.StatusBadRequest, "%s is not a directory", t.api)
	}
	return filepath.Join(m.root, t.real), nil
}
