// Package kernels is notebookd's kernel manager: it starts kernels of any
// kernelspec as processes, speaks the Jupyter messaging protocol to them over
// ZeroMQ (github.com/go-zeromq/zmq4), and relays their channels to websocket
// clients (JupyterLab, @jupyterlab/services) in the v1 binary or the legacy
// JSON protocol.
//
// Routing design: each kernel has one set of sockets (DEALER shell, control
// and stdin with one identity, SUB iopub, REQ heartbeat) shared by all its
// websocket connections. Every iopub message goes to every connection;
// shell, control and stdin messages go to the connections whose session
// (the session_id query parameter, or a header.session seen in a request the
// connection sent) equals the message's parent_header.session. Replies to the
// manager's own requests (kernel_info, shutdown) stay in the manager.
package kernels

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/ferryml/ferry/notebookd"
	"github.com/ferryml/ferry/wire"
)

// Options configure a Manager.
type Options struct {
	// SpecDirs are the kernelspec directories, searched in order (the first
	// holding a name wins). Default: Jupyter's data path order.
	SpecDirs []string
	// DefaultSpec is the default kernelspec name.
	DefaultSpec string
	// RuntimeDir holds connection files. Default: $XDG_RUNTIME_DIR/jupyter,
	// else the temporary directory.
	RuntimeDir string
	Logger     *slog.Logger
	// Env is extra environment ("K=V") for kernels.
	Env []string
	// CullIdle shuts down kernels idle with no connections for longer than
	// this; 0 disables culling.
	CullIdle time.Duration
	// CullInterval is how often culling runs (default 5 minutes, at most
	// CullIdle/2).
	CullInterval time.Duration
	// Limits bound the websocket clients' queues, their messages and the
	// IOPub rates (zero: the defaults).
	Limits Limits
}

// Tunables (variables so tests can shorten them).
var (
	readyTimeout      = 30 * time.Second
	shutdownWait      = 5 * time.Second
	heartbeatInterval = 3 * time.Second
	heartbeatMisses   = 3
	maxAutoRestarts   = 5
	stableAfter       = 10 * time.Second // a kernel alive this long resets the restart count
	replayMax         = 1000
	replayTTL         = 60 * time.Second
)

// Manager runs kernels. It implements notebookd.Kernels.
type Manager struct {
	opts     Options
	log      *slog.Logger
	specDirs []string
	runtime  string

	mu      sync.Mutex
	kernels map[string]*kern
	closed  bool
	env     []string     // Options.Env and what AddEnv added; guarded by mu
	ports   map[int]bool // ports given to this manager's kernels; guarded by mu

	stopCull chan struct{}
	cullDone chan struct{}
}

var _ notebookd.Kernels = (*Manager)(nil)

// New returns a Manager.
func New(opts Options) (*Manager, error) {
	m := &Manager{opts: opts, log: opts.Logger, specDirs: opts.SpecDirs, runtime: opts.RuntimeDir, kernels: map[string]*kern{}, env: opts.Env, ports: map[int]bool{}}
	if m.log == nil {
		m.log = slog.Default()
	}
	if len(m.specDirs) == 0 {
		m.specDirs = defaultSpecDirs()
	}
	if m.runtime == "" {
		if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
			m.runtime = filepath.Join(x, "jupyter")
		} else {
			m.runtime = os.TempDir()
		}
	}
	if err := os.MkdirAll(m.runtime, 0o700); err != nil {
		return nil, fmt.Errorf("kernels: runtime directory: %w", err)
	}
	if opts.CullIdle > 0 {
		iv := opts.CullInterval
		if iv <= 0 {
			iv = 5 * time.Minute
		}
		iv = min(iv, max(opts.CullIdle/2, 10*time.Millisecond))
		m.stopCull, m.cullDone = make(chan struct{}), make(chan struct{})
		go m.cullLoop(iv)
	}
	return m, nil
}

func (m *Manager) cullLoop(iv time.Duration) {
	defer close(m.cullDone)
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-m.stopCull:
			return
		case <-t.C:
		}
		for _, k := range m.all() {
			k.mu.Lock()
			idle := k.state == "idle" && len(k.clients) == 0 && time.Since(k.lastActivity) > m.opts.CullIdle
			k.mu.Unlock()
			if idle {
				m.log.Info("culling idle kernel", "id", k.id, "name", k.name, "idle_for", m.opts.CullIdle)
				ctx, cancel := context.WithTimeout(context.Background(), 2*shutdownWait)
				_ = m.Shutdown(ctx, k.id)
				cancel()
			}
		}
	}
}

func (m *Manager) all() []*kern {
	m.mu.Lock()
	defer m.mu.Unlock()
	ks := make([]*kern, 0, len(m.kernels))
	for _, k := range m.kernels {
		ks = append(ks, k)
	}
	return ks
}

func (m *Manager) lookup(id string) (*kern, error) {
	m.mu.Lock()
	k := m.kernels[id]
	m.mu.Unlock()
	if k == nil {
		return nil, notebookd.Errorf(http.StatusNotFound, "kernel %s not found", id)
	}
	return k, nil
}

// Start starts a kernel of kernelspec name ("" for the default) in cwd and
// returns once it answered kernel_info_request and its iopub is connected.
func (m *Manager) Start(ctx context.Context, name, cwd string) (*notebookd.KernelModel, error) {
	specs, def := m.Specs()
	if name == "" {
		name = def
	}
	ks, ok := specs[name]
	if !ok {
		if name == "" {
			return nil, notebookd.Errorf(http.StatusNotFound, "no kernelspec is installed; install one with `ferry kernelspec install`")
		}
		return nil, errNoSuchKernel(name, specs)
	}
	var spec struct {
		Argv          []string          `json:"argv"`
		Env           map[string]string `json:"env"`
		InterruptMode string            `json:"interrupt_mode"`
	}
	b, _ := json.Marshal(ks.Spec)
	if err := json.Unmarshal(b, &spec); err != nil || len(spec.Argv) == 0 {
		return nil, notebookd.Errorf(http.StatusInternalServerError, "kernelspec %s: kernel.json has no usable argv", name)
	}
	if cwd == "" {
		cwd, _ = os.Getwd()
	}
	var kb [32]byte
	_, _ = rand.Read(kb[:])
	key := hex.EncodeToString(kb[:])
	ports, err := m.pickPorts(5)
	if err != nil {
		return nil, fmt.Errorf("kernels: pick ports: %w", err)
	}
	id := wire.NewID()
	k := &kern{
		m: m, id: id, name: name, specDir: ks.Dir, argv: spec.Argv, specEnv: spec.Env,
		interruptMode: spec.InterruptMode, cwd: cwd,
		connFile: filepath.Join(m.runtime, "kernel-"+id+".json"),
		conn: wire.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", ShellPort: ports[0], ControlPort: ports[1],
			StdinPort: ports[2], IOPubPort: ports[3], HBPort: ports[4], Key: key, SignatureScheme: "hmac-sha256", KernelName: name},
		sign:         newSigner(key),
		session:      wire.NewID(),
		state:        "starting",
		lastActivity: time.Now(),
		clients:      map[*client]struct{}{},
		replay:       map[string]*replayBuf{},
		readyCh:      make(chan struct{}),
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.releasePorts(ports...)
		return nil, notebookd.Errorf(http.StatusServiceUnavailable, "the server is shutting down")
	}
	m.kernels[id] = k
	m.mu.Unlock()

	k.opMu.Lock()
	err = k.launch(ctx)
	k.opMu.Unlock()
	if err != nil {
		m.mu.Lock()
		delete(m.kernels, id)
		m.mu.Unlock()
		k.mu.Lock()
		k.stopping = true
		k.mu.Unlock()
		os.Remove(k.connFile)
		m.releasePorts(k.ports()...)
		return nil, fmt.Errorf("kernels: start %s: %w", name, err)
	}
	m.log.Info("kernel started", "id", id, "name", name, "pid", k.pid(), "cwd", cwd)
	return k.model(), nil
}

// pickPorts picks n free TCP ports on 127.0.0.1 that no kernel of m holds,
// and reserves them for the caller until releasePorts. A port is free when
// picked but not reserved by the system: a kernel binds it later, and
// another process may take it in between (launch retries then), but two
// kernels of one manager never get the same port, however many start at
// once.
func (m *Manager) pickPorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	m.mu.Lock()
	defer m.mu.Unlock()
	for tries := 0; len(ports) < n; tries++ {
		if tries == 100*n {
			return nil, fmt.Errorf("no free port among %d tried: the system's ephemeral ports are taken by this server's kernels", tries)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l) // held until all are picked, so none comes twice
		if p := l.Addr().(*net.TCPAddr).Port; !m.ports[p] {
			ports = append(ports, p)
		}
	}
	for _, p := range ports {
		m.ports[p] = true
	}
	return ports, nil
}

// releasePorts gives back ports that pickPorts reserved.
func (m *Manager) releasePorts(ports ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range ports {
		delete(m.ports, p)
	}
}

// Get returns the model of kernel id.
func (m *Manager) Get(id string) (*notebookd.KernelModel, error) {
	k, err := m.lookup(id)
	if err != nil {
		return nil, err
	}
	return k.model(), nil
}

// List returns the running kernels, oldest first.
func (m *Manager) List() []*notebookd.KernelModel {
	ks := m.all()
	sort.Slice(ks, func(i, j int) bool { return ks[i].created.Before(ks[j].created) })
	out := make([]*notebookd.KernelModel, 0, len(ks))
	for _, k := range ks {
		out = append(out, k.model())
	}
	return out
}

// Interrupt interrupts kernel id: interrupt_request on control for
// interrupt_mode "message", else SIGINT to its process group.
func (m *Manager) Interrupt(ctx context.Context, id string) error {
	k, err := m.lookup(id)
	if err != nil {
		return err
	}
	return k.interrupt()
}

// Restart restarts kernel id (same id and connection) and returns once the
// new process is ready.
func (m *Manager) Restart(ctx context.Context, id string) (*notebookd.KernelModel, error) {
	k, err := m.lookup(id)
	if err != nil {
		return nil, err
	}
	k.opMu.Lock()
	defer k.opMu.Unlock()
	k.mu.Lock()
	stopping := k.stopping
	k.mu.Unlock()
	if stopping {
		return nil, notebookd.Errorf(http.StatusNotFound, "kernel %s is shutting down", id)
	}
	// No synthetic "restarting" here: clients take it for an automatic
	// restart after a crash (JupyterLab then reconnects a second time);
	// jupyter_server sends it only for those.
	k.stop(true)
	k.mu.Lock()
	k.restarts = 0
	k.mu.Unlock()
	if err := k.launch(ctx); err != nil {
		k.setDead()
		return nil, fmt.Errorf("kernels: restart %s: %w", id, err)
	}
	k.broadcastStatus("starting")
	k.broadcastStatus("idle")
	m.log.Info("kernel restarted", "id", id, "pid", k.pid())
	return k.model(), nil
}

// Shutdown stops kernel id: shutdown_request on control, then SIGTERM and
// SIGKILL to its process group; it removes the connection file and closes
// the kernel's websockets.
func (m *Manager) Shutdown(ctx context.Context, id string) error {
	k, err := m.lookup(id)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.stopping = true
	k.mu.Unlock()
	k.opMu.Lock()
	defer k.opMu.Unlock()
	k.stop(false)
	os.Remove(k.connFile)
	m.releasePorts(k.ports()...)
	m.mu.Lock()
	delete(m.kernels, id)
	m.mu.Unlock()
	k.mu.Lock()
	k.state = "dead"
	cs := make([]*client, 0, len(k.clients))
	for c := range k.clients {
		cs = append(cs, c)
	}
	k.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
	m.log.Info("kernel shut down", "id", id)
	return nil
}

// Close shuts every kernel down, in parallel.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	already := m.closed
	m.closed = true
	m.mu.Unlock()
	if !already && m.stopCull != nil {
		close(m.stopCull)
		<-m.cullDone
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for _, k := range m.all() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.Shutdown(ctx, k.id); err != nil && notebookd.StatusOf(err) != http.StatusNotFound {
				select {
				case errs <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for e := range errs {
		all = append(all, e)
	}
	return errors.Join(all...)
}

// AddEnv adds "K=V" entries to the environment of kernels started (or
// restarted) from now on.
func (m *Manager) AddEnv(env ...string) {
	m.mu.Lock()
	m.env = append(m.env[:len(m.env):len(m.env)], env...)
	m.mu.Unlock()
}

func (m *Manager) kernelEnv() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.env
}
