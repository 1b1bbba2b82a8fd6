package local

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// wrapper is the script each replica runs under: /bin/sh runs the command,
// then writes its exit code to a file (atomically, by rename) and exits with
// it. The file is how a backend that did not start the process — one opened
// after notebookd restarted — learns the code: it cannot wait(2) on a
// process that is not its child, so it polls /proc/<pid> for liveness and
// then reads the file. The shell is the leader of the replica's process
// group, so a signal to the group reaches the command and its children.
const wrapper = `f=$1; shift; "$@"; c=$?; echo $c >"$f.tmp" && mv -f "$f.tmp" "$f"; exit $c`

// jobMarker is the variable every process of a job inherits; a scan of
// /proc for it finds processes that left the replica's process group.
const jobMarker = "FERRY_JOB_UID"

// procStat reads the state and start time (in clock ticks since boot) of
// pid from /proc/<pid>/stat.
func procStat(pid int) (state byte, start uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field 22 (starttime) is f[19].
	if len(f) < 20 {
		return 0, 0, false
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], start, true
}

// alive reports whether the process pid that started at clock tick start
// still runs: it exists, is no zombie, and is the same process (a reused
// pid has another start time).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	state, s, ok := procStat(pid)
	return ok && s == start && state != 'Z' && state != 'X'
}

// readExitCode reads the exit code the wrapper wrote.
func readExitCode(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	c, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return c, err == nil
}

// exitCode returns the exit code of a finished command, 128+N for one
// killed by signal N, as a container runtime reports it.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// signalGroup sends sig to the process group led by pid, if that leader is
// still the process that started at start (or already gone, leaving its
// group behind).
func signalGroup(pid int, start uint64, sig syscall.Signal) {
	if pid <= 0 {
		return
	}
	if _, s, ok := procStat(pid); ok && s != start {
		return // the pid now belongs to another process
	}
	_ = syscall.Kill(-pid, sig)
}

// groupsAlive reports whether any of the process groups holds a process
// that is not a zombie. (kill(-pgid, 0) counts zombies, and orphaned
// zombies may wait long for an init that reaps them slowly.)
func groupsAlive(pgids []int) bool {
	want := map[int]bool{}
	for _, g := range pgids {
		if g > 0 {
			want[g] = true
		}
	}
	if len(want) == 0 {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		// f[0] is the state (field 3), f[2] the process group (field 5).
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && want[g] {
			return true
		}
	}
	return false
}

// markedProcesses returns the pids of processes whose environment holds
// FERRY_JOB_UID=uid.
func markedProcesses(uid string) []int {
	want := []byte(jobMarker + "=" + uid)
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(b, []byte{0}) {
			if bytes.Equal(kv, want) {
				if state, _, ok := procStat(pid); ok && state != 'Z' {
					out = append(out, pid)
				}
				break
			}
		}
	}
	return out
}

// MarkedProcesses returns the pids of live processes of the job with uid:
// those whose environment holds FERRY_JOB_UID=uid, which every replica and
// its children inherit. After a job ends with cleanPodPolicy Running or All,
// or after Cancel or Delete, it is empty.
func MarkedProcesses(uid string) []int { return markedProcesses(uid) }

// lookPath finds prog on PATH, for clear errors before a start.
func lookPath(prog string) error {
	if strings.Contains(prog, "/") {
		return nil
	}
	_, err := exec.LookPath(prog)
	if errors.Is(err, exec.ErrDot) {
		return nil
	}
	return err
}
