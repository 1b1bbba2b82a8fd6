package kernels

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ferryml/ferry/notebookd"
	"github.com/ferryml/ferry/notebookd/internal/wsqueue"
)

var upgrader = websocket.Upgrader{
	// The server checks Origin (and authentication) before ServeChannels.
	CheckOrigin:       func(*http.Request) bool { return true },
	EnableCompression: false,
	ReadBufferSize:    64 << 10,
	WriteBufferSize:   64 << 10,
}

// writeWait bounds the write of one websocket message: a client that does
// not read for that long is disconnected (a variable so tests can shorten
// it).
var writeWait = time.Minute

// client is one websocket connection to a kernel.
type client struct {
	k         *kern
	ws        *websocket.Conn
	q         *wsqueue.Conn[*msg]
	v1        bool
	sessionID string

	// guarded by k.mu
	sessions map[string]bool
}

// replayBuf keeps the iopub (and the replies) for a session that
// disconnected, to send when it reconnects.
type replayBuf struct {
	since time.Time
	buf   *wsqueue.Buffer[*msg]
}

func newReplayBuf() *replayBuf {
	return &replayBuf{since: time.Now(), buf: wsqueue.NewBuffer(wsqueue.Limits{Items: replayMax, Bytes: replayMaxBytes}, isOutput)}
}

// add keeps m, dropping output first, then the oldest messages, past the
// limits.
func (b *replayBuf) add(m *msg) {
	if !b.buf.Push(m, msgSize(m)) {
		b.buf.DropOldest()
	}
}

func (c *client) hasSession(s string) bool { return s != "" && (s == c.sessionID || c.sessions[s]) }

// enqueue queues m for the client (nothing once it is closed).
func (c *client) enqueue(m *msg) { c.q.Send(m) }

// close makes the writer send what is queued and a close frame, and end
// the connection.
func (c *client) close() { c.q.Close(websocket.CloseNormalClosure, "kernel shut down") }

// encode is the websocket message of m in the client's protocol.
func (c *client) encode(m *msg) (int, []byte) {
	if c.v1 {
		return websocket.BinaryMessage, encodeV1(m)
	}
	bin, b := encodeLegacy(m)
	if bin {
		return websocket.BinaryMessage, b
	}
	return websocket.TextMessage, b
}

func (c *client) queueOptions(l Limits) wsqueue.Options[*msg] {
	return wsqueue.Options[*msg]{
		Encode:    c.encode,
		Size:      msgSize,
		Limits:    wsqueue.Limits{Bytes: l.QueueBytes},
		Droppable: isOutput,
		Notice: func(d wsqueue.Dropped[*msg]) *msg {
			c.k.m.log.Warn("kernel websocket reads too slowly; dropped output", "kernel", c.k.id, "session", c.sessionID,
				"messages", d.Items, "bytes", d.Bytes)
			return c.k.slowNotice(d.Items, d.Bytes, d.Last)
		},
		WriteWait: writeWait,
		OnOverflow: func(n, bytes int) {
			c.k.m.log.Warn("kernel websocket reads too slowly; disconnecting it", "kernel", c.k.id, "session", c.sessionID,
				"queued_messages", n, "queued_bytes", bytes)
		},
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
	limits := m.opts.Limits.withDefaults()
	if limits.MaxMessageBytes > 0 {
		ws.SetReadLimit(limits.MaxMessageBytes)
	}
	c := &client{k: k, ws: ws, v1: v1, sessionID: r.URL.Query().Get("session_id"), sessions: map[string]bool{}}
	k.mu.Lock()
	var replay *wsqueue.Buffer[*msg]
	if b := k.replay[c.sessionID]; b != nil && c.sessionID != "" {
		delete(k.replay, c.sessionID)
		if time.Since(b.since) <= replayTTL {
			replay = b.buf
		}
	}
	c.q = wsqueue.New(ws, c.queueOptions(limits), replay)
	k.clients[c] = struct{}{}
	k.lastActivity = time.Now()
	stopping := k.stopping
	k.mu.Unlock()
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
			buf = newReplayBuf()
			k.replay[c.sessionID] = buf
		}
	}
	k.mu.Unlock()
	c.close()
	unsent, dropped := c.q.Unsent()
	if buf != nil && (len(unsent) > 0 || dropped.Items > 0) {
		k.mu.Lock()
		// What the writer could not send goes before what came since.
		nb := newReplayBuf()
		if dropped.Items > 0 {
			nb.add(k.slowNotice(dropped.Items, dropped.Bytes, dropped.Last))
		}
		for _, m := range unsent {
			nb.add(m)
		}
		for _, m := range buf.buf.Drain() {
			nb.add(m)
		}
		buf.buf = nb.buf
		k.mu.Unlock()
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
			case <-c.q.Done():
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
