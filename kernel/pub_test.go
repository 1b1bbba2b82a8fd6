package kernel

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"

	"github.com/ferryml/ferry/wire"
)

// startPub listens on a free port; its log lines are returned by logs.
func startPub(t *testing.T) (p *pubSocket, ci wire.ConnectionInfo, port int, logs func() []string) {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	ci = wire.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1"}
	port = freePort(t)
	p, err := listenPub(ci, port, func(msg string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprint(append([]any{msg}, args...)...))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, ci, port, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), lines...) }
}

// subscribe connects a zmq4 SUB socket to port with the given topics and
// waits until the PUB side has seen the subscriptions.
func subscribe(t *testing.T, p *pubSocket, ci wire.ConnectionInfo, port int, topics ...string) zmq4.Socket {
	t.Helper()
	sub := zmq4.NewSub(t.Context())
	t.Cleanup(func() { sub.Close() })
	if err := sub.Dial(ci.Endpoint(port)); err != nil {
		t.Fatal(err)
	}
	for _, tp := range topics {
		if err := sub.SetOption(zmq4.OptionSubscribe, tp); err != nil {
			t.Fatal(err)
		}
	}
	waitSubs(t, p, len(topics))
	return sub
}

// waitSubs waits until some subscriber of p has n subscriptions.
func waitSubs(t *testing.T, p *pubSocket, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		for s := range p.subs {
			s.mu.Lock()
			got := 0
			for _, c := range s.topics {
				got += c
			}
			s.mu.Unlock()
			if got == n {
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
	}
	t.Fatalf("no subscriber with %d subscriptions", n)
}

// rawSub connects to port and handshakes as a SUB socket, leaving the rest
// of the ZMTP conversation to the test.
func rawSub(t *testing.T, port int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := zmq4.Open(c, null.Security(), zmq4.Sub, nil, false, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func msg(topic string, parts ...string) [][]byte {
	out := [][]byte{[]byte(topic)}
	for _, s := range parts {
		out = append(out, []byte(s))
	}
	return out
}

func recvFrames(t *testing.T, s zmq4.Socket) []string {
	t.Helper()
	m, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

// Every message reaches a subscriber to everything, in order, however the
// batches are cut, with long frames intact.
func TestPubOrderAndFraming(t *testing.T) {
	p, ci, port, _ := startPub(t)
	sub := subscribe(t, p, ci, port, "")
	long := strings.Repeat("x", 70000)
	var want [][]string
	for b := range 3 {
		var batch [][][]byte
		for i := range 200 {
			body := fmt.Sprint(b, "-", i)
			if i%50 == 0 {
				body += long // more than a one-byte frame size, and more than pubBatchBytes over the batch
			}
			batch = append(batch, msg("kernel.s.comm_msg", "<IDS|MSG>", body, ""))
			want = append(want, []string{"kernel.s.comm_msg", "<IDS|MSG>", body, ""})
		}
		p.send(batch)
	}
	for i, w := range want {
		got := recvFrames(t, sub)
		if strings.Join(got, "|") != strings.Join(w, "|") {
			t.Fatalf("message %d: got %d frames starting %.40q, want %.40q", i, len(got), strings.Join(got, "|"), strings.Join(w, "|"))
		}
	}
}

// Subscriptions filter by prefix of the first frame, as ZeroMQ's do, and
// cancelling one stops its messages.
func TestPubTopics(t *testing.T) {
	p, ci, port, _ := startPub(t)
	sub := subscribe(t, p, ci, port, "kernel.a.")
	p.send([][][]byte{msg("kernel.b.status", "no"), msg("kernel.a.status", "yes"), msg("other", "no")})
	if got := recvFrames(t, sub); got[1] != "yes" {
		t.Errorf("got %v, want only the kernel.a. message", got)
	}
	if err := sub.SetOption(zmq4.OptionUnsubscribe, "kernel.a."); err != nil {
		t.Fatal(err)
	}
	waitSubs(t, p, 0)
	if err := sub.SetOption(zmq4.OptionSubscribe, "kernel.b"); err != nil {
		t.Fatal(err)
	}
	waitSubs(t, p, 1)
	p.send([][][]byte{msg("kernel.a.status", "no"), msg("kernel.b.status", "b")})
	if got := recvFrames(t, sub); got[1] != "b" {
		t.Errorf("after cancelling kernel.a.: got %v, want the kernel.b message", got)
	}
}

// A ZMTP 3.1 peer subscribes with SUBSCRIBE commands; those count too.
func TestPubSubscribeCommand(t *testing.T) {
	p, _, port, _ := startPub(t)
	c := rawSub(t, port)
	body := append([]byte{byte(len("SUBSCRIBE"))}, "SUBSCRIBEkernel."...)
	if _, err := c.Write(append([]byte{zmtpCommand, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
	waitSubs(t, p, 1)
	p.send([][][]byte{msg("kernel.x", "hello")})
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [2]byte
	if _, err := c.Read(hdr[:1]); err != nil {
		t.Fatal(err)
	}
	if hdr[0] != zmtpMore {
		t.Errorf("first frame flags %#x, want MORE", hdr[0])
	}
}

// A subscriber that stops reading is disconnected after the write timeout
// (with a log line naming it); the others keep getting every message.
func TestPubDropsStuckSubscriber(t *testing.T) {
	p, ci, port, logs := startPub(t)
	p.writeTimeout = 200 * time.Millisecond
	// The stuck one: handshakes, subscribes, never reads.
	c := rawSub(t, port)
	if _, err := c.Write([]byte{0, 1, 1}); err != nil { // a 3.0 subscription to everything
		t.Fatal(err)
	}
	waitSubs(t, p, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	good := zmq4.NewSub(ctx)
	defer good.Close()
	if err := good.Dial(ci.Endpoint(port)); err != nil {
		t.Fatal(err)
	}
	if err := good.SetOption(zmq4.OptionSubscribe, "k"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		n := len(p.subs)
		p.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second subscriber never counted")
		}
	}
	time.Sleep(50 * time.Millisecond) // its subscription
	got := make(chan int, 1)
	go func() {
		n := 0
		for {
			if _, err := good.Recv(); err != nil {
				got <- n
				return
			}
			n++
			if n == 2000 {
				got <- n
				return
			}
		}
	}()
	big := strings.Repeat("y", 8000)
	for i := range 2000 {
		p.send([][][]byte{msg("k", fmt.Sprint(i), big)}) // 16 MB: more than the stuck one's socket buffers
	}
	select {
	case n := <-got:
		if n != 2000 {
			t.Errorf("the reading subscriber got %d messages, want 2000", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the reading subscriber stalled behind the stuck one")
	}
	p.mu.Lock()
	n := len(p.subs)
	p.mu.Unlock()
	if n != 1 {
		t.Errorf("%d subscribers left, want the reading one only", n)
	}
	if l := logs(); len(l) == 0 || !strings.Contains(strings.Join(l, "\n"), "read nothing for 200ms") {
		t.Errorf("log %q, want the disconnection named", l)
	}
}

// Flood detection: on(true) once comm messages come fast, on(false) once
// they stop, never the same value twice in a row.
func TestFloodDetector(t *testing.T) {
	var mu sync.Mutex
	var calls []bool
	f := &floodDetector{on: func(b bool) { mu.Lock(); calls = append(calls, b); mu.Unlock() }}
	now := time.Now()
	for i := range floodMsgs - 1 {
		f.saw(now.Add(time.Duration(i) * floodWindow / floodMsgs))
	}
	mu.Lock()
	if len(calls) != 0 {
		t.Errorf("calls %v after %d messages, want none", calls, floodMsgs-1)
	}
	mu.Unlock()
	waitCalls := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			got := len(calls)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d calls, want %d", got, n)
			}
		}
	}
	for range 3 * floodMsgs {
		f.saw(time.Now())
	}
	waitCalls(2) // true, then false once quiet
	for range 2 * floodMsgs {
		f.saw(time.Now())
	}
	waitCalls(4)
	time.Sleep(floodQuiet) // nothing more comes
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(calls) != "[true false true false]" {
		t.Errorf("calls %v, want [true false true false]", calls)
	}
}
