// Package wsqueue is the send side of notebookd's websockets (kernel
// channels and terminals): one writer goroutine per connection fed by a
// queue bounded in bytes and items, so that a client that reads slowly, or
// not at all, costs the server a bounded amount of memory.
//
// When a queue is full, items the caller marks droppable (for kernels:
// stream and display output) are dropped oldest first, and the writer tells
// the client how many were dropped (a notice item the caller makes) before
// the next item it sends. When only items that must not be dropped remain
// (kernel status, replies, comm messages; every terminal frame) and the
// queue is still full, the connection is closed: the client reconnects and
// gets what the caller keeps for reconnections (a kernel's replay buffer, a
// terminal's history). A write that does not finish within WriteWait closes
// the connection too.
//
// Buffer, the bounded queue itself, is also the kernels' replay buffer.
package wsqueue

// Limits bound a Buffer. A zero field is no bound in that dimension.
type Limits struct {
	Bytes int // sum of the items' sizes
	Items int // number of items
}

func (l Limits) over(items, bytes int) bool {
	return l.Bytes > 0 && bytes > l.Bytes || l.Items > 0 && items > l.Items
}

// Dropped tells what a Buffer dropped since it was last asked.
type Dropped[T any] struct {
	Items, Bytes int
	Last         T // the newest item dropped
}

type entry[T any] struct {
	v    T
	size int
}

// Buffer is a FIFO of items bounded by Limits. It is not safe for
// concurrent use.
type Buffer[T any] struct {
	limits    Limits
	droppable func(T) bool // nil: no item is droppable
	items     []entry[T]   // items[head:] are queued
	head      int
	bytes     int
	dropped   Dropped[T]
}

// NewBuffer returns an empty Buffer; droppable (nil for none) says which
// items Push may drop to make room.
func NewBuffer[T any](limits Limits, droppable func(T) bool) *Buffer[T] {
	return &Buffer[T]{limits: limits, droppable: droppable}
}

// Len is the number of items queued.
func (b *Buffer[T]) Len() int { return len(b.items) - b.head }

// Bytes is the sum of the sizes of the items queued.
func (b *Buffer[T]) Bytes() int { return b.bytes }

// Push appends v, of size bytes. When that puts the buffer over its limits
// it drops older droppable items, oldest first, down to three quarters of
// the limits (so that a full buffer does not compact on every push). The
// item pushed is never dropped by its own push, so one item larger than
// the limits is queued; it counts against the limits of the next push. Push
// reports false when the items before v are still over the limits (only
// undroppable items are left), and the caller decides: Conn closes the
// connection, a replay buffer calls DropOldest.
func (b *Buffer[T]) Push(v T, size int) bool {
	b.items = append(b.items, entry[T]{v, size})
	b.bytes += size
	if !b.limits.over(b.Len(), b.bytes) {
		return true
	}
	if b.droppable != nil {
		low := b.low()
		newest := len(b.items) - 1
		kept := b.items[:b.head]
		n, bytes := b.Len(), b.bytes
		for _, e := range b.items[b.head:newest] {
			if low.over(n, bytes) && b.droppable(e.v) {
				n--
				bytes -= e.size
				b.dropped.Items++
				b.dropped.Bytes += e.size
				b.dropped.Last = e.v
				continue
			}
			kept = append(kept, e)
		}
		kept = append(kept, b.items[newest])
		clear(b.items[len(kept):])
		b.items, b.bytes = kept, bytes
	}
	return !b.limits.over(b.Len()-1, b.bytes-size)
}

// DropOldest drops items, oldest first and droppable or not, until the
// buffer is within three quarters of its limits; they count as dropped.
func (b *Buffer[T]) DropOldest() {
	if !b.limits.over(b.Len(), b.bytes) {
		return
	}
	low := b.low()
	for b.Len() > 0 && low.over(b.Len(), b.bytes) {
		e := b.pop()
		b.dropped.Items++
		b.dropped.Bytes += e.size
		b.dropped.Last = e.v
	}
}

// low is where dropping stops: three quarters of the limits.
func (b *Buffer[T]) low() Limits {
	f := func(x int) int {
		if x <= 0 {
			return 0 // no bound
		}
		return max(1, x*3/4)
	}
	return Limits{Bytes: f(b.limits.Bytes), Items: f(b.limits.Items)}
}

// Pop removes and returns the oldest item; ok is false when b is empty.
func (b *Buffer[T]) Pop() (v T, ok bool) {
	if b.Len() == 0 {
		return v, false
	}
	return b.pop().v, true
}

func (b *Buffer[T]) pop() entry[T] {
	e := b.items[b.head]
	b.items[b.head] = entry[T]{}
	b.head++
	b.bytes -= e.size
	if b.head == len(b.items) {
		b.items, b.head = b.items[:0], 0
	} else if b.head > 1024 && b.head > len(b.items)/2 {
		n := copy(b.items, b.items[b.head:])
		clear(b.items[n:])
		b.items, b.head = b.items[:n], 0
	}
	return e
}

// TakeDropped returns what was dropped since the last call, and forgets it.
func (b *Buffer[T]) TakeDropped() Dropped[T] {
	d := b.dropped
	b.dropped = Dropped[T]{}
	return d
}

// Drain removes and returns every item queued, oldest first.
func (b *Buffer[T]) Drain() []T {
	out := make([]T, 0, b.Len())
	for b.Len() > 0 {
		out = append(out, b.pop().v)
	}
	return out
}
