package wire

import (
	"bufio"
	"context"
	"net"
	"sync"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// coalescingTCP is the zmq4 transport the kernel listens with. zmq4 writes
// each ZMTP frame of a ROUTER message as two separate writes; with
// TCP_NODELAY on (as it must be, for latency) a 7-frame Jupyter reply then
// leaves as 14 packets. This transport buffers writes and sends each whole
// ZMTP message (the greeting, a command, or the frames up to one without the
// MORE flag) in one write. It also buffers reads: zmq4 reads each frame's
// header and body with separate small reads (dozens of read syscalls per
// Jupyter message otherwise).
const coalescingTCP = "ferry-tcp"

func init() {
	if err := zmq4.RegisterTransport(coalescingTCP, coalescingTransport{transport.New("tcp")}); err != nil {
		panic(err)
	}
}

type coalescingTransport struct{ transport.Transport }

func (t coalescingTransport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := t.Transport.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	return coalescingListener{l}, nil
}

func (t coalescingTransport) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	c, err := t.Transport.Dial(ctx, d, addr)
	if err != nil {
		return nil, err
	}
	return newFrameConn(c), nil
}

type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newFrameConn(c), nil
}

// ZMTP 3 framing: a 64-byte greeting, then frames of a flags byte, a 1- or
// 8-byte size and the body.
const (
	zmtpGreetingLen = 64
	zmtpMore        = 0x01
	zmtpLong        = 0x02
	zmtpCommand     = 0x04
)

// frameConn buffers writes until a ZMTP message is complete, and reads.
type frameConn struct {
	net.Conn
	rd        *bufio.Reader // used by zmq4's one reader goroutine only
	mu        sync.Mutex
	buf       []byte
	greeting  int    // greeting bytes still to come
	hdr       []byte // the frame header read so far
	bodyLeft  uint64 // body bytes of the current frame still to come
	inBody    bool
	lastFrame bool // the current frame ends a message
}

func newFrameConn(c net.Conn) *frameConn {
	return &frameConn{Conn: c, rd: bufio.NewReaderSize(c, 64<<10), greeting: zmtpGreetingLen, hdr: make([]byte, 0, 9)}
}

// Read reads through a buffer; large reads go straight to the connection.
func (c *frameConn) Read(p []byte) (int, error) { return c.rd.Read(p) }

func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	flush := false
	for q := p; len(q) > 0; {
		switch {
		case c.greeting > 0:
			n := min(c.greeting, len(q))
			c.greeting -= n
			q = q[n:]
			flush = flush || c.greeting == 0
		case !c.inBody:
			c.hdr = append(c.hdr, q[0])
			q = q[1:]
			want := 2
			if c.hdr[0]&zmtpLong != 0 {
				want = 9
			}
			if len(c.hdr) < want {
				continue
			}
			flags := c.hdr[0]
			if want == 2 {
				c.bodyLeft = uint64(c.hdr[1])
			} else {
				c.bodyLeft = 0
				for _, b := range c.hdr[1:9] {
					c.bodyLeft = c.bodyLeft<<8 | uint64(b)
				}
			}
			c.hdr = c.hdr[:0]
			c.lastFrame = flags&zmtpCommand != 0 || flags&zmtpMore == 0
			c.inBody = true
			if c.bodyLeft == 0 {
				c.inBody = false
				flush = flush || c.lastFrame
			}
		default:
			n := uint64(len(q))
			if n > c.bodyLeft {
				n = c.bodyLeft
			}
			c.bodyLeft -= n
			q = q[n:]
			if c.bodyLeft == 0 {
				c.inBody = false
				flush = flush || c.lastFrame
			}
		}
	}
	// Flush at message ends, and whenever much is pending (big bodies).
	if flush || len(c.buf) >= 1<<20 {
		if _, err := c.Conn.Write(c.buf); err != nil {
			c.buf = c.buf[:0]
			return 0, err
		}
		c.buf = c.buf[:0]
	}
	return len(p), nil
}
