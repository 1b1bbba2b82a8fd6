package kernel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"

	"github.com/ferryml/ferry/wire"
)

// ZMTP 3 frame flags: a frame is a flags byte, a 1- or 8-byte size and the
// body. (Package wire's transport parses the same framing.)
const (
	zmtpMore    = 0x01
	zmtpLong    = 0x02
	zmtpCommand = 0x04
)

// pubSocket is the kernel's IOPub socket: a ZeroMQ PUB endpoint (ZMTP 3.0,
// NULL security, as zmq4 and libzmq speak it) that writes each batch of
// queued messages to a subscriber in one write.
//
// zmq4's own PUB socket sends every message from a queue of its own, with a
// write and a dozen allocations per message; during a flood of widget
// updates that cost the CPU time and garbage collections that delayed the
// kernel's answers to requests. Here handshakes use zmq4.Open, and the
// frames of a batch are encoded into one reused buffer.
//
// As with ZeroMQ, a subscriber receives the messages whose first frame
// starts with one of its subscriptions (ZMTP 3.0 subscription messages, a
// leading byte 1 or 0, or 3.1 SUBSCRIBE and CANCEL commands), and messages
// sent while nobody has subscribed are dropped. Unlike ZeroMQ, which drops
// messages for a subscriber past its high-water mark, a subscriber that
// stops reading for pubWriteTimeout is disconnected: the messages it got
// are never missing one in the middle.
type pubSocket struct {
	ln  net.Listener
	log func(msg string, args ...any)

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // open connections, subscribed or not yet
	subs   map[*subscriber]struct{}
	closed bool
	wg     sync.WaitGroup

	buf []byte // encoded batch, used by send only

	writeTimeout time.Duration // pubWriteTimeout; shorter in tests
}

// pubWriteTimeout is how long a subscriber may block the socket's writes.
const pubWriteTimeout = 30 * time.Second

// pubHandshakeTimeout bounds the ZMTP handshake of a new connection.
const pubHandshakeTimeout = 10 * time.Second

// subscriber is one connected SUB socket.
type subscriber struct {
	conn net.Conn

	mu     sync.Mutex
	topics map[string]int // subscription -> count, as ZeroMQ counts them
}

// listenPub listens on the endpoint of ci's port as the IOPub socket.
func listenPub(ci wire.ConnectionInfo, port int, log func(string, ...any)) (*pubSocket, error) {
	network, addr := "tcp", net.JoinHostPort(strings.TrimPrefix(ci.IP, "*"), strconv.Itoa(port))
	if ci.Transport == "ipc" {
		network, addr = "unix", fmt.Sprintf("%s-%d", ci.IP, port)
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	p := &pubSocket{ln: ln, log: log, conns: map[net.Conn]struct{}{}, subs: map[*subscriber]struct{}{}, writeTimeout: pubWriteTimeout}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *pubSocket) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			p.log("iopub accept", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			p.serve(c)
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		}()
	}
}

// serve handshakes with a new connection, then reads its subscriptions
// until it goes away.
func (p *pubSocket) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(pubHandshakeTimeout))
	if _, err := zmq4.Open(c, null.Security(), zmq4.Pub, nil, true, nil); err != nil {
		p.log("iopub handshake", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	_ = c.SetDeadline(time.Time{})
	s := &subscriber{conn: c, topics: map[string]int{}}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.subs[s] = struct{}{}
	p.mu.Unlock()
	defer p.drop(s)
	// zmq4.Open reads exactly the handshake, so what follows is buffered
	// here from the first frame on.
	err := s.readSubscriptions(bufio.NewReader(c)) // until the connection ends
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, syscall.ECONNRESET) {
		p.log("iopub subscriber", "remote", c.RemoteAddr().String(), "err", err)
	}
}

func (p *pubSocket) drop(s *subscriber) {
	p.mu.Lock()
	delete(p.subs, s)
	p.mu.Unlock()
	_ = s.conn.Close()
}

// maxSubscriptionFrame bounds the frames a subscriber may send: they carry
// topics, which Jupyter leaves empty.
const maxSubscriptionFrame = 64 << 10

// readSubscriptions applies the subscription messages and commands read
// from r, until reading fails; other messages are ignored, as a PUB socket
// does.
func (s *subscriber) readSubscriptions(r *bufio.Reader) error {
	var parts int
	var first []byte
	for {
		flags, err := r.ReadByte()
		if err != nil {
			return err
		}
		var size uint64
		if flags&zmtpLong != 0 {
			var b [8]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return err
			}
			size = binary.BigEndian.Uint64(b[:])
		} else {
			b, err := r.ReadByte()
			if err != nil {
				return err
			}
			size = uint64(b)
		}
		if size > maxSubscriptionFrame {
			return fmt.Errorf("a frame of %d bytes; subscribers send subscriptions only", size)
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			return err
		}
		if flags&zmtpCommand != 0 {
			// ZMTP 3.1: a name length, the name, the topic.
			if len(body) > 0 && int(body[0]) < len(body) {
				name, topic := string(body[1:1+body[0]]), string(body[1+body[0]:])
				switch name {
				case "SUBSCRIBE":
					s.subscribe(topic, true)
				case "CANCEL":
					s.subscribe(topic, false)
				}
			}
			continue
		}
		if parts == 0 {
			first = body
		}
		parts++
		if flags&zmtpMore != 0 {
			continue
		}
		if parts == 1 && len(first) > 0 && first[0] <= 1 {
			s.subscribe(string(first[1:]), first[0] == 1)
		}
		parts, first = 0, nil
	}
}

func (s *subscriber) subscribe(topic string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.topics[topic]++
		return
	}
	if s.topics[topic] <= 1 {
		delete(s.topics, topic)
	} else {
		s.topics[topic]--
	}
}

// filter reports whether s wants every message, and otherwise a copy of its
// subscriptions (nil: none yet).
func (s *subscriber) filter() (all bool, topics []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[""]; ok {
		return true, nil
	}
	for t := range s.topics {
		topics = append(topics, t)
	}
	return false, topics
}

func wants(topics []string, first []byte) bool {
	for _, t := range topics {
		if strings.HasPrefix(string(first), t) {
			return true
		}
	}
	return false
}

// pubBatchBytes is the most bytes one write carries; a larger batch is
// written in pieces of about this size.
const pubBatchBytes = 256 << 10

// send writes msgs, each a list of frames, to every subscriber that wants
// them, in order. It is called from one goroutine at a time.
func (p *pubSocket) send(msgs [][][]byte) {
	p.mu.Lock()
	subs := make([]*subscriber, 0, len(p.subs))
	for s := range p.subs {
		subs = append(subs, s)
	}
	p.mu.Unlock()
	for _, s := range subs {
		all, topics := s.filter()
		if !all && len(topics) == 0 {
			continue
		}
		buf := p.buf[:0]
		var err error
		for _, m := range msgs {
			if len(m) == 0 || (!all && !wants(topics, m[0])) {
				continue
			}
			buf = appendZMTP(buf, m)
			if len(buf) >= pubBatchBytes {
				if err = s.write(buf, p.writeTimeout); err != nil {
					break
				}
				buf = buf[:0]
			}
		}
		if err == nil && len(buf) > 0 {
			err = s.write(buf, p.writeTimeout)
		}
		if cap(buf) <= 4*pubBatchBytes {
			p.buf = buf[:0]
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				p.log("iopub: disconnected a subscriber that read nothing for "+p.writeTimeout.String(), "remote", s.conn.RemoteAddr().String())
			}
			p.drop(s) // otherwise it went away
		}
	}
}

func (s *subscriber) write(b []byte, timeout time.Duration) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := s.conn.Write(b)
	return err
}

// appendZMTP appends the ZMTP 3.0 framing of one message.
func appendZMTP(b []byte, frames [][]byte) []byte {
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags |= zmtpMore
		}
		if len(f) > 255 {
			b = append(b, flags|zmtpLong)
			b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		} else {
			b = append(b, flags, byte(len(f)))
		}
		b = append(b, f...)
	}
	return b
}

// Close stops listening and disconnects every subscriber.
func (p *pubSocket) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}
