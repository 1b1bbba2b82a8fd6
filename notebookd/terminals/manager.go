package terminals

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"github.com/ferryml/ferry/notebookd"
)

// Options configure a Manager.
type Options struct {
	// Shell is the command line of every terminal's shell. Default: $SHELL,
	// else /bin/bash, else /bin/sh.
	Shell []string
	// Env is extra environment ("K=V") for shells, over the server's
	// environment and TERM=xterm-256color.
	Env []string
	// HistoryBytes bounds the output kept to replay to a websocket that
	// attaches (default 64 KiB).
	HistoryBytes int
	// MaxMessageBytes bounds a websocket message from a client (a paste is
	// one stdin message); a larger one closes the connection with 1009
	// (message too big). Default DefaultMaxMessageBytes; negative: no
	// bound.
	MaxMessageBytes int64
	Logger          *slog.Logger
}

// DefaultHistoryBytes is the default of Options.HistoryBytes.
const DefaultHistoryBytes = 64 << 10

// Manager runs terminals. It implements notebookd.Terminals.
type Manager struct {
	shell   []string
	envMu   sync.Mutex
	base    []string // Options.Env
	env     []string
	history int
	// maxMessage is Options.MaxMessageBytes; 0: no bound.
	maxMessage int64
	log        *slog.Logger

	mu     sync.Mutex
	terms  map[string]*term
	closed bool
}

var _ notebookd.Terminals = (*Manager)(nil)

// New returns a Manager, or an error when no shell can be found.
func New(opts Options) (*Manager, error) {
	catchIgnoredHangup()
	m := &Manager{shell: opts.Shell, history: opts.HistoryBytes, log: opts.Logger, terms: map[string]*term{}}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.history <= 0 {
		m.history = DefaultHistoryBytes
	}
	switch m.maxMessage = opts.MaxMessageBytes; {
	case m.maxMessage == 0:
		m.maxMessage = DefaultMaxMessageBytes
	case m.maxMessage < 0:
		m.maxMessage = 0
	}
	if len(m.shell) == 0 {
		for _, sh := range []string{os.Getenv("SHELL"), "/bin/bash", "/bin/sh"} {
			if sh == "" {
				continue
			}
			if p, err := exec.LookPath(sh); err == nil {
				m.shell = []string{p}
				break
			}
		}
		if len(m.shell) == 0 {
			return nil, errors.New("terminals: no shell found: set $SHELL to one, or install /bin/sh")
		}
	} else if _, err := exec.LookPath(m.shell[0]); err != nil {
		return nil, fmt.Errorf("terminals: shell %q: %w", m.shell[0], err)
	}
	m.base = opts.Env
	m.env = shellEnv(os.Environ(), opts.Env)
	return m, nil
}

// shellEnv is base with TERM=xterm-256color (xterm.js's capabilities) and
// extra over it.
func shellEnv(base, extra []string) []string {
	env := make([]string, 0, len(base)+len(extra)+1)
	for _, kv := range base {
		if len(kv) >= 5 && kv[:5] == "TERM=" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "TERM=xterm-256color")
	return append(env, extra...) // os/exec keeps the last of duplicates
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$`)

// Create starts a shell in the directory cwd ("" for the server's working
// directory), named name or, when name is "", the lowest free number.
func (m *Manager) Create(ctx context.Context, name, cwd string) (*notebookd.TerminalModel, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if name != "" && !nameRE.MatchString(name) {
		return nil, notebookd.Errorf(http.StatusBadRequest, "invalid terminal name %q: use up to 100 letters, digits, '_', '.' or '-'", name)
	}
	if cwd != "" {
		fi, err := os.Stat(cwd)
		if err != nil {
			return nil, fmt.Errorf("terminals: working directory: %w", err)
		}
		if !fi.IsDir() {
			return nil, notebookd.Errorf(http.StatusBadRequest, "terminal working directory %s is not a directory", cwd)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, notebookd.Errorf(http.StatusServiceUnavailable, "terminals: the server is shutting down")
	}
	if name == "" {
		for n := 1; ; n++ {
			if _, ok := m.terms[strconv.Itoa(n)]; !ok {
				name = strconv.Itoa(n)
				break
			}
		}
	} else if _, ok := m.terms[name]; ok {
		return nil, notebookd.Errorf(http.StatusConflict, "terminal %s already exists: attach to it, or create one with another name", name)
	}
	t, err := start(m, name, cwd)
	if err != nil {
		return nil, err
	}
	m.terms[name] = t
	m.log.Info("terminal started", "name", name, "pid", t.pid, "cwd", cwd)
	return t.model(), nil
}

// List returns the running terminals, in name order ("2" before "10").
func (m *Manager) List() []*notebookd.TerminalModel {
	m.mu.Lock()
	ts := make([]*term, 0, len(m.terms))
	for _, t := range m.terms {
		ts = append(ts, t)
	}
	m.mu.Unlock()
	slices.SortFunc(ts, func(a, b *term) int { return compareNames(a.name, b.name) })
	out := make([]*notebookd.TerminalModel, len(ts))
	for i, t := range ts {
		out[i] = t.model()
	}
	return out
}

func compareNames(a, b string) int {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	switch {
	case errA == nil && errB == nil:
		return cmp.Compare(x, y)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

// Get returns the terminal name, or a 404 error.
func (m *Manager) Get(name string) (*notebookd.TerminalModel, error) {
	t, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	return t.model(), nil
}

func (m *Manager) lookup(name string) (*term, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.terms[name]
	if !ok {
		return nil, notebookd.Errorf(http.StatusNotFound, "Terminal not found: %s", name)
	}
	return t, nil
}

// remove forgets t once its shell has exited.
func (m *Manager) remove(t *term) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.terms[t.name] == t {
		delete(m.terms, t.name)
	}
}

// Delete kills the terminal's session and returns once its shell has
// exited and its websockets were told.
func (m *Manager) Delete(ctx context.Context, name string) error {
	t, err := m.lookup(name)
	if err != nil {
		return err
	}
	return t.kill(ctx)
}

// Close kills every terminal and refuses new ones. It returns ctx's error
// when ctx ends before every shell is gone.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	ts := make([]*term, 0, len(m.terms))
	for _, t := range m.terms {
		ts = append(ts, t)
	}
	m.mu.Unlock()
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() { errs[i] = t.kill(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("terminals: close: %w", err)
	}
	return nil
}

// AddEnv adds "K=V" entries to the environment of shells started from now
// on (notebookd passes the control plane's address once it listens).
func (m *Manager) AddEnv(env ...string) {
	m.envMu.Lock()
	defer m.envMu.Unlock()
	m.base = append(m.base[:len(m.base):len(m.base)], env...)
	m.env = shellEnv(os.Environ(), m.base)
}

func (m *Manager) shellEnv() []string {
	m.envMu.Lock()
	defer m.envMu.Unlock()
	return m.env
}

var hangupOnce sync.Once

// catchIgnoredHangup makes a server started with SIGHUP ignored (under
// nohup) catch and drop it instead: the server still ignores hangups, but
// its shells start with SIGHUP at its default, as on a fresh login, so that
// what they run dies with them when the server dies and the pty hangs up.
// (An ignored signal stays ignored across exec; a caught one does not.)
func catchIgnoredHangup() {
	hangupOnce.Do(func() {
		if !signal.Ignored(syscall.SIGHUP) {
			return
		}
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		go func() {
			for range c {
			}
		}()
	})
}
