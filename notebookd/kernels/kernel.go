package kernels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/ferryml/ferry/notebookd"
	"github.com/ferryml/ferry/wire"
)

// kern is one kernel: a stable id and connection across restarts, and the
// current process (proc).
type kern struct {
	m             *Manager
	id, name      string
	specDir       string
	argv          []string
	specEnv       map[string]string
	interruptMode string
	cwd           string
	connFile      string
	conn          wire.ConnectionInfo
	sign          signer
	session       string // the manager's own session (kernel_info, shutdown, interrupt)
	created       time.Time

	opMu sync.Mutex // serializes launch, restart, shutdown

	mu           sync.Mutex
	proc         *proc
	readyCh      chan struct{} // closed while proc is ready; replaced when it stops
	state        string
	lastActivity time.Time
	clients      map[*client]struct{}
	replay       map[string]*replayBuf // iopub kept for disconnected sessions
	iopubLimit   *rateLimiter          // made on the first message
	restarts     int                   // consecutive automatic restarts
	stopping     bool
}

// proc is one kernel process and its sockets.
type proc struct {
	k      *kern
	cmd    *exec.Cmd
	pid    int
	done   chan struct{} // closed when the process has exited
	ctx    context.Context
	cancel context.CancelFunc

	shell, control, stdin, iopub zmq4.Socket
	sendMu                       sync.Mutex

	infoReply chan struct{} // gets a value per kernel_info_reply to the manager
	iopubOnce sync.Once
	iopubSeen chan struct{}

	expected bool // exit expected (restart, shutdown); guarded by k.mu
	readyAt  time.Time
}

func (k *kern) model() *notebookd.KernelModel {
	k.mu.Lock()
	defer k.mu.Unlock()
	return &notebookd.KernelModel{ID: k.id, Name: k.name, LastActivity: k.lastActivity.UTC(),
		ExecutionState: k.state, Connections: len(k.clients)}
}

func (k *kern) pid() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.proc == nil {
		return 0
	}
	return k.proc.pid
}

// launch starts the kernel process and waits until it is ready (called with
// opMu held). The ports in the connection file were free when picked but
// are not reserved by the system: another process (another Jupyter server,
// or a connection's ephemeral port) may take one before the kernel binds
// it. Then the kernel exits before it is ready, or the manager's sockets
// reach something other than the kernel (errPortTaken). Either way launch
// tries again with fresh ports, up to launchTries times in all.
func (k *kern) launch(ctx context.Context) error {
	var err error
	for try := 0; try < launchTries; try++ {
		if try > 0 {
			ports, perr := k.m.pickPorts(5)
			if perr != nil {
				return fmt.Errorf("pick ports: %w", perr)
			}
			old := k.ports()
			k.mu.Lock()
			k.conn.ShellPort, k.conn.ControlPort, k.conn.StdinPort, k.conn.IOPubPort, k.conn.HBPort =
				ports[0], ports[1], ports[2], ports[3], ports[4]
			k.mu.Unlock()
			k.m.releasePorts(old...)
			k.m.log.Info("kernel did not start on its ports; retrying with new ones", "kernel", k.id, "try", try+1, "err", err)
		}
		err = k.launchOnce(ctx)
		if !(errors.Is(err, errEarlyExit) || errors.Is(err, errPortTaken)) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// launchTries is how many times launch starts a kernel whose ports were
// taken.
const launchTries = 5

// ports returns the kernel's five ports.
func (k *kern) ports() []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.conn
	return []int{c.ShellPort, c.ControlPort, c.StdinPort, c.IOPubPort, c.HBPort}
}

// errEarlyExit marks a kernel process that exited before it was ready.
var errEarlyExit = errors.New("the kernel process exited before it was ready")

// errPortTaken marks a kernel port where the manager's socket met
// something other than the kernel: another process took the port (for
// instance another kernel's ROUTER where a SUB expects the kernel's PUB).
var errPortTaken = errors.New("another process answered on a kernel port")

func (k *kern) launchOnce(ctx context.Context) error {
	cf, _ := json.MarshalIndent(k.conn, "", "  ")
	if err := os.WriteFile(k.connFile, cf, 0o600); err != nil {
		return fmt.Errorf("write connection file: %w", err)
	}
	_ = os.Chmod(k.connFile, 0o600)
	argv := make([]string, len(k.argv))
	for i, a := range k.argv {
		a = strings.ReplaceAll(a, "{connection_file}", k.connFile)
		argv[i] = strings.ReplaceAll(a, "{resource_dir}", k.specDir)
	}
	env := append(os.Environ(), k.m.kernelEnv()...)
	env = append(env, "JPY_PARENT_PID="+fmt.Sprint(os.Getpid()))
	for name, v := range k.specEnv {
		v = os.Expand(v, func(s string) string { return lookupEnv(env, s) })
		env = append(env, name+"="+v)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = k.cwd
	cmd.Env = env
	cmd.SysProcAttr = procAttr()
	lg := k.m.log.With("kernel", k.id, "name", k.name)
	cmd.Stdout = &lineLogger{log: lg, stream: "stdout"}
	cmd.Stderr = &lineLogger{log: lg, stream: "stderr"}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", argv[0], err)
	}
	pctx, cancel := context.WithCancel(context.Background())
	p := &proc{k: k, cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}), ctx: pctx, cancel: cancel,
		infoReply: make(chan struct{}, 16), iopubSeen: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		lg.Debug("kernel process exited", "pid", p.pid, "err", err)
		close(p.done)
	}()
	k.mu.Lock()
	k.proc = p
	k.state = "starting"
	k.mu.Unlock()

	if err := p.connectAndWait(ctx); err != nil {
		k.mu.Lock()
		p.expected = true
		k.mu.Unlock()
		p.kill()
		p.cancel()
		p.closeSockets()
		return err
	}
	k.mu.Lock()
	p.readyAt = time.Now()
	k.state = "idle" // the kernel_info exchange is over; its idle status may still be in flight
	select {
	case <-k.readyCh:
	default:
		close(k.readyCh)
	}
	k.mu.Unlock()
	go p.watch()
	go p.heartbeat()
	return nil
}

func lookupEnv(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

func (p *proc) addr(port int) string { return p.k.conn.Endpoint(port) }

var zmqLog = log.New(io.Discard, "", 0)

func (p *proc) sockOpts(id zmq4.SocketIdentity) []zmq4.Option {
	o := []zmq4.Option{zmq4.WithDialerRetry(20 * time.Millisecond), zmq4.WithDialerMaxRetries(-1),
		zmq4.WithLogger(zmqLog), zmq4.WithTimeout(10 * time.Second)}
	if len(id) > 0 {
		o = append(o, zmq4.WithID(id))
	}
	return o
}

// connectAndWait dials the kernel's sockets and waits for kernel_info_reply
// on shell and a message on iopub (like jupyter_client's wait_for_ready).
func (p *proc) connectAndWait(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	// Abort the dials when the process dies or the time is up.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			p.cancel()
		case <-p.done:
			p.cancel()
		case <-stop:
		}
	}()
	fail := func(err error) error {
		select {
		case <-p.done:
			return fmt.Errorf("%w (%v); see the server log for its output", errEarlyExit, p.cmd.ProcessState)
		default:
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the kernel did not answer kernel_info_request within %v", readyTimeout)
		}
		return err
	}
	id := zmq4.SocketIdentity(wire.NewID())
	p.iopub = zmq4.NewSub(p.ctx, p.sockOpts(nil)...)
	p.shell = zmq4.NewDealer(p.ctx, p.sockOpts(id)...)
	p.control = zmq4.NewDealer(p.ctx, p.sockOpts(id)...)
	p.stdin = zmq4.NewDealer(p.ctx, p.sockOpts(id)...)
	if err := p.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		return err
	}
	c := p.k.conn
	for _, s := range []struct {
		s    zmq4.Socket
		port int
	}{{p.iopub, c.IOPubPort}, {p.shell, c.ShellPort}, {p.control, c.ControlPort}, {p.stdin, c.StdinPort}} {
		if err := s.s.Dial(p.addr(s.port)); err != nil {
			// The dialers retry until the process dies or the time is up
			// (fail reports those); any other error is a failed ZMTP
			// handshake with whatever listens there.
			return fail(fmt.Errorf("connect to the kernel on port %d: %w: %w", s.port, errPortTaken, err))
		}
	}
	for _, s := range []struct {
		s  zmq4.Socket
		ch string
	}{{p.iopub, "iopub"}, {p.shell, "shell"}, {p.control, "control"}, {p.stdin, "stdin"}} {
		go p.readLoop(s.s, s.ch)
	}
	gotReply := false
	wait := 50 * time.Millisecond
	for {
		if err := p.send("shell", p.k.ownMsg("kernel_info_request", "shell", map[string]any{})); err != nil {
			return fail(err)
		}
		t := time.NewTimer(wait)
	waitLoop:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return fail(ctx.Err())
			case <-p.done:
				t.Stop()
				return fail(errors.New("exited"))
			case <-p.infoReply:
				gotReply = true
				select {
				case <-p.iopubSeen:
					t.Stop()
					return nil
				default:
				}
			case <-p.iopubSeen:
				if gotReply {
					t.Stop()
					return nil
				}
			case <-t.C:
				break waitLoop
			}
		}
		wait = min(2*wait, time.Second)
	}
}

// ownMsg builds a message from the manager's own session.
func (k *kern) ownMsg(msgType, channel string, content any) *msg {
	h, _ := json.Marshal(wire.Header{MsgID: wire.NewID(), Session: k.session, Username: "ferry",
		Date: wire.Now(), MsgType: msgType, Version: wire.ProtocolVersion})
	c, _ := json.Marshal(content)
	m := &msg{channel: channel, header: h, parent: []byte("{}"), metadata: []byte("{}"), content: c}
	_ = m.parse()
	return m
}

// send signs m and sends it on channel.
func (p *proc) send(channel string, m *msg) error {
	var s zmq4.Socket
	switch channel {
	case "shell":
		s = p.shell
	case "control":
		s = p.control
	case "stdin":
		s = p.stdin
	default:
		return fmt.Errorf("no channel %q; use shell, control or stdin", channel)
	}
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	return s.SendMulti(zmq4.NewMsgFrom(p.k.sign.encode(m)...))
}

func (p *proc) readLoop(s zmq4.Socket, channel string) {
	for {
		zm, err := s.Recv()
		if err != nil {
			if p.ctx.Err() == nil {
				p.k.m.log.Debug("kernel socket closed", "kernel", p.k.id, "channel", channel, "err", err)
			}
			return
		}
		p.k.fromKernel(p, channel, zm.Frames)
	}
}

// fromKernel handles frames received from the kernel on channel.
func (k *kern) fromKernel(p *proc, channel string, frames [][]byte) {
	m, err := k.sign.decode(channel, frames)
	if err != nil {
		k.m.log.Warn("dropped a message from the kernel", "kernel", k.id, "channel", channel, "err", err)
		return
	}
	k.mu.Lock()
	k.lastActivity = time.Now()
	if channel == "iopub" && m.msgType == "status" && (p == nil || k.proc == p) {
		var c struct {
			State string `json:"execution_state"`
		}
		if json.Unmarshal(m.content, &c) == nil && c.State != "" {
			k.state = c.State
		}
	}
	k.mu.Unlock()
	if p != nil && channel == "iopub" {
		p.iopubOnce.Do(func() { close(p.iopubSeen) })
	}
	if channel != "iopub" && m.parentSession == k.session {
		if m.msgType == "kernel_info_reply" && p != nil {
			select {
			case p.infoReply <- struct{}{}:
			default:
			}
		}
		return
	}
	k.dispatch(m)
}

// dispatch sends m to the clients it is for, and into the replay buffers,
// through the IOPub rate limit.
func (k *kern) dispatch(m *msg) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.iopubLimit == nil {
		k.iopubLimit = &rateLimiter{limits: k.m.opts.Limits.withDefaults()}
	}
	now := time.Now()
	for _, x := range k.iopubLimit.filter(k, m, now) {
		k.deliverLocked(x, now)
	}
}

func (k *kern) deliverLocked(m *msg, now time.Time) {
	for c := range k.clients {
		if m.channel == "iopub" || c.hasSession(m.parentSession) {
			c.enqueue(m)
		}
	}
	for s, b := range k.replay {
		if now.Sub(b.since) > replayTTL {
			delete(k.replay, s)
			continue
		}
		if m.channel == "iopub" || m.parentSession == s {
			b.add(m)
		}
	}
}

// broadcastStatus sends a synthetic iopub status message to the clients.
func (k *kern) broadcastStatus(state string) {
	m := k.ownMsg("status", "iopub", map[string]string{"execution_state": state})
	k.mu.Lock()
	if state != "starting" {
		k.state = state
	}
	k.mu.Unlock()
	k.dispatch(m)
}

func (k *kern) setDead() {
	k.mu.Lock()
	k.proc = nil
	k.mu.Unlock()
	k.broadcastStatus("dead")
}

func (p *proc) closeSockets() {
	for _, s := range []zmq4.Socket{p.shell, p.control, p.stdin, p.iopub} {
		if s != nil {
			s.Close()
		}
	}
}

// signal sends sig to the process group.
func (p *proc) signal(sig syscall.Signal) {
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		p.k.m.log.Warn("signal kernel", "kernel", p.k.id, "signal", sig, "err", err)
	}
}

func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(shutdownWait):
	}
}

func (p *proc) exited(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop ends the current process: shutdown_request on control, then
// SIGTERM (when not restarting) and SIGKILL to the group. Called with opMu.
func (k *kern) stop(restart bool) {
	k.mu.Lock()
	p := k.proc
	if p != nil {
		p.expected = true
	}
	k.readyCh = make(chan struct{})
	k.mu.Unlock()
	if p == nil {
		return
	}
	select {
	case <-p.done:
	default:
		_ = p.send("control", k.ownMsg("shutdown_request", "control", map[string]bool{"restart": restart}))
		if !p.exited(shutdownWait) {
			if !restart {
				p.signal(syscall.SIGTERM)
			}
			if restart || !p.exited(2*time.Second) {
				p.kill()
			}
		}
	}
	// Children the kernel left in its group go too.
	p.signal(syscall.SIGKILL)
	p.cancel()
	p.closeSockets()
}

func (k *kern) interrupt() error {
	k.mu.Lock()
	p := k.proc
	k.mu.Unlock()
	if p == nil {
		return notebookd.Errorf(409, "kernel %s is not running", k.id)
	}
	if k.interruptMode == "message" {
		return p.send("control", k.ownMsg("interrupt_request", "control", map[string]any{}))
	}
	p.signal(syscall.SIGINT)
	return nil
}

// watch handles the process's exit: unless expected, it restarts the kernel
// (up to maxAutoRestarts times in a row) with a "restarting" status to the
// clients, or declares it dead.
func (p *proc) watch() {
	<-p.done
	k := p.k
	k.mu.Lock()
	if p.expected || k.proc != p || k.stopping {
		k.mu.Unlock()
		return
	}
	if time.Since(p.readyAt) > stableAfter {
		k.restarts = 0
	}
	k.mu.Unlock()
	k.m.log.Warn("kernel died unexpectedly", "kernel", k.id, "name", k.name, "status", p.cmd.ProcessState)
	k.opMu.Lock()
	defer k.opMu.Unlock()
	k.mu.Lock()
	if k.proc != p || k.stopping {
		k.mu.Unlock()
		return
	}
	k.readyCh = make(chan struct{})
	k.mu.Unlock()
	p.signal(syscall.SIGKILL)
	p.cancel()
	p.closeSockets()
	for {
		k.mu.Lock()
		k.restarts++
		n := k.restarts
		stopping := k.stopping
		k.mu.Unlock()
		if stopping {
			return
		}
		if n > maxAutoRestarts {
			k.m.log.Error("kernel died and restarting it failed too often; giving up", "kernel", k.id, "restarts", n-1)
			k.setDead()
			return
		}
		k.broadcastStatus("restarting")
		if err := k.launch(context.Background()); err != nil {
			k.m.log.Warn("automatic kernel restart failed", "kernel", k.id, "try", n, "err", err)
			continue
		}
		k.broadcastStatus("starting")
		k.broadcastStatus("idle")
		k.m.log.Info("kernel restarted automatically", "kernel", k.id, "pid", k.pid())
		return
	}
}

// heartbeat pings the kernel every heartbeatInterval; after heartbeatMisses
// missed pings in a row it kills the process group (watch then restarts it).
func (p *proc) heartbeat() {
	misses := 0
	var req zmq4.Socket
	defer func() {
		if req != nil {
			req.Close()
		}
	}()
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.done:
			return
		case <-t.C:
		}
		// Dial, send and receive in a goroutine: against a stopped process
		// even the ZMTP handshake blocks.
		type result struct {
			s  zmq4.Socket
			ok bool
		}
		ch := make(chan result, 1)
		go func(s zmq4.Socket) {
			if s == nil {
				s = zmq4.NewReq(p.ctx, zmq4.WithDialerMaxRetries(0), zmq4.WithLogger(zmqLog), zmq4.WithTimeout(heartbeatInterval))
				if err := s.Dial(p.addr(p.k.conn.HBPort)); err != nil {
					s.Close()
					ch <- result{}
					return
				}
			}
			if err := s.Send(zmq4.NewMsg([]byte("ping"))); err != nil {
				ch <- result{s, false}
				return
			}
			r, err := s.Recv()
			ch <- result{s, err == nil && bytes.Equal(r.Bytes(), []byte("ping"))}
		}(req)
		var r result
		select {
		case r = <-ch:
		case <-time.After(heartbeatInterval):
			if req != nil {
				req.Close() // unblocks Recv
			}
			go func() { // close a socket the late goroutine made
				if r := <-ch; r.s != nil {
					r.s.Close()
				}
			}()
		case <-p.ctx.Done():
			return
		}
		req = r.s
		if r.ok {
			misses = 0
			continue
		}
		if req != nil {
			req.Close()
		}
		req = nil
		misses++
		if p.heartbeatFailed(misses) {
			return
		}
	}
}

func (p *proc) heartbeatFailed(misses int) bool {
	if misses < heartbeatMisses {
		return false
	}
	select {
	case <-p.done:
		return true
	case <-p.ctx.Done():
		return true
	default:
	}
	p.k.m.log.Warn("kernel missed heartbeats; killing it", "kernel", p.k.id, "misses", misses)
	p.signal(syscall.SIGKILL)
	return true
}

// lineLogger logs a kernel's output line by line.
type lineLogger struct {
	log    *slog.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.log.Info("kernel output", "stream", l.stream, "line", string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 {
		l.log.Info("kernel output", "stream", l.stream, "line", string(l.buf))
		l.buf = nil
	}
	return len(b), nil
}
