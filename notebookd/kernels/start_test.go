package kernels

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/ferryml/ferry/kernel"
	"github.com/ferryml/ferry/wire"
)

// The test binary doubles as a fake kernel and as a server that starts
// one: TestMain runs helperMain when helperEnv names a mode.
const (
	helperEnv    = "FERRY_KERNELS_TEST_HELPER"
	helperMarker = "FERRY_KERNELS_TEST_MARKER"  // squat: the file marking the first launch
	helperSpecs  = "FERRY_KERNELS_TEST_SPECS"   // manager: the kernelspec directory
	helperSpec   = "FERRY_KERNELS_TEST_SPEC"    // manager: the kernelspec name
	helperRun    = "FERRY_KERNELS_TEST_RUNTIME" // manager: the runtime directory
)

// helperMain runs the test binary as mode:
//
//   - kernel: a kernel (the kernel package with an evaluator that does
//     nothing) on the connection file given as the last argument;
//   - squat: on the first launch (no marker file yet), a process that holds
//     a ROUTER socket on the kernel's iopub port and never answers, as
//     another kernel that took the port would; later, a kernel;
//   - manager: a Manager that starts one kernel, prints "pid N" and waits
//     to be killed.
func helperMain(mode string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var err error
	switch mode {
	case "kernel":
		err = fakeKernel(ctx, os.Args[len(os.Args)-1])
	case "squat":
		marker := os.Getenv(helperMarker)
		if _, serr := os.Stat(marker); serr == nil {
			err = fakeKernel(ctx, os.Args[len(os.Args)-1])
			break
		}
		if err = os.WriteFile(marker, nil, 0o600); err != nil {
			break
		}
		var ci wire.ConnectionInfo
		if ci, err = wire.ReadConnectionFile(os.Args[len(os.Args)-1]); err != nil {
			break
		}
		r := zmq4.NewRouter(ctx)
		defer r.Close()
		if err = r.Listen(ci.Endpoint(ci.IOPubPort)); err != nil {
			break
		}
		<-ctx.Done()
	case "manager":
		err = helperServer(ctx)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernels test helper:", mode+":", err)
		return 1
	}
	return 0
}

// helperServer starts a kernel, prints its pid and waits to be killed.
func helperServer(ctx context.Context) error {
	m, err := New(Options{SpecDirs: []string{os.Getenv(helperSpecs)}, RuntimeDir: os.Getenv(helperRun),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	km, err := m.Start(ctx, os.Getenv(helperSpec), "")
	if err != nil {
		return err
	}
	k, _ := m.lookup(km.ID)
	fmt.Printf("pid %d\n", k.pid())
	select {}
}

// fakeEvaluator runs no code.
type fakeEvaluator struct{}

func (fakeEvaluator) Eval(context.Context, string) (*kernel.Bundle, error) { return nil, nil }
func (fakeEvaluator) Complete(string, int) kernel.Completion               { return kernel.Completion{} }
func (fakeEvaluator) Inspect(string, int, int) (kernel.Bundle, bool)       { return kernel.Bundle{}, false }
func (fakeEvaluator) IsComplete(string) (string, string)                   { return "complete", "" }

func fakeKernel(ctx context.Context, connFile string) error {
	ci, err := wire.ReadConnectionFile(connFile)
	if err != nil {
		return err
	}
	k, err := kernel.New(ctx, kernel.Config{Conn: ci, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		NewEvaluator: func(kernel.Streams) (kernel.Evaluator, error) { return fakeEvaluator{}, nil }})
	if err != nil {
		return err
	}
	_, err = k.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// writeHelperSpec writes kernelspec name into dir: the test binary in mode,
// with env.
func writeHelperSpec(t *testing.T, dir, name, mode string, env map[string]string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := map[string]string{helperEnv: mode}
	for k, v := range env {
		e[k] = v
	}
	b, _ := json.Marshal(map[string]any{"argv": []string{exe, "{connection_file}"}, "display_name": name, "language": "go", "env": e})
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, "kernel.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParallelStarts: kernels started all at once each get ports of their
// own and all start.
func TestParallelStarts(t *testing.T) {
	const n = 50
	dir := t.TempDir()
	writeHelperSpec(t, dir, "fake", "kernel", nil)
	m := newManager(t, []string{dir}, Options{})
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			km, err := m.Start(t.Context(), "fake", "")
			errs[i] = err
			if err == nil {
				ids[i] = km.ID
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("parallel starts failed:\n%v", err)
	}
	seen := map[int]string{}
	for _, id := range ids {
		k, err := m.lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range k.ports() {
			if other, dup := seen[p]; dup {
				t.Errorf("port %d given to kernels %s and %s", p, other, id)
			}
			seen[p] = id
		}
	}
	if got := len(m.List()); got != n {
		t.Errorf("%d kernels listed, want %d", got, n)
	}
}

// TestStartRetriesPortTaken: when another process answers on a kernel's
// port (here a ROUTER where the manager's SUB expects the kernel's PUB:
// zmq4 refuses the handshake), the kernel is launched again on fresh ports.
func TestStartRetriesPortTaken(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "first")
	writeHelperSpec(t, dir, "squat", "squat", map[string]string{helperMarker: marker})
	m := newManager(t, []string{dir}, Options{})
	km, err := m.Start(t.Context(), "squat", "")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the squatting launch did not run: %v", err)
	}
	k, _ := m.lookup(km.ID)
	if len(m.ports) != 5 {
		t.Errorf("the manager holds %d ports, want the 5 of its one kernel (the first launch's given back)", len(m.ports))
	}
	for _, p := range k.ports() {
		if !m.ports[p] {
			t.Errorf("port %d of the kernel is not reserved", p)
		}
	}
}

// TestUnknownKernelName: starting a kernelspec that is not installed names
// the installed ones and how to install one, not the directories searched.
func TestUnknownKernelName(t *testing.T) {
	dir := t.TempDir()
	writeHelperSpec(t, dir, "fake", "kernel", nil)
	m := newManager(t, []string{dir}, Options{})
	_, err := m.Start(t.Context(), "nope", "")
	if err == nil {
		t.Fatal("Start of an unknown kernel succeeded")
	}
	msg := err.Error()
	for _, want := range []string{`"nope"`, `"fake"`, "ferry kernelspec install"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}
	if strings.Contains(msg, dir) || strings.Contains(msg, "/") && strings.Contains(msg, "kernels") {
		t.Errorf("error %q shows a kernelspec directory", msg)
	}
}

// gone reports whether process pid has exited (a zombie counts: its
// reaper, init in a container, may never wait for it).
func gone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}

// waitGone fails the test unless pid exits within a minute (the mechanisms
// under test act within a second or two).
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !gone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("%s (pid %d) outlived its parent", what, pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startHelperServer runs the test binary as a server that starts kernelspec
// name from dir, and returns it and its kernel's pid.
func startHelperServer(t *testing.T, dir, name string) (*exec.Cmd, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"=manager", helperSpecs+"="+dir, helperSpec+"="+name, helperRun+"="+t.TempDir())
	cmd.Stderr = testWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "pid "))
	if err != nil || perr != nil {
		t.Fatalf("the server did not report its kernel: %q %v", line, err)
	}
	return cmd, pid
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestKernelDiesWithServer: a kernel exits when the server that started it
// is SIGKILLed: a kernel that does nothing about it (the parent-death
// signal), and Ferry's.
func TestKernelDiesWithServer(t *testing.T) {
	dir := t.TempDir()
	writeHelperSpec(t, dir, "fake", "kernel", nil)
	tests := []struct{ name, dir, spec string }{
		{"fake", dir, "fake"},
		{"ferry", ferrySpecDir, "ferry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.dir == "" {
				needFerry(t)
			}
			srv, pid := startHelperServer(t, tt.dir, tt.spec)
			if gone(pid) {
				t.Fatalf("kernel %d is not running", pid)
			}
			if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			srv.Wait()
			waitGone(t, pid, "the kernel")
		})
	}
}

// TestFerryKernelWatchesParent: Ferry's kernel, started by a process that
// sets JPY_PARENT_PID but no parent-death signal (a Jupyter server; here a
// shell), exits when that process is SIGKILLed.
func TestFerryKernelWatchesParent(t *testing.T) {
	needFerry(t)
	raw, err := os.ReadFile(filepath.Join(ferrySpecDir, "ferry", "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct{ Argv []string }
	if err := json.Unmarshal(raw, &spec); err != nil || len(spec.Argv) == 0 {
		t.Fatalf("ferry kernelspec: %v %s", err, raw)
	}
	bin := filepath.Join(filepath.Dir(spec.Argv[0]), "ferry-kernel")
	connFile := filepath.Join(t.TempDir(), "kernel.json")
	ci := wire.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", Key: "k", SignatureScheme: "hmac-sha256"}
	var ls []net.Listener
	for _, p := range []*int{&ci.ShellPort, &ci.ControlPort, &ci.StdinPort, &ci.IOPubPort, &ci.HBPort} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		*p = l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range ls {
		l.Close()
	}
	b, _ := json.Marshal(ci)
	if err := os.WriteFile(connFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("/bin/sh", "-c", `JPY_PARENT_PID=$$ "$0" -f "$1" & echo $!; wait`, bin, connFile)
	sh.Env = append(os.Environ(), "FERRY_HISTORY="+filepath.Join(t.TempDir(), "history"))
	sh.Stderr = testWriter{t}
	sh.WaitDelay = time.Second // the kernel holds the stderr pipe
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		sh.Process.Kill()
		t.Fatalf("the shell did not report the kernel: %q %v", line, err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	// Let the kernel come up before its parent goes: it answers on its
	// heartbeat port once it runs.
	waitListening(t, net.JoinHostPort(ci.IP, strconv.Itoa(ci.HBPort)))
	if err := sh.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sh.Wait()
	waitGone(t, pid, "ferry-kernel")
}

// waitListening waits until something accepts TCP connections at addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens at %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
