package kernel

import (
	"sync"
	"time"
)

// iopubQueue sends iopub messages in order from a goroutine of its own, so
// that publishing never blocks the shell handler behind a flood of output:
// a loop updating a widget thousands of times must not delay the busy
// status, the result and the reply of the next execute_request. Senders
// that produce floods (comm messages) wait while the queue holds more than
// iopubHighWater messages; the kernel's own messages never wait.
type iopubQueue struct {
	pub *pubSocket

	mu      sync.Mutex
	room    *sync.Cond // throttled senders wait here while the queue is full
	waiting int        // throttled senders waiting
	q       [][][]byte // messages, each its frames
	spare   [][][]byte // the slice of the batch sent before, for reuse
	idle    bool       // the writer waits for wake
	wake    chan struct{}
	sending bool // the writer holds messages taken from q
	closed  bool

	flood floodDetector
}

// iopubHighWater bounds the messages a flood sender may have queued.
const iopubHighWater = 512

func newIOPubQueue(pub *pubSocket, onFlood func(bool)) *iopubQueue {
	q := &iopubQueue{pub: pub, wake: make(chan struct{}, 1), flood: floodDetector{on: onFlood}}
	q.room = sync.NewCond(&q.mu)
	go q.run()
	return q
}

// push queues the frames of a message; with throttle it first waits while
// the queue is full. It wakes the writer only when that waits: during a
// flood, a request's messages join the queue without waking anything.
func (q *iopubQueue) push(m [][]byte, throttle bool) {
	if throttle {
		q.flood.saw(time.Now())
	}
	q.mu.Lock()
	for throttle && len(q.q) >= iopubHighWater && !q.closed {
		q.waiting++
		q.room.Wait()
		q.waiting--
	}
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.q = append(q.q, m)
	q.wakeLocked()
	q.mu.Unlock()
}

// wakeLocked wakes the writer if it waits; q.mu is held.
func (q *iopubQueue) wakeLocked() {
	if q.idle {
		q.idle = false
		q.wake <- struct{}{} // never blocks: one send per wait
	}
}

func (q *iopubQueue) run() {
	for {
		q.mu.Lock()
		for len(q.q) == 0 {
			if q.closed {
				q.mu.Unlock()
				return
			}
			q.idle = true
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		batch := q.q
		q.q, q.spare = q.spare[:0], nil
		q.sending = true
		if q.waiting > 0 {
			q.room.Broadcast()
		}
		q.mu.Unlock()
		q.pub.send(batch)
		clear(batch) // the frames can go
		q.mu.Lock()
		q.spare = batch[:0]
		q.sending = false
		q.mu.Unlock()
	}
}

// drain waits up to d for the queue to be sent, then stops the writer.
func (q *iopubQueue) drain(d time.Duration) {
	deadline := time.Now().Add(d)
	q.mu.Lock()
	for (len(q.q) > 0 || q.sending) && time.Now().Before(deadline) {
		q.mu.Unlock()
		time.Sleep(time.Millisecond)
		q.mu.Lock()
	}
	q.closed = true
	q.room.Broadcast()
	q.wakeLocked()
	q.mu.Unlock()
}

// Comm floods, see Config.OnCommFlood.
const (
	floodMsgs   = 200
	floodWindow = 50 * time.Millisecond
	floodQuiet  = 200 * time.Millisecond
)

// floodDetector tells when comm messages start and stop flooding.
type floodDetector struct {
	on func(flooding bool)

	mu       sync.Mutex
	start    time.Time // of the current window
	n        int       // messages in the window
	last     time.Time // the latest message
	flooding bool
	timer    *time.Timer
	calls    sync.Mutex // serializes calls of on
}

func (f *floodDetector) saw(now time.Time) {
	if f.on == nil {
		return
	}
	f.mu.Lock()
	f.last = now
	if f.flooding {
		f.mu.Unlock()
		return
	}
	if now.Sub(f.start) > floodWindow {
		f.start, f.n = now, 0
	}
	f.n++
	if f.n < floodMsgs {
		f.mu.Unlock()
		return
	}
	f.flooding = true
	if f.timer == nil {
		f.timer = time.AfterFunc(floodQuiet, f.check)
	} else {
		f.timer.Reset(floodQuiet)
	}
	f.calls.Lock() // before f.mu is released: the false call comes after
	f.mu.Unlock()
	f.on(true)
	f.calls.Unlock()
}

// check ends the flood once no message came for floodQuiet.
func (f *floodDetector) check() {
	f.mu.Lock()
	if wait := floodQuiet - time.Since(f.last); wait > 0 {
		f.timer.Reset(wait)
		f.mu.Unlock()
		return
	}
	f.flooding = false
	f.start, f.n = time.Time{}, 0
	f.calls.Lock()
	f.mu.Unlock()
	f.on(false)
	f.calls.Unlock()
}
