package wsqueue

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// item is a test item: droppable when its name starts with "out".
type item string

func droppable(v item) bool { return strings.HasPrefix(string(v), "out") }

func TestBuffer(t *testing.T) {
	for _, tc := range []struct {
		name        string
		limits      Limits
		droppable   func(item) bool
		push        []item
		want        []item
		wantOK      bool // the last Push
		wantDropped int
	}{
		{"within", Limits{Items: 3}, droppable, []item{"a", "out1", "b"}, []item{"a", "out1", "b"}, true, 0},
		{"drops output oldest first", Limits{Items: 4}, droppable,
			[]item{"out1", "a", "out2", "out3", "b"}, []item{"a", "out3", "b"}, true, 2},
		{"one item over", Limits{Items: 2}, droppable, []item{"a", "b", "c"}, []item{"a", "b", "c"}, true, 0},
		{"undroppable over", Limits{Items: 2}, droppable, []item{"a", "b", "c", "d"}, []item{"a", "b", "c", "d"}, false, 0},
		{"nothing droppable", Limits{Items: 2}, nil, []item{"out1", "out2", "out3", "out4"}, []item{"out1", "out2", "out3", "out4"}, false, 0},
		{"the newest is kept", Limits{Bytes: 10}, droppable, []item{"out1", "a", "out-larger-than-the-limit"}, []item{"a", "out-larger-than-the-limit"}, true, 1},
		{"bytes", Limits{Bytes: 8}, droppable, []item{"out1", "a", "out2"}, []item{"a", "out2"}, true, 1},
		{"unbounded", Limits{}, droppable, []item{"out1", "out2", "out3"}, []item{"out1", "out2", "out3"}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuffer(tc.limits, tc.droppable)
			var ok bool
			for _, v := range tc.push {
				ok = b.Push(v, len(v))
			}
			d := b.TakeDropped()
			if got := b.Drain(); !slices.Equal(got, tc.want) || ok != tc.wantOK || d.Items != tc.wantDropped {
				t.Errorf("got %q ok=%v dropped %d, want %q ok=%v dropped %d", got, ok, d.Items, tc.want, tc.wantOK, tc.wantDropped)
			}
			if b.Len() != 0 || b.Bytes() != 0 {
				t.Errorf("after Drain: %d items, %d bytes", b.Len(), b.Bytes())
			}
		})
	}
	t.Run("DropOldest", func(t *testing.T) {
		b := NewBuffer(Limits{Items: 4}, droppable)
		for _, v := range []item{"a", "b", "c", "d", "e", "f"} {
			if !b.Push(v, 1) {
				b.DropOldest()
			}
		}
		d := b.TakeDropped()
		if got, want := b.Drain(), []item{"d", "e", "f"}; !slices.Equal(got, want) || d.Items != 3 || d.Last != "c" {
			t.Errorf("got %q, dropped %+v; want %q, 3 dropped, the last c", got, d, want)
		}
	})
	t.Run("long run stays bounded", func(t *testing.T) {
		b := NewBuffer(Limits{Bytes: 1000}, droppable)
		for i := range 100000 {
			v := item(fmt.Sprint("out", i))
			if i%10 == 0 {
				v = item(fmt.Sprint("s", i))
				b.Pop()
			}
			b.Push(v, len(v))
			if b.Bytes() > 1000+len(v) {
				t.Fatalf("after %d pushes: %d bytes", i+1, b.Bytes())
			}
		}
	})
}

// pair returns a Conn writing items to a websocket and the websocket's
// other end.
func pair(t *testing.T, opts Options[item]) (*Conn[item], *websocket.Conn) {
	t.Helper()
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{}
		ws, err := up.Upgrade(w, r, nil)
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
	if opts.Encode == nil {
		opts.Encode = func(v item) (int, []byte) { return websocket.TextMessage, []byte(v) }
	}
	if opts.Size == nil {
		opts.Size = func(v item) int { return len(v) }
	}
	c := New(<-conns, opts, nil)
	t.Cleanup(func() { c.Close(websocket.CloseNormalClosure, ""); <-c.Done() })
	return c, peer
}

// readAll reads from peer until the connection closes, returning the
// messages and the close error.
func readAll(t *testing.T, peer *websocket.Conn) ([]item, error) {
	t.Helper()
	var got []item
	for {
		peer.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, b, err := peer.ReadMessage()
		if err != nil {
			return got, err
		}
		got = append(got, item(b))
	}
}

// TestConnStalledClient: while the client reads nothing, the queue stays
// within its bound; then it gets every undroppable item, in order, with a
// notice saying how many items were dropped, before the close frame.
func TestConnStalledClient(t *testing.T) {
	const limit = 64 << 10
	c, peer := pair(t, Options[item]{
		Limits:    Limits{Bytes: limit},
		Droppable: droppable,
		Notice:    func(d Dropped[item]) item { return item(fmt.Sprintf("notice %d %s", d.Items, d.Last[:3])) },
	})
	pad := strings.Repeat("x", 1000)
	const n = 30000 // 30 MB: more than the socket buffers hold
	var keep []item
	for i := range n {
		if !c.Send(item(fmt.Sprintf("out %d %s", i, pad))) {
			t.Fatalf("Send %d refused", i)
		}
		if i%500 == 0 {
			v := item(fmt.Sprint("status ", i))
			c.Send(v)
			keep = append(keep, v)
		}
		if _, b := c.Queued(); b > limit+len(pad)+20 {
			t.Fatalf("after %d items, %d bytes queued: over the bound %d", i+1, b, limit)
		}
	}
	c.Close(websocket.CloseNormalClosure, "bye")
	got, err := readAll(t, peer)
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("the connection ended with %v, want a normal close", err)
	}
	var kept []item
	outs, dropped := 0, 0
	for _, v := range got {
		switch {
		case strings.HasPrefix(string(v), "status"):
			kept = append(kept, v)
		case strings.HasPrefix(string(v), "notice"):
			var d int
			fmt.Sscanf(string(v), "notice %d", &d)
			dropped += d
		default:
			outs++
		}
	}
	if !slices.Equal(kept, keep) {
		t.Errorf("got %d undroppable items, want all %d in order", len(kept), len(keep))
	}
	if dropped == 0 || outs+dropped != n {
		t.Errorf("%d items received + %d reported dropped, want %d, some dropped", outs, dropped, n)
	}
}

// TestConnOverflow: a queue full of undroppable items closes the
// connection; what was not written comes back from Unsent.
func TestConnOverflow(t *testing.T) {
	overflowed := false
	c, peer := pair(t, Options[item]{Limits: Limits{Bytes: 64 << 10}, OnOverflow: func(int, int) { overflowed = true }})
	pad := item(strings.Repeat("x", 1000))
	i := 1 // items sent, the refused one included
	for ; c.Send(pad); i++ {
		if i > 1e6 {
			t.Fatal("a client that does not read was never disconnected")
		}
	}
	<-c.Done()
	unsent, _ := c.Unsent()
	if !overflowed || len(unsent) > 0 && unsent[len(unsent)-1] != pad {
		t.Errorf("overflow reported %v; %d items unsent, the last not the one refused", overflowed, len(unsent))
	}
	if c.Send(pad) {
		t.Error("Send after the overflow accepted an item")
	}
	got, err := readAll(t, peer)
	if len(got)+len(unsent) != i {
		t.Errorf("%d items written + %d unsent, want the %d sent", len(got), len(unsent), i)
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.ClosePolicyViolation {
		t.Errorf("closed with %v, want %d or an abrupt end", err, websocket.ClosePolicyViolation)
	}
}

// TestConnWriteWait: a client that stops reading for longer than
// WriteWait is disconnected.
func TestConnWriteWait(t *testing.T) {
	c, _ := pair(t, Options[item]{WriteWait: 50 * time.Millisecond})
	pad := item(strings.Repeat("x", 64<<10))
	for c.Send(pad) {
		select {
		case <-c.Done():
			return // the stalled write ended the connection
		default:
		}
	}
	<-c.Done()
}
