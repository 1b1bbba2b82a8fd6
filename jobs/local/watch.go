package local

import (
	"context"
	"sync"

	"github.com/ferryml/ferry/jobs"
)

// watcher delivers events to one Watch channel. Its queue holds at most one
// ADDED or MODIFIED event per job: a newer state replaces the queued one,
// so a slow receiver skips intermediate states, never the latest one.
type watcher struct {
	name string // "" for all jobs
	ch   chan jobs.Event

	mu     sync.Mutex
	queue  []jobs.Event
	signal chan struct{} // one pending wake-up
}

func newWatcher(name string) *watcher {
	return &watcher{name: name, ch: make(chan jobs.Event), signal: make(chan struct{}, 1)}
}

// push queues ev (the caller holds the backend's lock, so events of a job
// arrive in order).
func (w *watcher) push(ev jobs.Event) {
	if w.name != "" && ev.Job.Name() != w.name {
		return
	}
	w.mu.Lock()
	replaced := false
	if ev.Type == jobs.Modified {
		for i := range w.queue {
			q := &w.queue[i]
			if q.Job.UID == ev.Job.UID && q.Type != jobs.Deleted {
				q.Job = ev.Job // an ADDED stays ADDED, with the newest state
				replaced = true
				break
			}
		}
	}
	if !replaced {
		w.queue = append(w.queue, ev)
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// run sends queued events until ctx is done, then closes the channel.
func (w *watcher) run(ctx context.Context, done func()) {
	defer close(w.ch)
	defer done()
	for {
		w.mu.Lock()
		q := w.queue
		w.queue = nil
		w.mu.Unlock()
		for len(q) > 0 {
			select {
			case w.ch <- q[0]:
				q = q[1:]
			case <-ctx.Done():
				return
			}
			// Merge what arrived meanwhile, so the newest state wins.
			w.mu.Lock()
			for _, ev := range w.queue {
				merged := false
				if ev.Type == jobs.Modified {
					for i := range q {
						if q[i].Job.UID == ev.Job.UID && q[i].Type != jobs.Deleted {
							q[i].Job = ev.Job
							merged = true
							break
						}
					}
				}
				if !merged {
					q = append(q, ev)
				}
			}
			w.queue = nil
			w.mu.Unlock()
		}
		select {
		case <-w.signal:
		case <-ctx.Done():
			return
		}
	}
}
