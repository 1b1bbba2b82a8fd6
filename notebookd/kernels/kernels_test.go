package kernels

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ferryml/ferry/wire"
)

var (
	ferrySpecDir string // "" when the ferry binary could not be built
	buildErr     string
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	tmp, err := os.MkdirTemp("", "kernels-test")
	if err != nil {
		panic(err)
	}
	bin := filepath.Join(tmp, "ferry")
	out, err := exec.Command("go", "build", "-o", tmp+"/", "github.com/ferryml/ferry/cmd/ferry", "github.com/ferryml/ferry/cmd/ferry-kernel").CombinedOutput()
	if err == nil {
		out, err = exec.Command(bin, "kernelspec", "install", "--prefix", filepath.Join(tmp, "p")).CombinedOutput()
	}
	if err == nil {
		ferrySpecDir = filepath.Join(tmp, "p", "share", "jupyter", "kernels")
	} else {
		buildErr = fmt.Sprintf("%v: %s", err, out)
	}
	heartbeatInterval = 500 * time.Millisecond
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newManager(t *testing.T, dirs []string, opts Options) *Manager {
	t.Helper()
	opts.SpecDirs = dirs
	opts.RuntimeDir = t.TempDir()
	opts.Logger = testLogger(t)
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return m
}

func needFerry(t *testing.T) {
	t.Helper()
	if ferrySpecDir == "" {
		t.Skip("cmd/ferry does not build: " + buildErr)
	}
}

// wsClient is a test websocket client of a kernel.
type wsClient struct {
	t       *testing.T
	ws      *websocket.Conn
	v1      bool
	session string
}

func dial(t *testing.T, srv *httptest.Server, id, session string, v1 bool) *wsClient {
	t.Helper()
	d := websocket.Dialer{}
	if v1 {
		d.Subprotocols = []string{V1Subprotocol}
	}
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/kernels/" + id + "/channels?session_id=" + session + "&123"
	ws, resp, err := d.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); (got == V1Subprotocol) != v1 {
		t.Fatalf("subprotocol %q, v1=%v", got, v1)
	}
	c := &wsClient{t: t, ws: ws, v1: v1, session: session}
	t.Cleanup(func() { ws.Close() })
	return c
}

func (c *wsClient) send(channel, msgType string, content any) string {
	c.t.Helper()
	id := wire.NewID()
	h, _ := json.Marshal(wire.Header{MsgID: id, Session: c.session, Username: "test", Date: wire.Now(), MsgType: msgType, Version: "5.4"})
	b, _ := json.Marshal(content)
	m := &msg{channel: channel, header: h, parent: []byte("{}"), metadata: []byte("{}"), content: b}
	if err := m.parse(); err != nil {
		c.t.Fatal(err)
	}
	var err error
	if c.v1 {
		err = c.ws.WriteMessage(websocket.BinaryMessage, encodeV1(m))
	} else {
		_, raw := encodeLegacy(m)
		err = c.ws.WriteMessage(websocket.TextMessage, raw)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

func (c *wsClient) recv(timeout time.Duration) (*msg, error) {
	c.ws.SetReadDeadline(time.Now().Add(timeout))
	typ, b, err := c.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	if c.v1 {
		if typ != websocket.BinaryMessage {
			return nil, fmt.Errorf("v1 got a text frame")
		}
		return decodeV1(b)
	}
	m, err := decodeLegacy(typ == websocket.BinaryMessage, b)
	if err == nil {
		var l struct{ Channel string }
		json.Unmarshal(b, &l)
	}
	return m, err
}

// until reads messages until pred holds, returning all read.
func (c *wsClient) until(timeout time.Duration, pred func(*msg) bool) []*msg {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var got []*msg
	for {
		m, err := c.recv(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for a message: %v (got %s)", err, summary(got))
		}
		got = append(got, m)
		if pred(m) {
			return got
		}
	}
}

func summary(ms []*msg) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.channel+":"+m.msgType+":"+string(m.content))
	}
	return strings.Join(s, "\n")
}

func isReply(id, typ string) func(*msg) bool {
	return func(m *msg) bool {
		var p struct {
			MsgID string `json:"msg_id"`
		}
		json.Unmarshal(m.parent, &p)
		return m.msgType == typ && p.MsgID == id
	}
}

func isStatus(state string) func(*msg) bool {
	return func(m *msg) bool {
		return m.msgType == "status" && strings.Contains(string(m.content), `"`+state+`"`)
	}
}

func execute(c *wsClient, code string) (result string, all []*msg) {
	c.t.Helper()
	id := c.send("shell", "execute_request", map[string]any{"code": code, "silent": false, "store_history": true,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true})
	var gotReply, gotIdle bool
	all = c.until(30*time.Second, func(m *msg) bool {
		var p struct {
			MsgID string `json:"msg_id"`
		}
		json.Unmarshal(m.parent, &p)
		if p.MsgID != id {
			return false
		}
		switch {
		case m.msgType == "execute_result":
			var r struct {
				Data map[string]any `json:"data"`
			}
			json.Unmarshal(m.content, &r)
			result, _ = r.Data["text/plain"].(string)
		case m.msgType == "execute_reply":
			gotReply = true
		case m.msgType == "error":
			result = "error:" + string(m.content)
		case isStatus("idle")(m):
			gotIdle = true
		}
		return gotReply && gotIdle
	})
	return result, all
}

func server(m *Manager) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/")
		m.ServeChannels(w, r, parts[3])
	}))
	return srv
}

func TestSpecs(t *testing.T) {
	needFerry(t)
	m := newManager(t, []string{ferrySpecDir, "/nonexistent"}, Options{})
	specs, def := m.Specs()
	if def != "ferry" || specs["ferry"] == nil {
		t.Fatalf("specs %v default %q", specs, def)
	}
	ks := specs["ferry"]
	if ks.Resources["logo-64x64"] != "/kernelspecs/ferry/logo-64x64.png" || ks.Resources["logo-svg"] == "" {
		t.Errorf("resources %v", ks.Resources)
	}
	if ks.Spec["interrupt_mode"] != "message" {
		t.Errorf("spec %v", ks.Spec)
	}
	if p, ok := m.SpecResource("ferry", "logo-32x32.png"); !ok || !strings.HasPrefix(p, ferrySpecDir) {
		t.Errorf("SpecResource %q %v", p, ok)
	}
	for _, f := range []string{"kernel.json", "../ferry/logo-32x32.png", "logo-nope.png"} {
		if _, ok := m.SpecResource("ferry", f); ok {
			t.Errorf("SpecResource(%q) served", f)
		}
	}
	if _, err := m.Start(context.Background(), "nope", ""); err == nil || !strings.Contains(err.Error(), "no such kernel") {
		t.Errorf("start unknown: %v", err)
	}
}

func TestFerryKernel(t *testing.T) {
	needFerry(t)
	m := newManager(t, []string{ferrySpecDir}, Options{})
	ctx := context.Background()
	t0 := time.Now()
	km, err := m.Start(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %v", time.Since(t0))
	if km.Name != "ferry" || km.ExecutionState != "idle" || km.Connections != 0 {
		t.Errorf("model %+v", km)
	}
	k, _ := m.lookup(km.ID)
	fi, err := os.Stat(k.connFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("connection file: %v %v", fi, err)
	}
	srv := server(m)
	defer srv.Close()

	t.Run("v1", func(t *testing.T) {
		c := dial(t, srv, km.ID, "s-v1", true)
		if r, all := execute(c, "1+1"); r != "2" {
			t.Fatalf("result %q\n%s", r, summary(all))
		}
	})
	t.Run("legacy", func(t *testing.T) {
		c := dial(t, srv, km.ID, "s-legacy", false)
		if r, all := execute(c, "1+1"); r != "2" {
			t.Fatalf("result %q\n%s", r, summary(all))
		}
	})
	t.Run("two clients", func(t *testing.T) {
		a := dial(t, srv, km.ID, "s-a", true)
		b := dial(t, srv, km.ID, "s-b", false)
		waitFor(t, func() bool { md, _ := m.Get(km.ID); return md.Connections == 2 })
		r, _ := execute(a, `"from a"`)
		if !strings.Contains(r, "from a") {
			t.Fatalf("result %q", r)
		}
		// b sees a's iopub (the execute_input and result) but not the reply.
		got := b.until(10*time.Second, func(m *msg) bool { return m.msgType == "execute_result" })
		for _, m := range got {
			if m.channel != "iopub" {
				t.Errorf("b got %s %s", m.channel, m.msgType)
			}
		}
		// b's own request is answered to b only.
		id := b.send("shell", "kernel_info_request", map[string]any{})
		b.until(10*time.Second, isReply(id, "kernel_info_reply"))
		r2, _ := execute(a, "2+2")
		if r2 != "4" {
			t.Fatalf("a result %q", r2)
		}
	})
	t.Run("replay", func(t *testing.T) {
		a := dial(t, srv, km.ID, "s-replay", true)
		execute(a, "x := 40")
		a.ws.Close()
		waitFor(t, func() bool { md, _ := m.Get(km.ID); return md.Connections == 0 })
		other := dial(t, srv, km.ID, "s-other", true)
		if r, _ := execute(other, "x + 2"); r != "42" {
			t.Fatalf("result %q", r)
		}
		other.ws.Close()
		a = dial(t, srv, km.ID, "s-replay", true)
		got := a.until(5*time.Second, func(m *msg) bool {
			return m.msgType == "execute_result" && strings.Contains(string(m.content), "42")
		})
		t.Logf("replayed %d messages", len(got))
	})
	t.Run("interrupt", func(t *testing.T) {
		c := dial(t, srv, km.ID, "s-int", true)
		id := c.send("shell", "execute_request", map[string]any{"code": "for {}", "silent": false, "store_history": false,
			"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true})
		c.until(10*time.Second, isStatus("busy"))
		time.Sleep(200 * time.Millisecond)
		if err := m.Interrupt(ctx, km.ID); err != nil {
			t.Fatal(err)
		}
		c.until(10*time.Second, isReply(id, "execute_reply"))
		// The kernel aborts requests that arrive right after an error
		// (stop_on_error), like ipykernel: try again then.
		r, all := execute(c, "1+2")
		for i := 0; i < 10 && r == "" && strings.Contains(summary(all), `"aborted"`); i++ {
			time.Sleep(100 * time.Millisecond)
			r, all = execute(c, "1+2")
		}
		if r != "3" {
			t.Fatalf("after interrupt: %q\n%s", r, summary(all))
		}
	})
	t.Run("restart", func(t *testing.T) {
		c := dial(t, srv, km.ID, "s-restart", true)
		waitFor(t, func() bool { md, _ := m.Get(km.ID); return md.Connections == 1 })
		oldPid := k.pid()
		md, err := m.Restart(ctx, km.ID)
		if err != nil {
			t.Fatal(err)
		}
		if md.ID != km.ID || k.pid() == oldPid {
			t.Fatalf("restart: %+v pid %d→%d", md, oldPid, k.pid())
		}
		c.until(5*time.Second, isStatus("starting"))
		if r, _ := execute(c, "3+3"); r != "6" {
			t.Fatalf("after restart: %q", r)
		}
		if err := syscall.Kill(oldPid, 0); err == nil {
			t.Errorf("old kernel %d still runs", oldPid)
		}
	})
	t.Run("kill -9", func(t *testing.T) {
		c := dial(t, srv, km.ID, "s-kill", false)
		waitFor(t, func() bool { md, _ := m.Get(km.ID); return md.Connections == 1 })
		oldPid := k.pid()
		syscall.Kill(oldPid, syscall.SIGKILL)
		c.until(10*time.Second, isStatus("restarting"))
		c.until(30*time.Second, isStatus("idle"))
		if k.pid() == oldPid {
			t.Fatal("pid unchanged")
		}
		if r, _ := execute(c, "4+4"); r != "8" {
			t.Fatalf("after kill: %q", r)
		}
	})
	t.Run("hung", func(t *testing.T) {
		// A stopped kernel misses heartbeats, is killed and restarted.
		c := dial(t, srv, km.ID, "s-hung", true)
		waitFor(t, func() bool { md, _ := m.Get(km.ID); return md.Connections == 1 })
		oldPid := k.pid()
		syscall.Kill(oldPid, syscall.SIGSTOP)
		c.until(15*time.Second, isStatus("restarting"))
		c.until(30*time.Second, isStatus("idle"))
		if r, _ := execute(c, "5+5"); r != "10" || k.pid() == oldPid {
			t.Fatalf("after hang: %q", r)
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		c := dial(t, srv, km.ID, "s-shut", true)
		pid := k.pid()
		if err := m.Shutdown(ctx, km.ID); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
			t.Errorf("process group %d: %v", pid, err)
		}
		if _, err := os.Stat(k.connFile); !os.IsNotExist(err) {
			t.Errorf("connection file: %v", err)
		}
		if _, err := m.Get(km.ID); err == nil {
			t.Error("kernel still listed")
		}
		if _, err := c.recv(5 * time.Second); err == nil {
			for {
				if _, err := c.recv(5 * time.Second); err != nil {
					break
				}
			}
		}
		if len(m.List()) != 0 {
			t.Error("List not empty")
		}
	})
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if f() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

func TestIPyKernel(t *testing.T) {
	if _, err := os.Stat("/usr/share/jupyter/kernels/python3/kernel.json"); err != nil {
		t.Skip("no python3 kernelspec")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import ipykernel").Run(); err != nil {
		t.Skip("no ipykernel")
	}
	m := newManager(t, []string{"/usr/share/jupyter/kernels"}, Options{})
	ctx := context.Background()
	km, err := m.Start(ctx, "python3", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := server(m)
	defer srv.Close()
	c := dial(t, srv, km.ID, "s-py", false)
	if r, all := execute(c, "1+1"); r != "2" {
		t.Fatalf("result %q\n%s", r, summary(all))
	}
	c1 := dial(t, srv, km.ID, "s-py1", true)
	if r, _ := execute(c1, "1+1"); r != "2" {
		t.Fatalf("v1 result %q", r)
	}
	// Interrupt by SIGINT (ipykernel's interrupt_mode is "signal").
	id := c.send("shell", "execute_request", map[string]any{"code": "import time; time.sleep(30)", "silent": false,
		"store_history": false, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true})
	c.until(10*time.Second, isStatus("busy"))
	time.Sleep(300 * time.Millisecond)
	if err := m.Interrupt(ctx, km.ID); err != nil {
		t.Fatal(err)
	}
	got := c.until(10*time.Second, isReply(id, "execute_reply"))
	if !strings.Contains(summary(got), "KeyboardInterrupt") {
		t.Errorf("no KeyboardInterrupt:\n%s", summary(got))
	}
	// Binary buffers through the legacy protocol: a comm message with a buffer is
	// not easy to provoke without ipywidgets; the wire tests cover the format.
	k, _ := m.lookup(km.ID)
	pid := k.pid()
	if err := m.Shutdown(ctx, km.ID); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
		t.Errorf("process group %d: %v", pid, err)
	}
}

func TestBadSignatureDropped(t *testing.T) {
	m := newManager(t, nil, Options{})
	k := &kern{m: m, id: "k", sign: newSigner("secret"), session: "mgr", clients: map[*client]struct{}{},
		replay: map[string]*replayBuf{}}
	c, peer := pipeClient(t, k, "s", Limits{})
	good := &msg{channel: "iopub", header: []byte(`{"msg_id":"1","msg_type":"stream","session":"kern"}`),
		parent: []byte(`{"session":"s"}`), metadata: []byte("{}"), content: []byte(`{"name":"stdout","text":"hi"}`)}
	frames := k.sign.encode(good)
	k.fromKernel(nil, "iopub", frames)
	bad := append([][]byte(nil), frames...)
	bad[1] = bytes.Repeat([]byte("0"), 64)
	k.fromKernel(nil, "iopub", bad)
	other := newSigner("other").encode(good)
	k.fromKernel(nil, "iopub", other)
	// A reply for another session is not routed to c; one for the manager neither.
	r := *good
	r.channel, r.parent, r.header = "shell", []byte(`{"session":"x"}`), []byte(`{"msg_id":"2","msg_type":"execute_reply","session":"kern"}`)
	k.fromKernel(nil, "shell", k.sign.encode(&r))
	r.parent = []byte(`{"session":"mgr"}`)
	k.fromKernel(nil, "shell", k.sign.encode(&r))
	r.parent = []byte(`{"session":"s"}`)
	k.fromKernel(nil, "shell", k.sign.encode(&r))
	c.close()
	var got []string
	for _, m := range readAll(t, peer) {
		got = append(got, m.channel+":"+m.msgType)
	}
	if want := []string{"iopub:stream", "shell:execute_reply"}; !slices.Equal(got, want) {
		t.Fatalf("client got %q, want %q (only the well-signed messages for its session)", got, want)
	}
}

func TestWireFormats(t *testing.T) {
	m := &msg{channel: "shell", header: []byte(`{"msg_id":"a","msg_type":"comm_msg","session":"s","subshell_id":null}`),
		parent: []byte(`{}`), metadata: []byte(`{}`), content: []byte(`{"data":{}}`), buffers: [][]byte{[]byte("buf1"), {}, []byte("b3")}}
	m.parse()
	b := encodeV1(m)
	// Python: offset_number=8 (channel, 4 parts, 3 buffers, end), first offset 8*9.
	if n := b[0]; n != 9 {
		t.Fatalf("offset count %d", n)
	}
	got, err := decodeV1(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.channel != "shell" || !bytes.Equal(got.header, m.header) || len(got.buffers) != 3 || string(got.buffers[2]) != "b3" {
		t.Fatalf("v1 round trip: %+v", got)
	}
	bin, lb := encodeLegacy(m)
	if !bin {
		t.Fatal("legacy with buffers must be binary")
	}
	got, err = decodeLegacy(true, lb)
	if err != nil {
		t.Fatal(err)
	}
	if got.channel != "shell" || got.msgType != "comm_msg" || len(got.buffers) != 3 || string(got.buffers[0]) != "buf1" {
		t.Fatalf("legacy round trip: %+v", got)
	}
	m.buffers = nil
	if bin, _ := encodeLegacy(m); bin {
		t.Fatal("legacy without buffers must be text")
	}
	for _, junk := range [][]byte{nil, {1, 2}, bytes.Repeat([]byte{0xff}, 40)} {
		if _, err := decodeV1(junk); err == nil {
			t.Errorf("decodeV1(%x) accepted", junk)
		}
		if _, err := decodeLegacy(true, junk); err == nil {
			t.Errorf("decodeLegacy(%x) accepted", junk)
		}
	}
}

func TestCull(t *testing.T) {
	needFerry(t)
	m := newManager(t, []string{ferrySpecDir}, Options{CullIdle: 300 * time.Millisecond, CullInterval: 100 * time.Millisecond})
	km, err := m.Start(context.Background(), "ferry", "")
	if err != nil {
		t.Fatal(err)
	}
	k, _ := m.lookup(km.ID)
	pid := k.pid()
	for i := 0; i < 100 && len(m.List()) > 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if len(m.List()) != 0 {
		t.Fatal("idle kernel not culled")
	}
	if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
		t.Errorf("process group %d: %v", pid, err)
	}
}

// TestStartRetriesEarlyExit: a kernel that exits before it is ready (as
// one does when another process took one of its ports between the pick and
// its bind) is launched again with fresh ports.
func TestStartRetriesEarlyExit(t *testing.T) {
	needFerry(t)
	raw, err := os.ReadFile(filepath.Join(ferrySpecDir, "ferry", "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	argv := spec["argv"].([]any)
	bin := argv[0].(string)
	marker := filepath.Join(t.TempDir(), "tried")
	// The first launch records its ports and exits 1; the second runs the
	// kernel.
	spec["argv"] = []any{"/bin/sh", "-c",
		`if [ ! -e "$1" ]; then cp "$2" "$1"; exit 1; fi; exec "$0" kernel -f "$2"`,
		bin, marker, "{connection_file}"}
	dir := filepath.Join(t.TempDir(), "kernels")
	if err := os.MkdirAll(filepath.Join(dir, "flaky"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "flaky", "kernel.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, []string{dir}, Options{})
	km, err := m.Start(t.Context(), "flaky", "")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	first, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("the first launch did not run: %v", err)
	}
	var c1 wire.ConnectionInfo
	if err := json.Unmarshal(first, &c1); err != nil {
		t.Fatal(err)
	}
	k, _ := m.lookup(km.ID)
	if c2 := k.conn; c2.ShellPort == c1.ShellPort && c2.IOPubPort == c1.IOPubPort {
		t.Errorf("second launch reused the ports of the first: %+v", c2)
	}
	srv := server(m)
	defer srv.Close()
	c := dial(t, srv, km.ID, "s", true)
	if r, all := execute(c, "1+1"); r != "2" {
		t.Fatalf("result %q\n%s", r, summary(all))
	}
}
