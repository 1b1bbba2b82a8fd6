package terminals

import (
	"encoding/json"
	"math"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/ferryml/ferry/notebookd"
	"github.com/ferryml/ferry/notebookd/internal/wsqueue"
)

var upgrader = websocket.Upgrader{
	// The server checks Origin (and authentication) before ServeWebsocket.
	CheckOrigin:     func(*http.Request) bool { return true },
	ReadBufferSize:  16 << 10,
	WriteBufferSize: 64 << 10,
}

const (
	// DefaultMaxMessageBytes is the default of Options.MaxMessageBytes:
	// Tornado's websocket_max_message_size, which Jupyter Server uses.
	DefaultMaxMessageBytes = 10 << 20
	// maxQueued bounds the output queued for a slow client; past it the
	// client is disconnected (it gets the history when it reconnects).
	maxQueued = 8 << 20
	// writeWait bounds the write of one frame: a client that stops reading
	// is disconnected.
	writeWait = time.Minute
)

// client is one websocket attached to a terminal.
type client struct {
	t  *term
	ws *websocket.Conn
	q  *wsqueue.Conn[[]byte]

	size unix.Winsize // guarded by t.mu
}

// send queues a frame.
func (c *client) send(frame []byte) { c.q.Send(frame) }

// close makes the writer send what is queued and a close frame.
func (c *client) close() { c.q.Close(websocket.CloseNormalClosure, "") }

func (c *client) queueOptions() wsqueue.Options[[]byte] {
	return wsqueue.Options[[]byte]{
		Encode:    func(frame []byte) (int, []byte) { return websocket.TextMessage, frame },
		Size:      func(frame []byte) int { return len(frame) },
		Limits:    wsqueue.Limits{Bytes: maxQueued},
		WriteWait: writeWait,
		OnOverflow: func(_, bytes int) {
			c.t.m.log.Warn("terminal websocket too slow, disconnecting it", "name", c.t.name, "queued", bytes)
		},
	}
}

// ServeWebsocket upgrades r to the websocket of terminal name: it sends
// ["setup", {}], then the output kept in the history, then the output as it
// comes, until the client leaves or the shell exits (["disconnect", 1]).
func (m *Manager) ServeWebsocket(w http.ResponseWriter, r *http.Request, name string) {
	t, err := m.lookup(name)
	if err != nil {
		writeError(w, err)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the error
	}
	if m.maxMessage > 0 {
		ws.SetReadLimit(m.maxMessage)
	}
	c := &client{t: t, ws: ws}
	c.q = wsqueue.New(ws, c.queueOptions(), nil)
	t.mu.Lock()
	c.send(encodeFrame("setup", struct{}{}))
	if t.ended {
		c.send(encodeFrame("disconnect", 1))
		c.close()
	} else {
		if len(t.history) > 0 {
			c.send(encodeFrame("stdout", string(t.history)))
		}
		t.clients[c] = struct{}{}
		t.lastActivity = time.Now().UTC()
	}
	t.mu.Unlock()
	m.log.Debug("terminal websocket connected", "name", name, "remote", r.RemoteAddr)
	c.readLoop()
	c.close()
	<-c.q.Done()
	t.mu.Lock()
	delete(t.clients, c)
	t.resizeLocked()
	t.mu.Unlock()
	m.log.Debug("terminal websocket closed", "name", name, "remote", r.RemoteAddr)
}

// readLoop handles the client's messages until the websocket fails.
func (c *client) readLoop() {
	t := c.t
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var msg []json.RawMessage
		var typ string
		if json.Unmarshal(b, &msg) != nil || len(msg) == 0 || json.Unmarshal(msg[0], &typ) != nil {
			t.m.log.Warn("dropped a terminal message that is not a JSON array [type, ...]", "name", t.name, "len", len(b))
			continue
		}
		switch typ {
		case "stdin":
			var s string
			if len(msg) < 2 || json.Unmarshal(msg[1], &s) != nil {
				t.m.log.Warn(`dropped a terminal "stdin" message without text`, "name", t.name)
				continue
			}
			t.touch()
			if _, err := t.ptmx.Write([]byte(s)); err != nil {
				t.m.log.Debug("terminal write failed", "name", t.name, "err", err)
			}
		case "set_size":
			// ["set_size", rows, cols, height_px, width_px]
			var n [4]float64
			for i := 1; i < len(msg) && i <= len(n); i++ {
				_ = json.Unmarshal(msg[i], &n[i-1])
			}
			size := unix.Winsize{Row: dim(n[0]), Col: dim(n[1]), Ypixel: dim(n[2]), Xpixel: dim(n[3])}
			if size.Row == 0 || size.Col == 0 {
				continue
			}
			t.mu.Lock()
			c.size = size
			t.resizeLocked()
			t.mu.Unlock()
		default:
			t.m.log.Debug("ignored a terminal message", "name", t.name, "type", typ)
		}
	}
}

// dim converts a size from JSON to a winsize field.
func dim(f float64) uint16 {
	if f < 1 || math.IsNaN(f) {
		return 0
	}
	return uint16(min(f, math.MaxUint16))
}

func writeError(w http.ResponseWriter, err error) {
	status := notebookd.StatusOf(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error(), "reason": http.StatusText(status)})
}
