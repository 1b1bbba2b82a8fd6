package wsqueue

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Options configure a Conn.
type Options[T any] struct {
	// Encode makes the websocket message of an item: its type
	// (websocket.TextMessage or BinaryMessage) and data. Required.
	Encode func(T) (messageType int, data []byte)
	// Size is what an item counts against Limits.Bytes. Required.
	Size func(T) int
	// Limits bound the items queued and not yet written.
	Limits Limits
	// Droppable says which items may be dropped when the queue is full;
	// nil: none (a full queue closes the connection).
	Droppable func(T) bool
	// Notice, when not nil, makes the item that tells the client what was
	// dropped; the writer sends it before the next item.
	Notice func(Dropped[T]) T
	// WriteWait bounds the write of one message; 0: no bound.
	WriteWait time.Duration
	// OnOverflow, when not nil, is called (once, from Send, without the
	// Conn's lock) when a full queue of undroppable items closes the
	// connection, to log it.
	OnOverflow func(queuedItems, queuedBytes int)
}

// Conn writes the items sent to it to a websocket, in order, from its own
// goroutine. It owns the websocket's write side; the caller keeps reading
// from it (a read error is how the caller learns the connection ended) and
// calls Close when it is done.
type Conn[T any] struct {
	ws   *websocket.Conn
	opts Options[T]
	wake chan struct{}
	done chan struct{}

	mu        sync.Mutex
	buf       *Buffer[T]
	closed    bool
	closeCode int
	closeText string
	unsent    []T
}

// New starts the writer of ws. Items queued in initial (nil for none),
// and what it dropped, go first; initial is not used afterwards.
func New[T any](ws *websocket.Conn, opts Options[T], initial *Buffer[T]) *Conn[T] {
	c := &Conn[T]{ws: ws, opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{}),
		buf: NewBuffer(opts.Limits, opts.Droppable)}
	if initial != nil {
		c.buf.dropped = initial.TakeDropped()
		for initial.Len() > 0 {
			e := initial.pop()
			c.buf.Push(e.v, e.size) // over the limits: the writer sends them first anyway
		}
	}
	go c.writeLoop()
	return c
}

// Send queues v. It reports false when the connection is closed or
// closing: v is not queued then, except when v is what overflowed a queue
// full of undroppable items (v is then the last item of Unsent).
func (c *Conn[T]) Send(v T) bool {
	size := c.opts.Size(v)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	ok := c.buf.Push(v, size)
	var n, bytes int
	if !ok {
		c.closed = true
		n, bytes = c.buf.Len(), c.buf.Bytes()
	}
	c.mu.Unlock()
	c.signal()
	if !ok {
		if c.opts.OnOverflow != nil {
			c.opts.OnOverflow(n, bytes)
		}
		go c.abort()
	}
	return ok
}

// abort ends a connection whose client does not keep up: a close frame if
// it can be written within a second, then the socket closes under the
// writer (whose queue becomes Unsent) and the caller's reader.
func (c *Conn[T]) abort() {
	_ = c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "the client reads too slowly"), time.Now().Add(time.Second))
	_ = c.ws.Close()
}

// Close makes the writer send what is queued, then a close frame with
// code and text (text is cut to fit a control frame), and close the
// websocket. Later calls change nothing.
func (c *Conn[T]) Close(code int, text string) {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.closeCode, c.closeText = code, text
	}
	c.mu.Unlock()
	c.signal()
}

// Done is closed when the writer has returned and the websocket is closed.
func (c *Conn[T]) Done() <-chan struct{} { return c.done }

// Unsent returns, once Done is closed, what was queued and not written
// (oldest first) and what was dropped from the queue.
func (c *Conn[T]) Unsent() ([]T, Dropped[T]) {
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unsent, c.buf.TakeDropped()
}

// Queued returns the number of items and bytes queued and not yet taken by
// the writer.
func (c *Conn[T]) Queued() (items, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len(), c.buf.Bytes()
}

func (c *Conn[T]) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Conn[T]) writeLoop() {
	defer close(c.done)
	defer c.ws.Close()
	for {
		c.mu.Lock()
		var (
			d       Dropped[T]
			v       T
			ok      bool
			closing = c.closed
		)
		if c.opts.Notice != nil {
			d = c.buf.TakeDropped()
		}
		if d.Items == 0 {
			v, ok = c.buf.Pop()
		}
		code, text := c.closeCode, c.closeText
		c.mu.Unlock()
		switch {
		case d.Items > 0:
			v, ok = c.opts.Notice(d), true
		case !ok && closing:
			if len(text) > 120 {
				text = text[:120]
			}
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
			return
		case !ok:
			<-c.wake
			continue
		}
		if c.opts.WriteWait > 0 {
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteWait))
		}
		typ, data := c.opts.Encode(v)
		if err := c.ws.WriteMessage(typ, data); err != nil {
			c.mu.Lock()
			c.closed = true
			if d.Items > 0 { // the client was not told
				if c.buf.dropped.Items > 0 {
					d.Last = c.buf.dropped.Last
				}
				d.Items += c.buf.dropped.Items
				d.Bytes += c.buf.dropped.Bytes
				c.buf.dropped = d
			} else {
				c.unsent = append(c.unsent, v)
			}
			c.unsent = append(c.unsent, c.buf.Drain()...)
			c.mu.Unlock()
			return
		}
	}
}
