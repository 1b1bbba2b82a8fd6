package kernels

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ferryml/ferry/notebookd/internal/wsqueue"
)

// pipeClient attaches a v1 websocket client of session to k, as
// ServeChannels does, and returns it with the websocket's other end.
func pipeClient(t *testing.T, k *kern, session string, l Limits) (*client, *websocket.Conn) {
	t.Helper()
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conns <- ws
	}))
	t.Cleanup(srv.Close)
	peer, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	c := &client{k: k, ws: <-conns, v1: true, sessionID: session, sessions: map[string]bool{}}
	c.q = wsqueue.New(c.ws, c.queueOptions(l.withDefaults()), nil)
	t.Cleanup(func() { c.q.Close(websocket.CloseNormalClosure, ""); <-c.q.Done() })
	k.mu.Lock()
	k.clients[c] = struct{}{}
	k.mu.Unlock()
	return c, peer
}

// readAll reads v1 messages from peer until the connection ends.
func readAll(t *testing.T, peer *websocket.Conn) []*msg {
	t.Helper()
	var got []*msg
	for {
		peer.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, b, err := peer.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("after %d messages: %v", len(got), err)
			}
			return got
		}
		m, err := decodeV1(b)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
}

// testKern is a kernel without a process, for what happens between the
// kernel's sockets and the websockets.
func testKern(t *testing.T, l Limits) *kern {
	m := newManager(t, nil, Options{Limits: l})
	return &kern{m: m, id: "k", sign: newSigner("secret"), session: "mgr", clients: map[*client]struct{}{},
		replay: map[string]*replayBuf{}}
}

// kmsg is a message from the kernel, a reply to request parent.
func kmsg(channel, msgType, parent string, content any) *msg {
	b, _ := json.Marshal(content)
	m := &msg{channel: channel, header: fmt.Appendf(nil, `{"msg_id":%q,"msg_type":%q,"session":"kern"}`, "m-"+parent+"-"+msgType, msgType),
		parent: fmt.Appendf(nil, `{"msg_id":%q,"session":"s"}`, parent), metadata: []byte("{}"), content: b}
	if err := m.parse(); err != nil {
		panic(err)
	}
	return m
}

func stream(parent string, i int, pad int) *msg {
	return kmsg("iopub", "stream", parent, map[string]string{"name": "stdout", "text": fmt.Sprintf("line %d %s\n", i, strings.Repeat("x", pad))})
}

func streamText(m *msg) string {
	var c struct{ Name, Text string }
	json.Unmarshal(m.content, &c)
	return c.Text
}

var droppedRE = regexp.MustCompile(`(\d+) output messages \(.*\) were dropped here`)

// droppedCount is the number a drop notice reports, or -1.
func droppedCount(m *msg) int {
	if m.msgType != "stream" || bytes.Contains(m.content, []byte(`"line `)) {
		return -1
	}
	sm := droppedRE.FindStringSubmatch(streamText(m))
	if sm == nil {
		return -1
	}
	n, _ := strconv.Atoi(sm[1])
	return n
}

// TestRateLimit runs the IOPub rate limit on a simulated clock: a cell
// that prints 5,000 messages a second for 10 s against the message limit
// (1,000/s over 3 s), and one that prints 5 MB/s for 5 s against the data
// limit (1 MB/s).
func TestRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limits   Limits
		n        int           // messages printed
		every    time.Duration // one message printed every
		pad      int           // bytes in each
		exceeded string
	}{
		{"messages", Limits{IOPubMsgRate: 1000, IOPubDataRate: -1}, 50000, 200 * time.Microsecond, 0, "IOPub message rate exceeded"},
		{"data", Limits{IOPubMsgRate: -1, IOPubDataRate: 1e6}, 5000, time.Millisecond, 5000, "IOPub data rate exceeded"},
		{"off", Limits{IOPubMsgRate: -1, IOPubDataRate: -1}, 2000, time.Millisecond, 5000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := testKern(t, tc.limits)
			r := &rateLimiter{limits: tc.limits.withDefaults()}
			t0 := time.Unix(1e9, 0)
			var out []*msg
			send := func(m *msg, at time.Duration) {
				got := r.filter(k, m, t0.Add(at))
				if !isOutput(m) && (len(got) == 0 || got[len(got)-1] != m) {
					t.Fatalf("%s %s was not sent", m.channel, m.msgType)
				}
				out = append(out, got...)
			}
			send(kmsg("iopub", "status", "cell", map[string]string{"execution_state": "busy"}), 0)
			n := tc.n
			for i := range n {
				at := time.Duration(i) * tc.every
				send(stream("cell", i, tc.pad), at)
				if i%100 == 0 { // what must never be dropped, while the output floods
					send(kmsg("iopub", "comm_msg", "cell", map[string]any{"comm_id": "w", "data": map[string]int{"i": i}}), at)
				}
			}
			send(kmsg("iopub", "execute_result", "cell", map[string]any{"data": map[string]string{"text/plain": "50000"}}), 10*time.Second)
			send(kmsg("shell", "execute_reply", "cell", map[string]string{"status": "ok"}), 10*time.Second)
			send(kmsg("iopub", "status", "cell", map[string]string{"execution_state": "idle"}), 10*time.Second)

			var lines, dropped, notices, comms int
			last := -1
			for _, m := range out {
				if m.msgType == "comm_msg" {
					comms++
				}
				if m.msgType != "stream" {
					continue
				}
				if d := droppedCount(m); d >= 0 {
					dropped += d
					continue
				}
				text := streamText(m)
				if !strings.HasPrefix(text, "line") {
					notices++
					if !strings.Contains(text, tc.exceeded) || !strings.Contains(text, "--iopub-") {
						t.Errorf("notice %q does not say %q and the flag", text, tc.exceeded)
					}
					continue
				}
				var i int
				fmt.Sscanf(text, "line %d", &i)
				if i <= last {
					t.Fatalf("line %d after %d", i, last)
				}
				last = i
				lines++
			}
			if lines+dropped != n {
				t.Errorf("%d lines sent + %d reported dropped = %d, want %d", lines, dropped, lines+dropped, n)
			}
			if comms != n/100 {
				t.Errorf("%d comm messages sent, want all %d", comms, n/100)
			}
			if tc.exceeded == "" {
				if notices != 0 || dropped != 0 {
					t.Errorf("with the limits off: %d notices, %d dropped", notices, dropped)
				}
				return
			}
			if notices != 1 {
				t.Errorf("%d rate-exceeded notices for one cell, want 1", notices)
			}
			if dropped == 0 {
				t.Error("nothing dropped")
			}
			// The cell learns what it lost before it ends.
			if tail := out[len(out)-2]; droppedCount(tail) < 0 && !isStatus("idle")(out[len(out)-1]) {
				t.Errorf("the cell ends with %s %q", tail.msgType, tail.content)
			}
			t.Logf("%d of %d lines sent in %v, %d dropped", lines, n, time.Duration(n)*tc.every, dropped)
		})
	}
}

// TestSlowClientBounded: a client that does not read costs at most its
// queue; output is dropped from it (never status, replies or comm
// messages) and it is told how much; a queue full of what must not be
// dropped disconnects it.
func TestSlowClientBounded(t *testing.T) {
	const queue = 256 << 10
	k := testKern(t, Limits{IOPubDataRate: -1, IOPubMsgRate: -1, QueueBytes: queue})
	c, peer := pipeClient(t, k, "s", Limits{QueueBytes: queue})
	const n = 20000 // ~20 MB of output, more than the socket buffers hold
	statuses := 0
	for i := range n {
		k.dispatch(stream("cell", i, 1000))
		if i%100 == 0 {
			k.dispatch(kmsg("iopub", "status", fmt.Sprint("s", i), map[string]string{"execution_state": "idle"}))
			statuses++
		}
		if _, b := c.q.Queued(); b > queue+2000 { // the bound, and one message over it
			t.Fatalf("after %d messages %d bytes queued, over the bound %d", i+1, b, queue)
		}
	}
	k.dispatch(kmsg("shell", "execute_reply", "cell", map[string]string{"status": "ok"}))
	c.close()
	var lines, dropped, gotStatuses, replies int
	for _, m := range readAll(t, peer) {
		switch {
		case m.msgType == "status":
			gotStatuses++
		case m.msgType == "execute_reply":
			replies++
		case droppedCount(m) >= 0:
			if !strings.Contains(streamText(m), "did not read them as fast as the kernel wrote them") {
				t.Errorf("notice %q", streamText(m))
			}
			dropped += droppedCount(m)
		case m.msgType == "stream":
			lines++
		}
	}
	if dropped == 0 || lines+dropped != n {
		t.Errorf("%d lines received + %d reported dropped, want %d in all and some dropped", lines, dropped, n)
	}
	if gotStatuses != statuses || replies != 1 {
		t.Errorf("received %d of %d statuses and %d of 1 replies", gotStatuses, statuses, replies)
	}

	t.Run("undroppable overflow", func(t *testing.T) {
		c, _ := pipeClient(t, k, "s2", Limits{QueueBytes: queue})
		for i := 0; ; i++ {
			if i > 100000 {
				t.Fatal("a client that does not read was never disconnected")
			}
			m := kmsg("iopub", "comm_msg", "cell", map[string]any{"comm_id": "w", "data": strings.Repeat("y", 1000)})
			if !c.q.Send(m) {
				break
			}
			if _, b := c.q.Queued(); b > queue+2*msgSize(m) {
				t.Fatalf("%d bytes queued, over the bound %d", b, queue)
			}
		}
		<-c.q.Done() // the connection ends
	})
}

// TestOversizedFrameRefused: a websocket message over MaxMessageBytes
// closes the connection with 1009 instead of being read into memory.
func TestOversizedFrameRefused(t *testing.T) {
	m := newManager(t, nil, Options{Limits: Limits{MaxMessageBytes: 64 << 10}})
	k := &kern{m: m, id: "big", sign: newSigner("secret"), session: "mgr", clients: map[*client]struct{}{},
		replay: map[string]*replayBuf{}, readyCh: make(chan struct{})}
	m.mu.Lock()
	m.kernels[k.id] = k
	m.mu.Unlock()
	srv := server(m)
	defer srv.Close()
	for _, size := range []int{64<<10 + 1, 300 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := dial(t, srv, k.id, "s", true)
			// Only the frame header goes out when the server stops reading
			// early; a write error then is the server closing.
			w, err := c.ws.NextWriter(websocket.BinaryMessage)
			if err != nil {
				t.Fatal(err)
			}
			chunk := make([]byte, 1<<20)
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := w.Write(chunk[:min(len(chunk), size-sent)]); err != nil {
					break
				}
			}
			w.Close()
			_, err = c.recv(30 * time.Second)
			if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
				t.Fatalf("after a %d-byte message: %v, want close 1009 (message too big)", size, err)
			}
		})
	}
}
