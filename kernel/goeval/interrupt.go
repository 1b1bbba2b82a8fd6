package goeval

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryml/ferry/kernel"
)

// InterruptError is returned by Eval when its context is cancelled. It
// wraps the context's error (context.Canceled) and a *kernel.ExecError
// named "Interrupted" to show the user.
type InterruptError struct {
	Cause error
	Exec  *kernel.ExecError
	// Abandoned is set when a blocking call into compiled code could not be
	// stopped and keeps running in the background.
	Abandoned bool
}

func (ie *InterruptError) Error() string   { return ie.Exec.Error() }
func (ie *InterruptError) Unwrap() []error { return []error{ie.Cause, ie.Exec} }

func (e *Evaluator) interrupted(cause error, abandoned bool) error {
	ee := &kernel.ExecError{Name: "Interrupted", Value: "execution interrupted"}
	if abandoned {
		ee.Value = "execution interrupted; a blocking call into compiled code could not be stopped: it was abandoned and keeps running in the background (the rest of the cell may still run when it returns)"
	}
	return &InterruptError{Cause: cause, Exec: ee, Abandoned: abandoned}
}

// execFrames are the frames of the goroutine yaegi runs a cell in.
var execFrames = [][]byte{
	[]byte("interp.(*Interpreter).EvalWithContext.func1"),
	[]byte("interp.(*Interpreter).ExecuteWithContext.func1"),
}

// abandoned holds the ids of goroutines running cells that were abandoned
// (of any Evaluator of the process).
var (
	abandonMu sync.Mutex
	abandoned = map[uint64]bool{}
)

// waitStopped waits up to a second for an interrupted cell to stop. It
// reports whether the cell had to be abandoned (it is blocked in compiled
// code).
func (e *Evaluator) waitStopped() bool {
	deadline := time.Now().Add(time.Second)
	for {
		running := e.execGoroutines()
		if len(running) == 0 {
			// Take the interpreter's lock once, so that what the stopped
			// goroutine wrote happens before what we do next.
			e.interp.Globals()
			return false
		}
		if time.Now().After(deadline) {
			abandonMu.Lock()
			for _, id := range running {
				abandoned[id] = true
			}
			abandonMu.Unlock()
			e.interp.Globals() // see above: orders its compilation before ours
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// execGoroutines returns the ids of goroutines running a cell, except those
// abandoned before.
func (e *Evaluator) execGoroutines() []uint64 {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var ids []uint64
	abandonMu.Lock()
	defer abandonMu.Unlock()
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if i := bytes.Index(g, []byte("\ncreated by ")); i >= 0 {
			g = g[:i]
		}
		if !bytes.Contains(g, execFrames[0]) && !bytes.Contains(g, execFrames[1]) {
			continue
		}
		f := strings.Fields(string(g))
		if len(f) < 2 {
			continue
		}
		id, err := strconv.ParseUint(f[1], 10, 64)
		if err == nil && !abandoned[id] {
			ids = append(ids, id)
		}
	}
	return ids
}
