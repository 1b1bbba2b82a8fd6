package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ferryml/ferry/wire"
)

// v1Protocol is Jupyter Server 2's binary kernel websocket protocol.
const v1Protocol = "v1.kernel.websocket.jupyter.org"

// dialWS connects to a running kernel's websocket.
func dialWS(ctx context.Context, rawURL, token string) (*client, map[string]any, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket URL %q: %w", rawURL, err)
	}
	c := &client{session: wire.NewID(), in: make(chan recvd, 64), gone: make(chan struct{})}
	q := u.Query()
	q.Set("session_id", c.session)
	u.RawQuery = q.Encode()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "token "+token)
	}
	d := websocket.Dialer{Subprotocols: []string{v1Protocol}, HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		return nil, nil, fmt.Errorf("connect to %s: %w", rawURL, err)
	}
	w := &wsclient{c: c, ws: ws, v1: ws.Subprotocol() == v1Protocol}
	c.send, c.close = w.send, w.shutdown
	go w.readLoop()
	proto := "legacy"
	if w.v1 {
		proto = "v1"
	}
	return c, map[string]any{"protocol": proto}, nil
}

// wsclient is the websocket side of a client.
type wsclient struct {
	c    *client
	ws   *websocket.Conn
	v1   bool
	once sync.Once
}

func (w *wsclient) readLoop() {
	defer close(w.c.gone)
	for {
		typ, b, err := w.ws.ReadMessage()
		if err != nil {
			return
		}
		at := time.Now()
		var r recvd
		if w.v1 {
			r, err = decodeV1(at, b)
		} else {
			r, err = decodeLegacy(at, typ == websocket.BinaryMessage, b)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "zmqrtt: dropped a websocket message:", err)
			continue
		}
		w.c.in <- r
	}
}

func (w *wsclient) send(channel, msgType string, content any) (string, error) {
	id, h := w.c.header(msgType)
	body, _ := json.Marshal(content)
	var err error
	if w.v1 {
		err = w.ws.WriteMessage(websocket.BinaryMessage, encodeV1(channel, h, []byte("{}"), []byte("{}"), body))
	} else {
		var b []byte
		b, err = json.Marshal(map[string]any{"header": json.RawMessage(h), "parent_header": map[string]any{},
			"metadata": map[string]any{}, "content": json.RawMessage(body), "channel": channel, "buffers": []any{}})
		if err == nil {
			err = w.ws.WriteMessage(websocket.TextMessage, b)
		}
	}
	if err != nil {
		return "", fmt.Errorf("send %s: %w", msgType, err)
	}
	return id, nil
}

func (w *wsclient) shutdown() {
	w.once.Do(func() {
		_ = w.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
			time.Now().Add(time.Second))
		select {
		case <-w.c.gone:
		case <-time.After(time.Second):
		}
		w.ws.Close()
	})
}

// encodeV1 lays parts out as the v1 protocol does: a little-endian uint64
// count of offsets, the offsets, then channel, header, parent header,
// metadata and content.
func encodeV1(channel string, parts ...[]byte) []byte {
	parts = append([][]byte{[]byte(channel)}, parts...)
	n := len(parts) + 1
	out := make([]byte, 8*(n+1))
	binary.LittleEndian.PutUint64(out, uint64(n))
	off := uint64(len(out))
	for i, p := range parts {
		binary.LittleEndian.PutUint64(out[8*(i+1):], off)
		off += uint64(len(p))
	}
	binary.LittleEndian.PutUint64(out[8*n:], off)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func decodeV1(at time.Time, b []byte) (recvd, error) {
	if len(b) < 8 {
		return recvd{}, errors.New("v1 message too short")
	}
	n := binary.LittleEndian.Uint64(b)
	if n < 6 || n > uint64(len(b))/8 {
		return recvd{}, fmt.Errorf("v1 message has a bad offset count %d", n)
	}
	offs := make([]uint64, n)
	for i := range offs {
		offs[i] = binary.LittleEndian.Uint64(b[8*(i+1):])
		if offs[i] > uint64(len(b)) || i > 0 && offs[i] < offs[i-1] {
			return recvd{}, errors.New("v1 message has bad offsets")
		}
	}
	part := func(i int) []byte { return b[offs[i]:offs[i+1]] }
	return received(at, string(part(0)), part(1), part(2), part(4))
}

func decodeLegacy(at time.Time, binaryFrame bool, b []byte) (recvd, error) {
	if binaryFrame { // uint32 BE count, offsets; the JSON is the first part
		if len(b) < 8 {
			return recvd{}, errors.New("binary message too short")
		}
		nb := binary.BigEndian.Uint32(b)
		start := binary.BigEndian.Uint32(b[4:])
		end := uint32(len(b))
		if nb > 1 && len(b) >= 12 {
			end = binary.BigEndian.Uint32(b[8:])
		}
		if start > end || end > uint32(len(b)) {
			return recvd{}, errors.New("binary message has bad offsets")
		}
		b = b[start:end]
	}
	var m struct {
		Channel string          `json:"channel"`
		Header  json.RawMessage `json:"header"`
		Parent  json.RawMessage `json:"parent_header"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return recvd{}, fmt.Errorf("message is not valid JSON: %w", err)
	}
	return received(at, m.Channel, m.Header, m.Parent, m.Content)
}
