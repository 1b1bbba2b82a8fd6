package kernel

import (
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
)

// iopubQueue sends iopub messages in order from a goroutine of its own, so
// that publishing never blocks the shell handler behind a flood of output:
// a loop updating a widget thousands of times must not delay the busy
// status, the result and the reply of the next execute_request. Senders
// that produce floods (comm messages) wait while the queue holds more than
// iopubHighWater messages; the kernel's own messages never wait.
type iopubQueue struct {
	sock zmq4.Socket
	log  func(msg string, args ...any)

	mu      sync.Mutex
	cond    *sync.Cond // signalled when messages arrive or leave
	q       []zmq4.Msg
	sending bool // the writer holds messages taken from q
	closed  bool
}

// iopubHighWater bounds the messages a flood sender may have queued.
const iopubHighWater = 512

func newIOPubQueue(sock zmq4.Socket, log func(string, ...any)) *iopubQueue {
	q := &iopubQueue{sock: sock, log: log}
	q.cond = sync.NewCond(&q.mu)
	go q.run()
	return q
}

// push queues m; with throttle it first waits while the queue is full.
func (q *iopubQueue) push(m zmq4.Msg, throttle bool) {
	q.mu.Lock()
	for throttle && len(q.q) >= iopubHighWater && !q.closed {
		q.cond.Wait()
	}
	if !q.closed {
		q.q = append(q.q, m)
		q.cond.Broadcast()
	}
	q.mu.Unlock()
}

func (q *iopubQueue) run() {
	for {
		q.mu.Lock()
		for len(q.q) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.q) == 0 && q.closed {
			q.mu.Unlock()
			return
		}
		batch := q.q
		q.q = nil
		q.sending = true
		q.cond.Broadcast() // room for throttled senders
		q.mu.Unlock()
		for _, m := range batch {
			if err := q.sock.SendMulti(m); err != nil {
				q.log("iopub send", "err", err)
			}
		}
		q.mu.Lock()
		q.sending = false
		q.cond.Broadcast()
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
	q.cond.Broadcast()
	q.mu.Unlock()
}
