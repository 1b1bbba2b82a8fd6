package goeval

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Compiled cells write to the process's file descriptors 1 and 2, not to
// the cell's streams: the kernel captures them (CaptureStdio). Everything a
// cell writes to standard output, interpreted or compiled, then goes
// through one pipe, in order; sync waits until what was written before it
// has reached the cell's stream. Standard error is also copied to the
// kernel's own standard error, so that a crash report is not lost.

// stdio is a captured file descriptor.
type stdio struct {
	file   *os.File // the process's file for the descriptor (os.Stdout, os.Stderr)
	mu     sync.Mutex
	synced chan struct{}
}

// syncMark ends the text a sync waits for; the reader drops it.
var syncMark = []byte("\x00\x1bferry-sync\x00")

// captureFD makes fd a pipe whose text is copied to dst (and to tee).
func captureFD(fd int, file *os.File, dst, tee io.Writer) (*stdio, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	if err := unix.Dup3(int(w.Fd()), fd, 0); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close()
	s := &stdio{file: file, synced: make(chan struct{}, 1)}
	go s.copy(r, dst, tee)
	return s, nil
}

func (s *stdio) copy(r *os.File, dst, tee io.Writer) {
	buf := make([]byte, 32<<10)
	var pending []byte
	for {
		n, err := r.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.Index(pending, syncMark)
			if i < 0 {
				break
			}
			s.emit(pending[:i], dst, tee)
			pending = pending[i+len(syncMark):]
			select {
			case s.synced <- struct{}{}:
			default:
			}
		}
		// Keep what may be the start of a mark.
		keep := 0
		for k := min(len(pending), len(syncMark)-1); k > 0; k-- {
			if bytes.HasSuffix(pending, syncMark[:k]) {
				keep = k
				break
			}
		}
		s.emit(pending[:len(pending)-keep], dst, tee)
		pending = append(pending[:0], pending[len(pending)-keep:]...)
		if err != nil {
			return
		}
	}
}

func (s *stdio) emit(p []byte, dst, tee io.Writer) {
	if len(p) == 0 {
		return
	}
	dst.Write(p)
	if tee != nil {
		tee.Write(p)
	}
}

// sync waits (a little, at most) until what was written to the descriptor
// before the call has been copied.
func (s *stdio) sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select { // a stale signal
	case <-s.synced:
	default:
	}
	if _, err := s.file.Write(syncMark); err != nil {
		return
	}
	select {
	case <-s.synced:
	case <-time.After(2 * time.Second):
	}
}

// captureStdio captures descriptors 1 and 2 for the evaluator's streams.
func (e *Evaluator) captureStdio() error {
	orig, err := unix.Dup(2)
	if err != nil {
		return err
	}
	origErr := os.NewFile(uintptr(orig), "stderr")
	out, err := captureFD(1, os.Stdout, e.opts.Stdout, nil)
	if err != nil {
		return err
	}
	errs, err := captureFD(2, os.Stderr, e.stderr, origErr)
	if err != nil {
		return err
	}
	e.stdio = []*stdio{out, errs}
	return nil
}
