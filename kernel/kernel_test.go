package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/ferryml/ferry/wire"
)

// scriptEvaluator is a test double for the Go evaluator: each line of a cell
// is a command, so the protocol layer can be driven through every path.
type scriptEvaluator struct {
	out, errw io.Writer
	in        io.Reader
	k         *Kernel
}

func (e *scriptEvaluator) Eval(ctx context.Context, code string) (*Bundle, error) {
	var res *Bundle
	for _, line := range strings.Split(code, "\n") {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		res = nil
		switch cmd {
		case "print":
			fmt.Fprintln(e.out, arg)
		case "eprint":
			fmt.Fprintln(e.errw, arg)
		case "pause":
			time.Sleep(100 * time.Millisecond)
		case "block":
			<-ctx.Done()
			return nil, fmt.Errorf("stopped: %w", context.Cause(ctx))
		case "fail":
			return nil, &ExecError{Name: "TestError", Value: arg, Traceback: []string{"cell line 1: " + arg}}
		case "input":
			v, err := e.k.Input(arg, false)
			if err != nil {
				return nil, err
			}
			fmt.Fprintln(e.out, "got "+v)
		case "scan":
			var s string
			fmt.Fscanln(e.in, &s)
			fmt.Fprintln(e.out, "scanned "+s)
		case "display":
			e.k.Publish(map[string]any{"text/html": arg}, nil, "", false)
		case "result":
			res = &Bundle{Data: map[string]any{"text/plain": arg}}
		case "":
		default:
			return nil, &ExecError{Name: "Unknown", Value: cmd}
		}
	}
	return res, nil
}

func (e *scriptEvaluator) Complete(code string, cursor int) Completion {
	return Completion{Matches: []string{"print", "pause"}, CursorStart: 0, CursorEnd: cursor, Types: []string{"function", "function"}}
}

func (e *scriptEvaluator) Inspect(code string, cursor, detail int) (Bundle, bool) {
	if strings.HasPrefix(code, "print") {
		return Bundle{Data: map[string]any{"text/plain": "print ARG writes ARG"}}, true
	}
	return Bundle{}, false
}

func (e *scriptEvaluator) IsComplete(code string) (string, string) {
	if strings.HasSuffix(code, "{") {
		return "incomplete", "    "
	}
	return "complete", ""
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// client is a minimal Jupyter client over zmq4 for tests.
type client struct {
	t                     testing.TB
	signer                *wire.Signer
	session               string
	shell, control, stdin zmq4.Socket
	iopub                 zmq4.Socket
	iopubMsgs             chan *wire.Message
	stdinMsgs             chan *wire.Message
	shellMsgs             chan *wire.Message
	restarted             chan bool // what Run returned
}

func startKernel(t testing.TB, histPath string) (*Kernel, *client) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var k *Kernel
	var ci wire.ConnectionInfo
	// A free port can be taken by another process (other test packages
	// run in parallel) before the kernel binds it: try again with others.
	for attempt := 0; ; attempt++ {
		ci = wire.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", ShellPort: freePort(t), ControlPort: freePort(t), StdinPort: freePort(t), IOPubPort: freePort(t), HBPort: freePort(t), Key: "test-key", SignatureScheme: "hmac-sha256"}
		var err error
		k, err = New(ctx, Config{Conn: ci, HistoryPath: histPath, Version: "test", NewEvaluator: func(s Streams) (Evaluator, error) {
			return &scriptEvaluator{out: s.Stdout, errw: s.Stderr, in: s.Stdin, k: k}, nil
		}})
		if err == nil {
			break
		}
		if attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	restarted := make(chan bool, 1)
	go func() { defer close(done); r, _ := k.Run(ctx); restarted <- r }()
	t.Cleanup(func() { cancel(); <-done })

	signer, _ := wire.NewSigner("hmac-sha256", []byte(ci.Key))
	c := &client{t: t, restarted: restarted, signer: signer, session: wire.NewID(), iopubMsgs: make(chan *wire.Message, 1000), stdinMsgs: make(chan *wire.Message, 10), shellMsgs: make(chan *wire.Message, 100)}
	id := zmq4.SocketIdentity(c.session)
	c.shell = zmq4.NewDealer(ctx, zmq4.WithID(id))
	c.control = zmq4.NewDealer(ctx, zmq4.WithID(id))
	c.stdin = zmq4.NewDealer(ctx, zmq4.WithID(id))
	c.iopub = zmq4.NewSub(ctx)
	for _, d := range []struct {
		s    zmq4.Socket
		port int
	}{{c.shell, ci.ShellPort}, {c.control, ci.ControlPort}, {c.stdin, ci.StdinPort}, {c.iopub, ci.IOPubPort}} {
		if err := d.s.Dial(ci.Endpoint(d.port)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.s.Close() })
	}
	if err := c.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		t.Fatal(err)
	}
	go c.pump(c.iopub, c.iopubMsgs)
	go c.pump(c.stdin, c.stdinMsgs)
	go c.pump(c.shell, c.shellMsgs)
	// Wait until iopub is connected: PUB drops messages for absent subscribers.
	deadline := time.Now().Add(5 * time.Second)
	for {
		id := c.send(c.shell, "kernel_info_request", map[string]any{})
		if m := c.waitTimeout(c.iopubMsgs, id, "status", 200*time.Millisecond); m != nil {
			time.Sleep(50 * time.Millisecond)
			c.drain()
			return k, c
		}
		if time.Now().After(deadline) {
			t.Fatal("iopub never connected")
		}
	}
}

func (c *client) pump(s zmq4.Socket, ch chan *wire.Message) {
	for {
		raw, err := s.Recv()
		if err != nil {
			return
		}
		m, err := c.signer.Decode(raw.Frames)
		if err != nil {
			c.t.Errorf("client got a message it cannot decode: %v", err)
			continue
		}
		ch <- m
	}
}

func (c *client) send(s zmq4.Socket, msgType string, content any) string {
	c.t.Helper()
	return c.sendSigned(c.signer, s, msgType, content)
}

func (c *client) sendSigned(signer *wire.Signer, s zmq4.Socket, msgType string, content any) string {
	c.t.Helper()
	h := wire.Header{MsgID: wire.NewID(), Session: c.session, Username: "test", Date: wire.Now(), MsgType: msgType, Version: wire.ProtocolVersion}
	frames, err := signer.Encode(&wire.Message{Header: h, Content: mustJSON(content)})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := s.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		c.t.Fatal(err)
	}
	return h.MsgID
}

func (c *client) recv(ch chan *wire.Message, msgType string) *wire.Message {
	c.t.Helper()
	select {
	case m := <-ch:
		if m.Header.MsgType != msgType {
			c.t.Fatalf("got %s, want %s: %s", m.Header.MsgType, msgType, m.Content)
		}
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no %s within 5s", msgType)
	}
	return nil
}

func (c *client) waitTimeout(ch chan *wire.Message, parent, msgType string, d time.Duration) *wire.Message {
	timeout := time.After(d)
	for {
		select {
		case m := <-ch:
			if m.ParentHeader().MsgID == parent && m.Header.MsgType == msgType {
				return m
			}
		case <-timeout:
			return nil
		}
	}
}

func (c *client) drain() {
	for {
		select {
		case <-c.iopubMsgs:
		case <-c.shellMsgs:
		case <-time.After(20 * time.Millisecond):
			return
		}
	}
}

// iopubUntilIdle returns the iopub messages of request id, busy to idle.
func (c *client) iopubUntilIdle(id string) []*wire.Message {
	c.t.Helper()
	var out []*wire.Message
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-c.iopubMsgs:
			if m.ParentHeader().MsgID != id {
				continue
			}
			out = append(out, m)
			if m.Header.MsgType == "status" && strings.Contains(string(m.Content), "idle") {
				return out
			}
		case <-timeout:
			c.t.Fatalf("request %s never went idle; got %d messages", id, len(out))
		}
	}
}

func types(ms []*wire.Message) string {
	var s []string
	for _, m := range ms {
		t := m.Header.MsgType
		if t == "status" {
			var st struct {
				ExecutionState string `json:"execution_state"`
			}
			json.Unmarshal(m.Content, &st)
			t = st.ExecutionState
		}
		if t == "stream" {
			var st struct{ Name, Text string }
			json.Unmarshal(m.Content, &st)
			t = "stream:" + st.Name + ":" + strings.TrimSpace(st.Text)
		}
		s = append(s, t)
	}
	return strings.Join(s, " ")
}

func content(t *testing.T, m *wire.Message) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(m.Content, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (c *client) execute(code string, extra map[string]any) (reply *wire.Message, iopub []*wire.Message) {
	c.t.Helper()
	req := map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": true, "stop_on_error": true}
	for k, v := range extra {
		req[k] = v
	}
	id := c.send(c.shell, "execute_request", req)
	reply = c.recv(c.shellMsgs, "execute_reply")
	return reply, c.iopubUntilIdle(id)
}

func TestExecuteSequence(t *testing.T) {
	_, c := startKernel(t, "")
	for _, tc := range []struct {
		name, code string
		wantIOPub  string
		wantStatus string
	}{
		{"result", "result 42", "busy execute_input execute_result idle", "ok"},
		{"streams in order", "print a\neprint b\ndisplay <b>x</b>\nresult 1", "busy execute_input stream:stdout:a stream:stderr:b display_data execute_result idle", "ok"},
		{"error", "fail boom", "busy execute_input error idle", "error"},
		{"no result", "print z", "busy execute_input stream:stdout:z idle", "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply, io := c.execute(tc.code, nil)
			if got := types(io); got != tc.wantIOPub {
				t.Errorf("iopub: got %q, want %q", got, tc.wantIOPub)
			}
			if got := content(t, reply)["status"]; got != tc.wantStatus {
				t.Errorf("status: got %v, want %v", got, tc.wantStatus)
			}
			if reply.Header.Version != "5.4" {
				t.Errorf("version: got %q, want 5.4", reply.Header.Version)
			}
		})
	}
}

func TestExecutionCount(t *testing.T) {
	_, c := startKernel(t, "")
	r1, _ := c.execute("result 1", nil)
	r2, io := c.execute("result 2", map[string]any{"silent": true})
	r3, _ := c.execute("result 3", map[string]any{"store_history": false})
	r4, _ := c.execute("result 4", nil)
	var got []any
	for _, r := range []*wire.Message{r1, r2, r3, r4} {
		got = append(got, content(t, r)["execution_count"])
	}
	if fmt.Sprint(got) != "[1 1 1 2]" {
		t.Errorf("execution counts: got %v, want [1 1 1 2]", got)
	}
	if tt := types(io); tt != "busy idle" {
		t.Errorf("silent execute iopub: got %q, want %q", tt, "busy idle")
	}
}

func TestStopOnErrorAbortsQueued(t *testing.T) {
	_, c := startKernel(t, "")
	req := func(code string, stop bool) string {
		return c.send(c.shell, "execute_request", map[string]any{"code": code, "silent": false, "store_history": true, "allow_stdin": false, "stop_on_error": stop})
	}
	req("pause\nfail first", true)
	req("print second", true)
	req("print third", true)
	var statuses []any
	for range 3 {
		statuses = append(statuses, content(t, c.recv(c.shellMsgs, "execute_reply"))["status"])
	}
	if fmt.Sprint(statuses) != "[error aborted aborted]" {
		t.Errorf("statuses: got %v, want [error aborted aborted]", statuses)
	}
	// Without stop_on_error the queue runs on.
	req("pause\nfail first", false)
	req("print second", true)
	statuses = nil
	for range 2 {
		statuses = append(statuses, content(t, c.recv(c.shellMsgs, "execute_reply"))["status"])
	}
	if fmt.Sprint(statuses) != "[error ok]" {
		t.Errorf("statuses without stop_on_error: got %v, want [error ok]", statuses)
	}
}

func TestBadSignatureDropped(t *testing.T) {
	_, c := startKernel(t, "")
	forger, _ := wire.NewSigner("hmac-sha256", []byte("not-the-key"))
	c.sendSigned(forger, c.shell, "execute_request", map[string]any{"code": "print forged"})
	good := c.send(c.shell, "execute_request", map[string]any{"code": "print good"})
	reply := c.recv(c.shellMsgs, "execute_reply")
	if reply.ParentHeader().MsgID != good {
		t.Fatalf("first reply is to %s, want the good request %s", reply.ParentHeader().MsgID, good)
	}
	if io := types(c.iopubUntilIdle(good)); strings.Contains(io, "forged") {
		t.Errorf("forged code ran: %s", io)
	}
	select {
	case m := <-c.shellMsgs:
		t.Errorf("unexpected reply %s", m.Header.MsgType)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestInterrupt(t *testing.T) {
	_, c := startKernel(t, "")
	id := c.send(c.shell, "execute_request", map[string]any{"code": "block", "stop_on_error": true})
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	c.send(c.control, "interrupt_request", map[string]any{})
	reply := c.recv(c.shellMsgs, "execute_reply")
	if d := time.Since(start); d > time.Second {
		t.Errorf("interrupt took %v, want < 1s", d)
	}
	if got := content(t, reply)["status"]; got != "error" {
		t.Errorf("interrupted cell status: got %v, want error", got)
	}
	c.iopubUntilIdle(id)
	if r, _ := c.execute("result 7", nil); content(t, r)["status"] != "ok" {
		t.Errorf("kernel unusable after interrupt: %s", r.Content)
	}
}

func TestStdin(t *testing.T) {
	_, c := startKernel(t, "")
	for _, code := range []string{"input name", "scan"} {
		t.Run(code, func(t *testing.T) {
			id := c.send(c.shell, "execute_request", map[string]any{"code": code, "allow_stdin": true})
			req := c.recv(c.stdinMsgs, "input_request")
			if req.ParentHeader().MsgID != id {
				t.Errorf("input_request parent: got %s, want %s", req.ParentHeader().MsgID, id)
			}
			c.send(c.stdin, "input_reply", map[string]any{"value": "ferry"})
			c.recv(c.shellMsgs, "execute_reply")
			if got := types(c.iopubUntilIdle(id)); !strings.Contains(got, "ferry") {
				t.Errorf("iopub: got %q, want the input echoed", got)
			}
		})
	}
	t.Run("not allowed", func(t *testing.T) {
		r, _ := c.execute("input x", map[string]any{"allow_stdin": false})
		if got := content(t, r)["evalue"]; !strings.Contains(fmt.Sprint(got), "allow_stdin") {
			t.Errorf("evalue: got %v, want a message naming allow_stdin", got)
		}
	})
}

func TestShellRequests(t *testing.T) {
	_, c := startKernel(t, "")
	for _, tc := range []struct {
		msgType string
		content map[string]any
		check   func(map[string]any) bool
	}{
		{"kernel_info_request", nil, func(r map[string]any) bool {
			return r["protocol_version"] == "5.4" && r["language_info"].(map[string]any)["name"] == "go"
		}},
		{"complete_request", map[string]any{"code": "pr", "cursor_pos": 2}, func(r map[string]any) bool {
			return fmt.Sprint(r["matches"]) == "[print pause]" && r["cursor_end"] == 2.0
		}},
		{"inspect_request", map[string]any{"code": "print", "cursor_pos": 5, "detail_level": 0}, func(r map[string]any) bool {
			return r["found"] == true && r["data"].(map[string]any)["text/plain"] != nil
		}},
		{"is_complete_request", map[string]any{"code": "func f() {"}, func(r map[string]any) bool {
			return r["status"] == "incomplete" && r["indent"] == "    "
		}},
		{"comm_info_request", map[string]any{}, func(r map[string]any) bool { return r["status"] == "ok" && r["comms"] != nil }},
	} {
		t.Run(tc.msgType, func(t *testing.T) {
			if tc.content == nil {
				tc.content = map[string]any{}
			}
			id := c.send(c.shell, tc.msgType, tc.content)
			r := c.recv(c.shellMsgs, strings.TrimSuffix(tc.msgType, "_request")+"_reply")
			if r.ParentHeader().MsgID != id {
				t.Errorf("reply parent: got %s, want %s", r.ParentHeader().MsgID, id)
			}
			if rc := content(t, r); !tc.check(rc) {
				t.Errorf("unexpected reply: %s", r.Content)
			}
			if got := types(c.iopubUntilIdle(id)); got != "busy idle" {
				t.Errorf("iopub: got %q, want busy idle", got)
			}
		})
	}
	t.Run("pager", func(t *testing.T) {
		r, _ := c.execute("print?", nil)
		rc := content(t, r)
		p, _ := rc["payload"].([]any)
		if len(p) != 1 || p[0].(map[string]any)["source"] != "page" {
			t.Errorf("payload: got %v, want one page", rc["payload"])
		}
	})
}

func TestComms(t *testing.T) {
	k, c := startKernel(t, "")
	var mu sync.Mutex
	var got []string
	k.RegisterCommTarget("test.target", func(cm *Comm, open CommMsg) {
		mu.Lock()
		got = append(got, "open "+string(open.Data))
		mu.Unlock()
		cm.OnMsg(func(m CommMsg) {
			mu.Lock()
			got = append(got, "msg "+string(m.Data))
			mu.Unlock()
			cm.Send(map[string]any{"echo": json.RawMessage(m.Data)}, nil, m.Buffers)
		})
		cm.OnClose(func(CommMsg) { mu.Lock(); got = append(got, "close"); mu.Unlock() })
	})
	c.send(c.shell, "comm_open", map[string]any{"comm_id": "c1", "target_name": "test.target", "data": map[string]any{"a": 1}})
	time.Sleep(50 * time.Millisecond)
	id := c.send(c.shell, "comm_info_request", map[string]any{"target_name": "test.target"})
	r := c.recv(c.shellMsgs, "comm_info_reply")
	if comms := content(t, r)["comms"].(map[string]any); comms["c1"] == nil {
		t.Errorf("comm_info: got %v, want c1 listed", comms)
	}
	c.iopubUntilIdle(id)
	msgID := c.send(c.shell, "comm_msg", map[string]any{"comm_id": "c1", "data": map[string]any{"b": 2}})
	var echo *wire.Message
	for _, m := range c.iopubUntilIdle(msgID) {
		if m.Header.MsgType == "comm_msg" {
			echo = m
		}
	}
	if echo == nil || !strings.Contains(string(echo.Content), `"echo":{"b":2}`) {
		t.Errorf("no echo comm_msg parented to the request")
	}
	c.send(c.shell, "comm_close", map[string]any{"comm_id": "c1", "data": map[string]any{}})
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if want := `[open {"a":1} msg {"b":2} close]`; fmt.Sprint(got) != want {
		t.Errorf("handler calls: got %v, want %v", got, want)
	}
	if _, ok := k.Comm("c1"); ok {
		t.Error("comm c1 still registered after close")
	}
}

func TestHistoryPersists(t *testing.T) {
	p := filepath.Join(t.TempDir(), "history.jsonl")
	hist := func(c *client, req map[string]any) []any {
		t.Helper()
		c.send(c.shell, "history_request", req)
		return content(t, c.recv(c.shellMsgs, "history_reply"))["history"].([]any)
	}
	{
		k, c := startKernel(t, p)
		c.execute("result 1", nil)
		c.execute("print two", nil)
		c.execute("result 1", nil)
		if got := hist(c, map[string]any{"hist_access_type": "tail", "n": 2, "output": true}); fmt.Sprint(got) != "[[1 2 [print two <nil>]] [1 3 [result 1 1]]]" {
			t.Errorf("tail with output: got %v", got)
		}
		if got := hist(c, map[string]any{"hist_access_type": "search", "pattern": "res*", "unique": true}); len(got) != 1 {
			t.Errorf("unique search: got %v, want one entry", got)
		}
		k.history.close()
	}
	_, c := startKernel(t, p)
	c.execute("print again", nil)
	if got := hist(c, map[string]any{"hist_access_type": "range", "session": -1, "start": 2, "stop": 3}); fmt.Sprint(got) != "[[1 2 print two]]" {
		t.Errorf("range over the previous session: got %v", got)
	}
	if got := hist(c, map[string]any{"hist_access_type": "range", "session": 0, "start": 1}); fmt.Sprint(got) != "[[2 1 print again]]" {
		t.Errorf("range over this session: got %v", got)
	}
	if got := hist(c, map[string]any{"hist_access_type": "search", "pattern": "*two*"}); fmt.Sprint(got) != "[[1 2 print two]]" {
		t.Errorf("search: got %v", got)
	}
}

func TestShutdown(t *testing.T) {
	for _, restart := range []bool{false, true} {
		_, c := startKernel(t, "")
		id := c.send(c.control, "shutdown_request", map[string]any{"restart": restart})
		if r := c.waitTimeout(c.iopubMsgs, id, "shutdown_reply", 5*time.Second); r == nil {
			t.Fatal("no shutdown_reply on iopub")
		}
		select {
		case got := <-c.restarted:
			if got != restart {
				t.Errorf("Run returned restart=%v, want %v", got, restart)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after shutdown_request")
		}
	}
}

// A big history file is moved aside and started afresh with the latest
// entries; memory holds at most about historyKeep entries.
func TestHistoryRotates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "history.jsonl")
	big := strings.Repeat("x", 500)
	var lines []byte
	n := historyRotateBytes/500 + 10 // more than historyKeep entries, more than historyRotateBytes
	for i := 1; i <= n; i++ {
		b, _ := json.Marshal(historyEntry{Session: 1 + i/1000, Line: i, Input: fmt.Sprint(i, big)})
		lines = append(append(lines, b...), '\n')
	}
	if err := os.WriteFile(p, lines, 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := openHistory(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.entries) > 2*historyKeep || h.entries[len(h.entries)-1].Line != n {
		t.Errorf("%d entries in memory ending at line %d, want at most %d ending at %d", len(h.entries), h.entries[len(h.entries)-1].Line, 2*historyKeep, n)
	}
	if want := 1 + n/1000 + 1; h.session != want {
		t.Errorf("session %d, want %d", h.session, want)
	}
	h.add(1, "after rotation")
	h.close()
	old, err := os.ReadFile(p + ".1")
	if err != nil || !bytes.Equal(old, lines) {
		t.Errorf("moved file: %d bytes, err %v; want the %d bytes written", len(old), err, len(lines))
	}
	h2, err := openHistory(p)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.close()
	last := h2.entries[len(h2.entries)-1]
	if len(h2.entries) != historyKeep+1 || last.Input != "after rotation" || h2.entries[0].Line != n-historyKeep+1 {
		t.Errorf("new file: %d entries, first line %d, last %+v; want %d ending with the one added", len(h2.entries), h2.entries[0].Line, last.Input, historyKeep+1)
	}
	if _, err := os.Stat(p + ".1"); err != nil {
		t.Error(err)
	}
}
