package terminals

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/ferryml/ferry/notebookd"
)

// Tunables (variables so tests could shorten them).
var (
	// killGrace is how long Delete waits for the shell to exit after SIGHUP
	// before SIGKILL.
	killGrace = 3 * time.Second
	// drainWait is how long output is still read after the shell exited
	// while something else in its session keeps the pty open.
	drainWait = time.Second
)

// term is one terminal: a shell on a pty.
type term struct {
	m    *Manager
	name string
	cmd  *exec.Cmd
	pid  int
	ptmx *os.File // non-blocking, so that Close ends a Read or Write

	mu           sync.Mutex
	clients      map[*client]struct{}
	history      []byte // the last m.history bytes of output, whole UTF-8 characters
	lastActivity time.Time
	size         unix.Winsize
	ended        bool // the shell exited and the websockets were told

	exited   chan struct{} // closed when the shell has been reaped
	readDone chan struct{} // closed when readLoop returned
	done     chan struct{} // closed when the terminal has ended
}

// start starts the shell of a new terminal in cwd.
func start(m *Manager, name, cwd string) (*term, error) {
	cmd := exec.Command(m.shell[0], m.shell[1:]...)
	cmd.Dir = cwd
	cmd.Env = m.shellEnv()
	size := unix.Winsize{Row: 24, Col: 80}
	// StartWithSize makes the shell a session leader (hence the leader of
	// its process group) with the pty as its controlling terminal.
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: size.Row, Cols: size.Col})
	if err != nil {
		return nil, fmt.Errorf("terminals: start %s: %w", m.shell[0], err)
	}
	ptmx, err := nonblocking(f)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("terminals: pty: %w", err)
	}
	t := &term{
		m: m, name: name, cmd: cmd, pid: cmd.Process.Pid, ptmx: ptmx,
		clients:      map[*client]struct{}{},
		lastActivity: time.Now().UTC(),
		size:         size,
		exited:       make(chan struct{}),
		readDone:     make(chan struct{}),
		done:         make(chan struct{}),
	}
	go t.readLoop()
	go t.wait()
	return t, nil
}

// nonblocking returns a non-blocking copy of f's descriptor, registered with
// Go's poller, and closes f. (creack/pty leaves the ptmx in blocking mode,
// where Close cannot end a pending Read.)
func nonblocking(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), nil
}

func (t *term) model() *notebookd.TerminalModel {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &notebookd.TerminalModel{Name: t.name, LastActivity: t.lastActivity}
}

func (t *term) touch() {
	t.mu.Lock()
	t.lastActivity = time.Now().UTC()
	t.mu.Unlock()
}

// readLoop sends the pty's output to the websockets until the pty fails
// (EIO once no process holds the tty, or ErrClosed).
func (t *term) readLoop() {
	defer close(t.readDone)
	var dec utf8Decoder
	buf := make([]byte, 32<<10)
	for {
		n, err := t.ptmx.Read(buf)
		if s := dec.decode(buf[:n]); s != "" {
			t.output(s)
		}
		if err != nil {
			if s := dec.flush(); s != "" {
				t.output(s)
			}
			return
		}
	}
}

// output records s in the history and sends it to every websocket.
func (t *term) output(s string) {
	frame := encodeFrame("stdout", s)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastActivity = time.Now().UTC()
	t.history = appendHistory(t.history, s, t.m.history)
	for c := range t.clients {
		c.send(frame)
	}
}

// appendHistory appends s to h and drops the oldest bytes past limit, at a
// character boundary.
func appendHistory(h []byte, s string, limit int) []byte {
	h = append(h, s...)
	if len(h) <= limit {
		return h
	}
	cut := len(h) - limit
	for cut < len(h) && !utf8.RuneStart(h[cut]) {
		cut++
	}
	return append(h[:0], h[cut:]...)
}

// wait reaps the shell, then ends the terminal: it lets the reader drain
// what the shell wrote, tells the websockets and forgets the terminal.
func (t *term) wait() {
	err := t.cmd.Wait()
	close(t.exited)
	t.m.log.Info("terminal shell exited", "name", t.name, "pid", t.pid, "status", err)
	// Hang up what the shell left in its session; if something still holds
	// the pty, stop reading after a moment.
	signalSession(t.pid, syscall.SIGHUP)
	timer := time.NewTimer(drainWait)
	select {
	case <-t.readDone:
	case <-timer.C:
	}
	timer.Stop()
	_ = t.ptmx.Close()
	<-t.readDone
	t.m.remove(t)
	t.mu.Lock()
	t.ended = true
	clients := t.clients
	t.clients = nil
	t.mu.Unlock()
	frame := encodeFrame("disconnect", 1)
	for c := range clients {
		c.send(frame)
		c.close()
	}
	close(t.done)
}

// kill ends the terminal: SIGHUP (and SIGCONT) to its session and a hangup
// of the pty, then SIGKILL to what is left of the session once the shell
// has exited, or after killGrace; it waits until the terminal has ended.
func (t *term) kill(ctx context.Context) error {
	signalSession(t.pid, syscall.SIGHUP)
	signalSession(t.pid, syscall.SIGCONT)
	// Hang the pty up too: a shell can miss SIGHUP (bash does when it
	// comes just before readline waits for input), not the end of its
	// input. Nothing is left to read once the terminal is killed.
	_ = t.ptmx.Close()
	timer := time.NewTimer(killGrace)
	select {
	case <-t.exited:
	case <-timer.C:
	case <-ctx.Done():
	}
	timer.Stop()
	// The shell included, unless it has exited; jobs it left (nohup) too.
	signalSession(t.pid, syscall.SIGKILL)
	select {
	case <-t.exited:
	case <-ctx.Done():
		return fmt.Errorf("terminal %s (pid %d): %w", t.name, t.pid, ctx.Err())
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("terminal %s (pid %d): %w", t.name, t.pid, ctx.Err())
	}
}

// resizeLocked sizes the pty to the smallest of the websockets' sizes, as
// terminado does. t.mu is held.
func (t *term) resizeLocked() {
	var ws unix.Winsize
	for c := range t.clients {
		if c.size.Row == 0 || c.size.Col == 0 {
			continue
		}
		if ws.Row == 0 || c.size.Row < ws.Row {
			ws.Row, ws.Ypixel = c.size.Row, c.size.Ypixel
		}
		if ws.Col == 0 || c.size.Col < ws.Col {
			ws.Col, ws.Xpixel = c.size.Col, c.size.Xpixel
		}
	}
	if ws.Row == 0 || ws == t.size || t.ended {
		return
	}
	rc, err := t.ptmx.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) { err = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &ws) })
		if cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		t.m.log.Warn("terminal resize failed", "name", t.name, "rows", ws.Row, "cols", ws.Col, "err", err)
		return
	}
	t.size = ws
}

// encodeFrame encodes a terminado message [typ, args...].
func encodeFrame(typ string, args ...any) []byte {
	b, err := json.Marshal(append([]any{typ}, args...))
	if err != nil {
		panic(err) // strings, numbers and maps only
	}
	return b
}

// utf8Decoder turns pty reads into text without splitting a character
// between two reads; bytes that are not UTF-8 become U+FFFD.
type utf8Decoder struct {
	pending []byte // the start of a character whose rest is still to come
}

func (d *utf8Decoder) decode(b []byte) string {
	if len(d.pending) > 0 {
		b = append(d.pending, b...)
		d.pending = nil
	}
	if k := incompleteTail(b); k > 0 {
		d.pending = append([]byte(nil), b[len(b)-k:]...)
		b = b[:len(b)-k]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// flush returns what is pending at the end of the output.
func (d *utf8Decoder) flush() string {
	if len(d.pending) == 0 {
		return ""
	}
	d.pending = nil
	return "\uFFFD"
}

// incompleteTail returns the length of the incomplete UTF-8 sequence that
// ends b: 0 when b ends with a whole character (or with invalid bytes).
func incompleteTail(b []byte) int {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if utf8.FullRune(b[len(b)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0
}
