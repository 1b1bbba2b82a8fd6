package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
)

// Logs returns the output of one replica, read from its log file (restarts
// append to it, after a "ferry: ... restarted" line). The ranks of a local
// MPI job write to the Launcher's log, which Logs returns for its Workers
// too.
func (b *Backend) Logs(ctx context.Context, name string, opts jobs.LogOptions) (io.ReadCloser, error) {
	b.mu.Lock()
	j, ok := b.jobs[name]
	b.mu.Unlock()
	if !ok {
		return nil, notFound(name)
	}
	spec := &j.rec.Job.Spec // never changes after Submit
	t, idx := opts.Replica, opts.Index
	if t == "" {
		t, idx = spec.PrimaryReplica()
	}
	if idx < 0 || idx >= spec.ReplicaCount(t) {
		var ids []string
		for _, u := range spec.ReplicaTypes() {
			for i := range spec.ReplicaCount(u) {
				ids = append(ids, jobs.ReplicaID(u, i))
			}
		}
		return nil, ferry.Errorf(ferry.NotFound, "job %s has no replica %s: its replicas are %v", name, jobs.ReplicaID(t, idx), ids)
	}
	if spec.Kind == jobs.MPI && t == jobs.Worker {
		t, idx = jobs.Launcher, 0
	}
	f, err := os.Open(filepath.Join(j.dir, "logs", logName(t, idx)))
	if err != nil {
		return nil, ferry.Errorf(ferry.NotFound, "log of %s of job %s: %w", jobs.ReplicaID(t, idx), name, err)
	}
	if opts.TailLines > 0 {
		if off, err := tailOffset(f, opts.TailLines); err == nil {
			_, err = f.Seek(off, io.SeekStart)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("local jobs: log of %s: %w", name, err)
			}
		}
	}
	if !opts.Follow {
		return f, nil
	}
	return &follower{f: f, ctx: ctx, b: b, j: j, t: t, idx: idx}, nil
}

// tailOffset returns the offset of the start of the last n lines of f.
func tailOffset(f *os.File, n int) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	const block = 32 << 10
	buf := make([]byte, block)
	end := size
	// A final newline ends the last line; it does not start another.
	count := 0
	pos := size
	for pos > 0 {
		start := max(pos-block, 0)
		chunk := buf[:pos-start]
		if _, err := f.ReadAt(chunk, start); err != nil && err != io.EOF {
			return 0, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			off := start + int64(i)
			if chunk[i] == '\n' && off != end-1 {
				count++
				if count == n {
					return off + 1, nil
				}
			}
		}
		pos = start
	}
	return 0, nil
}

// follower reads a log and, at its end, waits for more until the replica
// has ended.
type follower struct {
	f   *os.File
	ctx context.Context
	b   *Backend
	j   *job
	t   jobs.ReplicaType
	idx int
}

func (r *follower) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 || err != io.EOF {
			return n, err
		}
		if r.ended() {
			// Whatever the process wrote before it ended is in the file now.
			n, err := r.f.Read(p)
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		select {
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		case <-time.After(r.b.opts.PollInterval):
		}
	}
}

// ended reports whether the replica has ended for good (not pending a
// restart), or no supervisor follows the job any more.
func (r *follower) ended() bool {
	select {
	case <-r.j.done:
		return true
	default:
	}
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	for _, s := range r.j.rec.Job.Status.Replicas {
		if s.Type == r.t && s.Index == r.idx {
			return s.Phase == jobs.ReplicaSucceeded || s.Phase == jobs.ReplicaFailed
		}
	}
	return true
}

func (r *follower) Close() error { return r.f.Close() }
