// Package notebookd is Ferry's notebook server: the Jupyter Server REST and
// websocket API (https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html)
// that JupyterLab 4, @jupyterlab/services, VS Code and nbclient-style clients
// speak, and the home of Ferry's control plane.
//
// This package holds the contracts (models, errors, and the Contents,
// Kernels and Terminals interfaces the HTTP handlers consume) and the HTTP
// server itself. One technology per subpackage implements them:
// notebookd/contents (files under a root directory), notebookd/kernels
// (kernel processes, ZeroMQ, the kernel websocket) and notebookd/terminals
// (shells on pseudo-terminals, the terminado websocket). cmd/ferry wires
// them together.
package notebookd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Error is an API error: an HTTP status and a message that says what to fix.
// Handlers answer it as JSON {"message": ..., "reason": ...}.
type Error struct {
	Status  int
	Message string
	Reason  string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with status and a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...), Reason: http.StatusText(status)}
}

// StatusOf returns the HTTP status for err: that of an *Error in its chain,
// 404 for fs.ErrNotExist, 500 otherwise.
func StatusOf(err error) int {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Status
	case errors.Is(err, os.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, os.ErrExist):
		return http.StatusConflict
	case errors.Is(err, os.ErrPermission):
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}

// Model is a contents model of the Jupyter Server contents API.
type Model struct {
	Name          string    `json:"name"`
	Path          string    `json:"path"` // relative to the root, '/'-separated, no leading '/'
	Type          string    `json:"type"` // "directory", "file" or "notebook"
	Writable      bool      `json:"writable"`
	Created       time.Time `json:"created"`
	LastModified  time.Time `json:"last_modified"`
	Size          *int64    `json:"size"`
	Mimetype      *string   `json:"mimetype"`
	Format        *string   `json:"format"`  // "json", "text", "base64", or null without content
	Content       any       `json:"content"` // notebook JSON, text, base64, []*Model, or null
	Hash          *string   `json:"hash,omitempty"`
	HashAlgorithm *string   `json:"hash_algorithm,omitempty"`
	// Chunk is set on PUT for chunked uploads: 1, 2, ... and -1 for the last.
	Chunk int `json:"chunk,omitempty"`
}

// GetOptions are the query parameters of GET /api/contents/<path>.
type GetOptions struct {
	Type    string // "", "file", "notebook", "directory"
	Format  string // "", "text", "base64"
	Content bool
	Hash    bool
}

// Checkpoint is a saved copy of a file.
type Checkpoint struct {
	ID           string    `json:"id"`
	LastModified time.Time `json:"last_modified"`
}

// Contents is the contents manager the API serves.
type Contents interface {
	Get(ctx context.Context, path string, opt GetOptions) (*Model, error)
	// Save writes m at path (PUT): a notebook, a text or base64 file, or a
	// directory; an invalid model leaves the file on disk as it was.
	Save(ctx context.Context, path string, m *Model) (*Model, error)
	// NewUntitled creates "Untitled.ipynb", "untitled.txt", "Untitled Folder"
	// (numbered when taken) in dir; typ is "notebook", "file" or "directory".
	NewUntitled(ctx context.Context, dir, typ, ext string) (*Model, error)
	// Copy copies from into the directory toDir as "<name>-Copy1.<ext>".
	Copy(ctx context.Context, from, toDir string) (*Model, error)
	Rename(ctx context.Context, from, to string) (*Model, error)
	Delete(ctx context.Context, path string) error

	CreateCheckpoint(ctx context.Context, path string) (Checkpoint, error)
	ListCheckpoints(ctx context.Context, path string) ([]Checkpoint, error)
	RestoreCheckpoint(ctx context.Context, path, id string) error
	DeleteCheckpoint(ctx context.Context, path, id string) error

	// Open opens a file for /files/<path> (streaming download).
	Open(ctx context.Context, path string) (io.ReadSeekCloser, os.FileInfo, error)
	// LocalPath returns the absolute directory on disk of a contents
	// directory path (the working directory of kernels and terminals).
	LocalPath(path string) (string, error)
}

// KernelModel is a running kernel as the kernels API shows it.
type KernelModel struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	LastActivity   time.Time `json:"last_activity"`
	ExecutionState string    `json:"execution_state"`
	Connections    int       `json:"connections"`
}

// KernelSpec is a kernelspec found in Jupyter's data paths.
type KernelSpec struct {
	Name string `json:"name"`
	// Spec is kernel.json as written (argv, display_name, language,
	// interrupt_mode, env, metadata).
	Spec map[string]any `json:"spec"`
	// Resources maps resource names ("logo-64x64", "kernel.js") to URLs
	// under /kernelspecs/<name>/.
	Resources map[string]string `json:"resources"`
	// Dir is the kernelspec's directory on disk.
	Dir string `json:"-"`
}

// Kernels is the kernel manager the API serves.
type Kernels interface {
	// Specs returns the kernelspecs and the name of the default one.
	Specs() (specs map[string]*KernelSpec, defaultName string)
	// Start starts a kernel of kernelspec name ("" for the default) in the
	// directory cwd.
	Start(ctx context.Context, name, cwd string) (*KernelModel, error)
	Get(id string) (*KernelModel, error)
	List() []*KernelModel
	Interrupt(ctx context.Context, id string) error
	Restart(ctx context.Context, id string) (*KernelModel, error)
	Shutdown(ctx context.Context, id string) error
	// ServeChannels upgrades r to the kernel's websocket
	// (/api/kernels/<id>/channels?session_id=...), in the
	// v1.kernel.websocket.jupyter.org protocol when the client offers it,
	// else the legacy JSON protocol. Authentication and the Origin check are
	// done before it is called.
	ServeChannels(w http.ResponseWriter, r *http.Request, id string)
	// Close shuts every kernel down.
	Close(ctx context.Context) error
}

// TerminalModel is a running terminal as the terminals API shows it.
type TerminalModel struct {
	Name         string    `json:"name"`
	LastActivity time.Time `json:"last_activity"`
}

// Terminals is the terminal manager the API serves (/api/terminals and the
// /terminals/websocket/<name> websocket). A nil Config.Terminals turns
// terminals off.
type Terminals interface {
	List() []*TerminalModel
	// Create starts a shell in the absolute directory cwd, named name or,
	// when name is "", the lowest free number ("1", "2", ...).
	Create(ctx context.Context, name, cwd string) (*TerminalModel, error)
	Get(name string) (*TerminalModel, error)
	// Delete kills the terminal's shell and the processes of its session,
	// and returns once the shell has exited.
	Delete(ctx context.Context, name string) error
	// ServeWebsocket upgrades r to the terminal's websocket in the terminado
	// protocol (JSON arrays: ["stdin", text], ["set_size", rows, cols, ...]
	// in; ["setup", {}], ["stdout", text], ["disconnect", 1] out).
	// Authentication and the Origin check are done before it is called.
	ServeWebsocket(w http.ResponseWriter, r *http.Request, name string)
	// Close kills every terminal.
	Close(ctx context.Context) error
}
