package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/ferryml/ferry/wire"
)

// Streams are the kernel's ends of a session's standard streams: writes to
// Stdout and Stderr become stream messages parented to the latest cell, and
// reads from Stdin ask the frontend for input.
type Streams struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
}

// Config configures a Kernel.
type Config struct {
	Conn wire.ConnectionInfo
	// NewEvaluator builds the session's evaluator. It runs concurrently with
	// start-up so that kernel_info is answered at once.
	NewEvaluator func(Streams) (Evaluator, error)
	// HistoryPath is the file that keeps execution history across restarts;
	// empty keeps history in memory only.
	HistoryPath string
	// Version is the implementation version reported in kernel_info.
	Version string
	// LanguageVersion is the Go version reported in kernel_info.
	LanguageVersion string
	Logger          *slog.Logger
	// HandleSIGINT makes Run catch SIGINT and treat it as an interrupt.
	HandleSIGINT bool
	// OnCommFlood, when set, is called with true when comm messages start
	// to flood iopub (a loop updating widgets as fast as it can: more than
	// floodMsgs within floodWindow) and with false once none came for
	// floodQuiet. It is called from one goroutine at a time, never with the
	// same value twice in a row. The Ferry kernel gives the GC more
	// headroom meanwhile, so collections do not delay requests.
	OnCommFlood func(flooding bool)
}

// Kernel is a running Jupyter kernel.
type Kernel struct {
	cfg    Config
	log    *slog.Logger
	signer *wire.Signer
	sess   string

	shell, control, stdin, hb   zmq4.Socket
	shellMu, controlMu, stdinMu sync.Mutex
	iopub                       *pubSocket
	iopubQ                      *iopubQueue

	ready   chan struct{} // closed once ev or evErr is set
	ev      Evaluator
	evErr   error
	stdout  *streamWriter
	stderr  *streamWriter
	history *history
	comms   *comms

	execCount int

	// parent is the request that output is attributed to: the latest
	// execute_request (or comm message) handled.
	parent atomic.Pointer[wire.Message]

	runMu      sync.Mutex
	cancelExec context.CancelCauseFunc // non-nil while a cell runs
	current    context.Context         // the running cell's context
	inputs     chan *wire.Message      // input_reply messages from stdin

	shutdown chan shutdownReq
}

type shutdownReq struct{ restart bool }

// shutdownLinger is how long a shutting-down kernel waits for queued iopub
// messages to be sent before it closes its sockets.
const shutdownLinger = 100 * time.Millisecond

// New binds the kernel's sockets. Call Run to serve.
func New(ctx context.Context, cfg Config) (*Kernel, error) {
	if cfg.NewEvaluator == nil {
		return nil, errors.New("kernel: Config.NewEvaluator is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if cfg.LanguageVersion == "" {
		cfg.LanguageVersion = strings.TrimPrefix(runtime.Version(), "go")
	}
	signer, err := wire.NewSigner(cfg.Conn.SignatureScheme, []byte(cfg.Conn.Key))
	if err != nil {
		return nil, err
	}
	k := &Kernel{
		cfg:      cfg,
		log:      cfg.Logger,
		signer:   signer,
		sess:     wire.NewID(),
		ready:    make(chan struct{}),
		inputs:   make(chan *wire.Message, 1),
		shutdown: make(chan shutdownReq, 1),
	}
	k.history, err = openHistory(cfg.HistoryPath)
	if err != nil {
		k.log.Warn("history is kept in memory only", "err", err)
	}
	k.comms = newComms(k)
	k.stdout = newStreamWriter(k, "stdout")
	k.stderr = newStreamWriter(k, "stderr")

	c := cfg.Conn
	k.shell = zmq4.NewRouter(ctx)
	k.control = zmq4.NewRouter(ctx)
	k.stdin = zmq4.NewRouter(ctx)
	k.hb = zmq4.NewRep(ctx)
	for _, s := range []struct {
		sock zmq4.Socket
		port int
		name string
	}{{k.shell, c.ShellPort, "shell"}, {k.control, c.ControlPort, "control"}, {k.stdin, c.StdinPort, "stdin"}, {k.hb, c.HBPort, "heartbeat"}} {
		if err := s.sock.Listen(c.Endpoint(s.port)); err != nil {
			k.closeSockets()
			return nil, fmt.Errorf("kernel: listen %s on %s: %w", s.name, c.Endpoint(s.port), err)
		}
	}
	k.iopub, err = listenPub(c, c.IOPubPort, func(msg string, args ...any) { k.log.Warn(msg, args...) })
	if err != nil {
		k.closeSockets()
		return nil, fmt.Errorf("kernel: listen iopub on %s: %w", c.Endpoint(c.IOPubPort), err)
	}
	k.iopubQ = newIOPubQueue(k.iopub, cfg.OnCommFlood)
	return k, nil
}

func (k *Kernel) closeSockets() {
	if k.iopubQ != nil {
		k.iopubQ.drain(shutdownLinger)
	}
	for _, s := range []zmq4.Socket{k.shell, k.control, k.stdin, k.hb} {
		if s != nil {
			_ = s.Close()
		}
	}
	if k.iopub != nil {
		_ = k.iopub.Close()
	}
}

// Streams returns the session's standard streams.
func (k *Kernel) Streams() Streams {
	return Streams{Stdout: k.stdout, Stderr: k.stderr, Stdin: &stdinReader{k: k}}
}

// Run serves until ctx is done or a shutdown_request arrives. It reports
// whether a restart was requested.
func (k *Kernel) Run(ctx context.Context) (restart bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer k.closeSockets()

	go func() {
		ev, err := k.cfg.NewEvaluator(k.Streams())
		k.ev, k.evErr = ev, err
		close(k.ready)
	}()

	if k.cfg.HandleSIGINT {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		defer signal.Stop(sig)
		go func() {
			for {
				select {
				case <-sig:
					k.log.Info("SIGINT: interrupting the running cell")
					k.Interrupt()
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	k.publish(nil, "status", map[string]any{"execution_state": "starting"})

	go k.heartbeat(ctx)
	go k.serveStdin(ctx)
	go k.serveControl(ctx)
	shellQ := make(chan *wire.Message, 4096)
	go k.readLoop(ctx, k.shell, "shell", shellQ)
	go k.shellWorker(ctx, shellQ)

	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case r := <-k.shutdown:
		k.stdout.Flush()
		k.stderr.Flush()
		k.history.close()
		// Send what is queued; zmq4's PUB socket sends from a queue too,
		// and closing it drops what it holds: linger, as ZeroMQ sockets do,
		// so the last status and shutdown_reply reach the clients.
		k.iopubQ.drain(time.Second)
		time.Sleep(shutdownLinger)
		return r.restart, nil
	}
}

func (k *Kernel) heartbeat(ctx context.Context) {
	for ctx.Err() == nil {
		msg, err := k.hb.Recv()
		if err != nil {
			if ctx.Err() == nil {
				k.log.Debug("heartbeat recv", "err", err)
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		if err := k.hb.Send(msg); err != nil && ctx.Err() == nil {
			k.log.Debug("heartbeat send", "err", err)
		}
	}
}

// readLoop decodes messages from a ROUTER socket onto q, dropping (and
// logging) any with a bad signature or malformed frames.
func (k *Kernel) readLoop(ctx context.Context, sock zmq4.Socket, name string, q chan<- *wire.Message) {
	for ctx.Err() == nil {
		raw, err := sock.Recv()
		if err != nil {
			if ctx.Err() == nil {
				k.log.Debug("recv", "channel", name, "err", err)
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		m, err := k.signer.Decode(raw.Frames)
		if err != nil {
			k.log.Warn("dropped a message", "channel", name, "err", err)
			continue
		}
		select {
		case q <- m:
		case <-ctx.Done():
			return
		}
	}
}

func (k *Kernel) serveControl(ctx context.Context) {
	q := make(chan *wire.Message, 64)
	go k.readLoop(ctx, k.control, "control", q)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-q:
			k.handleControl(m)
		}
	}
}

func (k *Kernel) serveStdin(ctx context.Context) {
	q := make(chan *wire.Message, 16)
	go k.readLoop(ctx, k.stdin, "stdin", q)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-q:
			if m.Header.MsgType != "input_reply" {
				k.log.Warn("unexpected message on stdin", "msg_type", m.Header.MsgType)
				continue
			}
			select {
			case k.inputs <- m:
			default:
				k.log.Warn("input_reply arrived while no input was requested")
			}
		}
	}
}

func (k *Kernel) handleControl(m *wire.Message) {
	reply := func(content any) { k.reply(k.control, &k.controlMu, m, content) }
	k.publish(m, "status", map[string]any{"execution_state": "busy"})
	defer k.publish(m, "status", map[string]any{"execution_state": "idle"})
	switch m.Header.MsgType {
	case "kernel_info_request":
		reply(k.kernelInfo())
	case "interrupt_request":
		k.Interrupt()
		reply(map[string]any{"status": "ok"})
	case "shutdown_request":
		k.doShutdown(m, k.control, &k.controlMu)
	default:
		k.log.Warn("unsupported control message", "msg_type", m.Header.MsgType)
		reply(map[string]any{"status": "error", "ename": "NotImplemented", "evalue": m.Header.MsgType + " is not supported by the Ferry kernel", "traceback": []string{}})
	}
}

func (k *Kernel) doShutdown(m *wire.Message, sock zmq4.Socket, mu *sync.Mutex) {
	var c struct {
		Restart bool `json:"restart"`
	}
	_ = json.Unmarshal(m.Content, &c)
	content := map[string]any{"status": "ok", "restart": c.Restart}
	k.reply(sock, mu, m, content)
	k.publish(m, "shutdown_reply", content)
	k.Interrupt()
	select {
	case k.shutdown <- shutdownReq{restart: c.Restart}:
	default:
	}
}

// Interrupt stops the running cell, if any.
func (k *Kernel) Interrupt() {
	k.runMu.Lock()
	cancel := k.cancelExec
	k.runMu.Unlock()
	if cancel != nil {
		cancel(ErrInterrupted)
	}
}

// ErrInterrupted is the cause of a cell's context when the user interrupts it.
var ErrInterrupted = errors.New("interrupted by the user")

func (k *Kernel) kernelInfo() map[string]any {
	return map[string]any{
		"status":                 "ok",
		"protocol_version":       wire.ProtocolVersion,
		"implementation":         "ferry",
		"implementation_version": k.cfg.Version,
		"language_info": map[string]any{
			"name":            "go",
			"version":         k.cfg.LanguageVersion,
			"mimetype":        "text/x-go",
			"file_extension":  ".go",
			"pygments_lexer":  "go",
			"codemirror_mode": "go",
		},
		"banner":     "Ferry Go kernel " + k.cfg.Version + " (Go " + k.cfg.LanguageVersion + ", yaegi)",
		"debugger":   false,
		"help_links": []map[string]string{{"text": "Go documentation", "url": "https://go.dev/doc/"}, {"text": "Go packages", "url": "https://pkg.go.dev/std"}},
	}
}

// evaluator waits for the evaluator to be built.
func (k *Kernel) evaluator() (Evaluator, error) {
	<-k.ready
	return k.ev, k.evErr
}

func (k *Kernel) header(msgType string) wire.Header {
	return wire.Header{MsgID: wire.NewID(), Session: k.sess, Username: "kernel", Date: wire.Now(), MsgType: msgType, Version: wire.ProtocolVersion}
}

func parentOf(m *wire.Message) json.RawMessage {
	if m == nil {
		return json.RawMessage("{}")
	}
	return m.RawHeader()
}

func mustJSON(v any) json.RawMessage {
	if raw, ok := v.(json.RawMessage); ok {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"status": "error", "ename": "EncodingError", "evalue": err.Error(), "traceback": []string{}})
	}
	return b
}

func (k *Kernel) send(sock zmq4.Socket, mu *sync.Mutex, m *wire.Message) {
	frames, err := k.signer.Encode(m)
	if err != nil {
		k.log.Error("encode", "msg_type", m.Header.MsgType, "err", err)
		return
	}
	mu.Lock()
	err = sock.SendMulti(zmq4.NewMsgFrom(frames...))
	mu.Unlock()
	if err != nil {
		k.log.Warn("send", "msg_type", m.Header.MsgType, "err", err)
	}
}

// reply answers request m on sock with a <type>_reply message.
func (k *Kernel) reply(sock zmq4.Socket, mu *sync.Mutex, m *wire.Message, content any) {
	t := strings.TrimSuffix(m.Header.MsgType, "_request") + "_reply"
	k.send(sock, mu, &wire.Message{Identities: m.Identities, Header: k.header(t), Parent: parentOf(m), Metadata: json.RawMessage("{}"), Content: mustJSON(content)})
}

// publish sends a message on iopub parented to m (nil for none).
func (k *Kernel) publish(m *wire.Message, msgType string, content any, buffers ...[][]byte) {
	msg := &wire.Message{
		Identities: [][]byte{[]byte("kernel." + k.sess + "." + msgType)},
		Header:     k.header(msgType),
		Parent:     parentOf(m),
		Metadata:   json.RawMessage("{}"),
		Content:    mustJSON(content),
	}
	if len(buffers) > 0 {
		msg.Buffers = buffers[0]
	}
	k.sendIOPub(msg)
}

// sendIOPub queues m on iopub; comm messages wait while the queue is full.
func (k *Kernel) sendIOPub(m *wire.Message) {
	frames, err := k.signer.Encode(m)
	if err != nil {
		k.log.Error("encode", "msg_type", m.Header.MsgType, "err", err)
		return
	}
	k.iopubQ.push(frames, m.Header.MsgType == "comm_msg")
}

// publishOutput publishes an output for the current parent after flushing
// pending stream text, so that outputs keep the order they were made in.
func (k *Kernel) publishOutput(msgType string, content any, buffers ...[][]byte) {
	k.stdout.Flush()
	k.stderr.Flush()
	k.publish(k.parent.Load(), msgType, content, buffers...)
}
