package terminals_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryml/ferry/notebookd/terminals"
)

// orphanHelperEnv makes TestOrphanHelper a server that opens one terminal
// and waits to be killed; its value is the file where the shell writes
// its pid and that of a command it runs.
const orphanHelperEnv = "FERRY_TERMINALS_TEST_ORPHAN"

// TestOrphanHelper is no test: TestTerminalDiesWithServer runs the test
// binary as a server with it.
func TestOrphanHelper(t *testing.T) {
	pidFile := os.Getenv(orphanHelperEnv)
	if pidFile == "" {
		t.Skip("a helper process of TestTerminalDiesWithServer")
	}
	// The shell writes its pid and that of a background command, then
	// becomes an interactive bash (or sh) with the same pid.
	shell := testShell()
	script := `sleep 1000 & echo "$$ $!" > "$0.tmp" && mv "$0.tmp" "$0"; exec "$@"`
	tm, err := terminals.New(terminals.Options{Shell: append([]string{"/bin/sh", "-c", script, pidFile}, shell...),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := tm.Create(context.Background(), "", t.TempDir()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	select {}
}

// TestTerminalDiesWithServer: a terminal's shell, and what it runs, exit
// when the server is SIGKILLed (the pty hangs up).
func TestTerminalDiesWithServer(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pids")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(exe, "-test.run=^TestOrphanHelper$")
	srv.Env = append(os.Environ(), orphanHelperEnv+"="+pidFile)
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
	})
	var pids []int
	for deadline := time.Now().Add(time.Minute); ; {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			for _, f := range strings.Fields(string(b)) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("pid file %q: %v", b, err)
				}
				pids = append(pids, pid)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(pids) != 2 {
		t.Fatalf("pids %v, want the shell's and its command's", pids)
	}
	t.Cleanup(func() {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	for i, what := range []string{"the shell", "its background command"} {
		deadline := time.Now().Add(time.Minute)
		for !processGone(pids[i]) {
			if time.Now().After(deadline) {
				t.Fatalf("%s (pid %d) outlived the server", what, pids[i])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// processGone reports whether pid has exited (a zombie counts: its reaper,
// init in a container, may never wait for it).
func processGone(pid int) bool {
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
