package kernels

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ferryml/ferry/notebookd"
)

var upgrader = websocket.Upgrader{
	// The server checks Origin (and authentication) before ServeChannels.
	CheckOrigin:       func(*http.Request) bool { return true },
	EnableCompression: false,
	ReadBufferSize:    64 << 10,
	WriteBufferSize:   64 << 10,
}

// client is one websocket connection to a kernel.
type client struct {
	k         *kern
	ws        *websocket.Conn
	v1        bool
	sessionID string

	// guarded by k.mu
	sessions map[string]bool

	qmu    sync.Mutex
	queue  []*msg
	unsent []*msg // what the writer could not send before it stopped
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

type replayBuf struct {
	since time.Time
	msgs  []*msg
}

func (c *client) hasSession(s string) bool { return s != "" && (s == c.sessionID || c.sessions[s]) }

func (c *client) enqueue(m *msg) {
	c.qmu.Lock()
	if !c.closed {
		c.queue = append(c.queue, m)
	}
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close makes the writer send a close frame and end the connection.
func (c *client) close() {
	c.qmu.Lock()
	c.closed = true
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *client) writeLoop() {
	defer close(c.done)
	defer c.ws.Close()
	for {
		c.qmu.Lock()
		q, closed := c.queue, c.closed
		c.queue = nil
		c.qmu.Unlock()
		for i, m := range q {
			var err error
			if c.v1 {
				err = c.ws.WriteMessage(websocket.BinaryMessage, encodeV1(m))
			} else {
				bin, b := encodeLegacy(m)
				typ := websocket.TextMessage
				if bin {
					typ = websocket.BinaryMessage
				}
				err = c.ws.WriteMessage(typ, b)
			}
			if err != nil {
				c.qmu.Lock()
				c.closed = true
				c.unsent = append(q[i:len(q):len(q)], c.queue...)
				c.queue = nil
				c.qmu.Unlock()
				return
			}
		}
		if closed {
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "kernel shut down"), time.Now().Add(time.Second))
			return
		}
		if len(q) == 0 {
			<-c.wake
		}
	}
}

// ServeChannels upgrades r to the kernel's websocket. With the
// v1.kernel.websocket.jupyter.org subprotocol offered it speaks the v1
// binary protocol, else legacy JSON (binary frames for messages with
// buffers). iopub missed by a session_id that disconnected in the last
// minute is replayed when it reconnects.
func (m *Manager) ServeChannels(w http.ResponseWriter, r *http.Request, id string) {
	k, err := m.lookup(id)
	if err != nil {
		writeError(w, err)
		return
	}
	up := upgrader
	v1 := false
	for _, p := range websocket.Subprotocols(r) {
		if p == V1Subprotocol {
			v1 = true
			up.Subprotocols = []string{V1Subprotocol}
		}
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the error
	}
	c := &client{k: k, ws: ws, v1: v1, sessionID: r.URL.Query().Get("session_id"), sessions: map[string]bool{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	k.mu.Lock()
	if b := k.replay[c.sessionID]; b != nil && c.sessionID != "" {
		delete(k.replay, c.sessionID)
		if time.Since(b.since) <= replayTTL {
			c.queue = b.msgs
		}
	}
	k.clients[c] = struct{}{}
	k.lastActivity = time.Now()
	stopping := k.stopping
	k.mu.Unlock()
	go c.writeLoop()
	if stopping {
		c.close()
	}
	m.log.Debug("kernel websocket connected", "kernel", id, "session", c.sessionID, "v1", v1)
	c.readLoop()
	// From here on messages for the session go to a replay buffer (unless
	// another connection of the session is open), and what the writer
	// could not send to this connection goes there first.
	k.mu.Lock()
	delete(k.clients, c)
	var buf *replayBuf
	if c.sessionID != "" && !k.stopping {
		other := false
		for o := range k.clients {
			other = other || o.sessionID == c.sessionID
		}
		if !other {
			buf = &replayBuf{since: time.Now()}
			k.replay[c.sessionID] = buf
		}
	}
	k.mu.Unlock()
	c.close()
	<-c.done
	if buf != nil {
		c.qmu.Lock()
		unsent := c.unsent
		c.qmu.Unlock()
		if len(unsent) > 0 {
			k.mu.Lock()
			buf.msgs = append(unsent, buf.msgs...)
			if len(buf.msgs) > replayMax {
				buf.msgs = buf.msgs[len(buf.msgs)-replayMax:]
			}
			k.mu.Unlock()
		}
	}
	m.log.Debug("kernel websocket closed", "kernel", id, "session", c.sessionID)
}

func writeError(w http.ResponseWriter, err error) {
	status := notebookd.StatusOf(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error(), "reason": http.StatusText(status)})
}

func (c *client) readLoop() {
	k := c.k
	for {
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var m *msg
		if c.v1 {
			m, err = decodeV1(b)
		} else {
			m, err = decodeLegacy(typ == websocket.BinaryMessage, b)
		}
		if err != nil {
			k.m.log.Warn("dropped a websocket message", "kernel", k.id, "err", err)
			continue
		}
		if m.channel != "shell" && m.channel != "control" && m.channel != "stdin" {
			k.m.log.Warn("dropped a websocket message for an unknown channel", "kernel", k.id, "channel", m.channel)
			continue
		}
		k.mu.Lock()
		if m.session != "" {
			c.sessions[m.session] = true
		}
		k.lastActivity = time.Now()
		ready := k.readyCh
		k.mu.Unlock()
		// While the kernel (re)starts, wait for it (no timer when it is
		// ready, the usual case).
		select {
		case <-ready:
		default:
			t := time.NewTimer(readyTimeout)
			select {
			case <-ready:
			case <-t.C:
			case <-c.done:
				t.Stop()
				return
			}
			t.Stop()
		}
		k.mu.Lock()
		p := k.proc
		k.mu.Unlock()
		if p == nil {
			continue
		}
		if err := p.send(m.channel, m); err != nil {
			k.m.log.Warn("send to kernel", "kernel", k.id, "channel", m.channel, "err", err)
		}
	}
}
