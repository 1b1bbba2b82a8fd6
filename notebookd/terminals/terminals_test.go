package terminals_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ferryml/ferry/notebookd"
	"github.com/ferryml/ferry/notebookd/contents"
	"github.com/ferryml/ferry/notebookd/kernels"
	"github.com/ferryml/ferry/notebookd/terminals"
)

const token = "terminals-test-token"

// env is a real notebook server with real terminals over a temporary root.
type env struct {
	t    *testing.T
	root string // symlinks resolved
	base string // "/" or "/prefix/"
	tm   *terminals.Manager
	ts   *httptest.Server
}

// testShell is bash without startup files when there is one, else sh.
func testShell() []string {
	if _, err := os.Stat("/bin/bash"); err == nil {
		return []string{"/bin/bash", "--norc", "--noprofile"}
	}
	return []string{"/bin/sh"}
}

func newEnv(t *testing.T, mod func(*notebookd.Config)) *env {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	cm, err := contents.New(root, contents.Options{})
	if err != nil {
		t.Fatal(err)
	}
	km, err := kernels.New(kernels.Options{SpecDirs: []string{t.TempDir()}, RuntimeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = km.Close(context.Background()) })
	tm, err := terminals.New(terminals.Options{Shell: testShell(), Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	cfg := notebookd.Config{Contents: cm, Kernels: km, Terminals: tm, Token: token, DataDir: t.TempDir()}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := notebookd.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	// Runs before ts.Close: the terminals' websockets end first.
	t.Cleanup(func() {
		if err := tm.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	base := "/" + strings.Trim(cfg.BaseURL, "/") + "/"
	if base == "//" {
		base = "/"
	}
	return &env{t: t, root: root, base: base, tm: tm, ts: ts}
}

// do sends an API request with the token; path is below the base URL.
func (e *env) do(method, path, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// create creates a terminal through the API and returns its name.
func (e *env) create(body string) string {
	e.t.Helper()
	status, resp := e.do("POST", "api/terminals", body)
	if status != http.StatusOK {
		e.t.Fatalf("POST /api/terminals %s: %d %s, want 200", body, status, resp)
	}
	var m notebookd.TerminalModel
	if err := json.Unmarshal([]byte(resp), &m); err != nil {
		e.t.Fatalf("POST /api/terminals: %v in %s", err, resp)
	}
	return m.Name
}

func (e *env) model(name string) notebookd.TerminalModel {
	e.t.Helper()
	status, body := e.do("GET", "api/terminals/"+name, "")
	var m notebookd.TerminalModel
	if err := json.Unmarshal([]byte(body), &m); status != 200 || err != nil {
		e.t.Fatalf("GET /api/terminals/%s: %d %s (%v)", name, status, body, err)
	}
	return m
}

func (e *env) wsURL(name string) string {
	return "ws" + strings.TrimPrefix(e.ts.URL, "http") + e.base + "terminals/websocket/" + name
}

// term is a websocket client of a terminal.
type term struct {
	t   *testing.T
	c   *websocket.Conn
	out string // stdout received and not yet consumed by until
	all string // all stdout received
}

// attach connects to terminal name and checks that ["setup", {}] comes
// first.
func (e *env) attach(name string) *term {
	e.t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(name)+"?token="+token, nil)
	if err != nil {
		e.t.Fatalf("websocket to terminal %s: %v (%v)", name, err, resp)
	}
	e.t.Cleanup(func() { c.Close() })
	if d, ok := e.t.Deadline(); ok {
		_ = c.SetReadDeadline(d.Add(-5 * time.Second)) // a hang fails the test, not the binary
	}
	tc := &term{t: e.t, c: c}
	typ, arg := tc.next()
	if typ != "setup" || string(arg) != "{}" {
		e.t.Fatalf("first message [%q, %s], want [\"setup\", {}]", typ, arg)
	}
	return tc
}

// next reads one message [typ, arg].
func (c *term) next() (string, json.RawMessage) {
	c.t.Helper()
	mt, b, err := c.c.ReadMessage()
	if err != nil {
		c.t.Fatalf("reading the terminal websocket: %v (output so far %q)", err, c.out)
	}
	var msg []json.RawMessage
	var typ string
	if mt != websocket.TextMessage || json.Unmarshal(b, &msg) != nil || len(msg) != 2 || json.Unmarshal(msg[0], &typ) != nil {
		c.t.Fatalf("message %s is not a text frame [type, arg]", b)
	}
	return typ, msg[1]
}

func (c *term) send(typ string, args ...any) {
	c.t.Helper()
	if err := c.c.WriteJSON(append([]any{typ}, args...)); err != nil {
		c.t.Fatal(err)
	}
}

// until reads output until it matches re and returns the submatches; the
// output up to the match is consumed.
func (c *term) until(re *regexp.Regexp) []string {
	c.t.Helper()
	for {
		if loc := re.FindStringSubmatchIndex(c.out); loc != nil {
			m := re.FindStringSubmatch(c.out)
			c.out = c.out[loc[1]:]
			return m
		}
		typ, arg := c.next()
		if typ != "stdout" {
			c.t.Fatalf("got [%q, %s] while waiting for %q in %q", typ, arg, re, c.out)
		}
		var s string
		if err := json.Unmarshal(arg, &s); err != nil {
			c.t.Fatal(err)
		}
		c.out += s
		c.all += s
	}
}

func (c *term) untilText(s string) { c.t.Helper(); c.until(regexp.MustCompile(regexp.QuoteMeta(s))) }

// disconnected reads until ["disconnect", 1], then expects the close.
func (c *term) disconnected() {
	c.t.Helper()
	for {
		typ, arg := c.next()
		if typ == "stdout" {
			continue
		}
		if typ != "disconnect" || string(arg) != "1" {
			c.t.Fatalf("got [%q, %s], want [\"disconnect\", 1]", typ, arg)
		}
		break
	}
	if _, _, err := c.c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		c.t.Errorf("after disconnect: %v, want a normal close", err)
	}
}

// pids runs `echo` in the shell and returns the pids it printed: $$ and
// those of extra.
func (c *term) pids(cmd string, vars ...string) []int {
	c.t.Helper()
	c.send("stdin", cmd+"; echo PIDS $$ "+strings.Join(vars, " ")+" END\r")
	re := regexp.MustCompile(`PIDS (\d+)` + strings.Repeat(` (\d+)`, len(vars)) + ` END`)
	var out []int
	for _, s := range c.until(re)[1:] {
		n, _ := strconv.Atoi(s)
		out = append(out, n)
	}
	return out
}

// gone reports whether pid has exited (a zombie counts as exited).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && strings.HasPrefix(string(b[i+1:]), " Z")
}

// waitGone waits until pid has exited; init reaps orphans when it will.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for !gone(pid) {
		if d, ok := t.Deadline(); ok && time.Until(d) < 5*time.Second {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	if status, body := e.do("GET", "api/terminals", ""); status != 200 || body != "[]" {
		t.Errorf("GET /api/terminals before: %d %s, want 200 []", status, body)
	}
	name := e.create("")
	if name != "1" {
		t.Errorf("first terminal %q, want 1", name)
	}
	if got := e.create(`{}`); got != "2" {
		t.Errorf("second terminal %q, want 2", got)
	}
	status, body := e.do("GET", "api/terminals", "")
	var list []notebookd.TerminalModel
	if err := json.Unmarshal([]byte(body), &list); status != 200 || err != nil || len(list) != 2 || list[0].Name != "1" || list[1].Name != "2" || list[0].LastActivity.IsZero() {
		t.Errorf("GET /api/terminals: %d %s", status, body)
	}
	if status, body := e.do("POST", "api/terminals", `{"name":"1"}`); status != http.StatusConflict {
		t.Errorf("POST an existing name: %d %s, want 409", status, body)
	}
	if got := e.create(`{"name":"named"}`); got != "named" {
		t.Errorf("named terminal %q", got)
	}

	c := e.attach(name)
	c.send("stdin", `echo "h""i"`+"\r")
	c.until(regexp.MustCompile(`[\r\n]hi\r\n`)) // the echo of the command line shows "h""i"

	if status, body := e.do("DELETE", "api/terminals/"+name, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	c.disconnected()
	if status, body := e.do("GET", "api/terminals/"+name, ""); status != 404 || !strings.Contains(body, `"reason"`) {
		t.Errorf("GET after DELETE: %d %s, want a 404 JSON error", status, body)
	}
	if got := e.create(""); got != "1" {
		t.Errorf("after deleting 1, a new terminal is %q, want 1", got)
	}
}

func TestUnknownTerminal(t *testing.T) {
	e := newEnv(t, nil)
	for _, method := range []string{"GET", "DELETE"} {
		status, body := e.do(method, "api/terminals/99", "")
		var got struct{ Message, Reason string }
		if err := json.Unmarshal([]byte(body), &got); status != 404 || err != nil || got.Message != "Terminal not found: 99" || got.Reason != "Not Found" {
			t.Errorf("%s /api/terminals/99: %d %s", method, status, body)
		}
	}
	_, resp, err := websocket.DefaultDialer.Dial(e.wsURL("99")+"?token="+token, nil)
	if err == nil || resp == nil || resp.StatusCode != 404 {
		t.Errorf("websocket to a missing terminal: %v %v, want 404", err, resp)
	}
	if status, body := e.do("PUT", "api/terminals/1", ""); status != 405 && status != 404 {
		t.Errorf("PUT: %d %s", status, body)
	}
	if status, body := e.do("POST", "api/terminals", `{"name":"../x"}`); status != 400 {
		t.Errorf("POST a bad name: %d %s, want 400", status, body)
	}
}

func TestSetSize(t *testing.T) {
	e := newEnv(t, nil)
	name := e.create("")
	a := e.attach(name)
	a.send("set_size", 33, 101, 600, 900)
	a.send("stdin", "stty size\r")
	a.untilText("33 101\r\n")

	// The pty takes the smallest size of its clients, as in terminado.
	b := e.attach(name)
	b.send("set_size", 40, 90, 700, 800)
	b.send("stdin", "stty size\r")
	b.untilText("33 90\r\n")
}

func TestTwoClients(t *testing.T) {
	e := newEnv(t, nil)
	name := e.create("")
	a, b := e.attach(name), e.attach(name)
	a.send("stdin", "echo $((6*7))x\r")
	a.untilText("42x")
	b.untilText("42x")
	b.send("stdin", "echo $((7*7))y\r")
	a.untilText("49y")
	b.untilText("49y")
}

func TestReplayOnAttach(t *testing.T) {
	e := newEnv(t, nil)
	name := e.create("")
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	a := e.attach(name)
	a.send("stdin", "echo ready-$((1+1)); cat "+fifo+"\r")
	a.untilText("ready-2\r\n")
	a.c.Close()
	// From here on the shell writes only what cat reads from the fifo.
	before := e.model(name).LastActivity

	f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once cat reads it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "detached-output\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for !e.model(name).LastActivity.After(before) { // the output was read
		time.Sleep(10 * time.Millisecond)
	}

	b := e.attach(name)
	typ, arg := b.next()
	var s string
	if err := json.Unmarshal(arg, &s); typ != "stdout" || err != nil || !strings.Contains(s, "detached-output") || !strings.Contains(s, "ready-2") {
		t.Errorf("first message after setup [%q, %s], want the history with the output made while detached", typ, arg)
	}
}

func TestUTF8AcrossReads(t *testing.T) {
	e := newEnv(t, nil)
	c := e.attach(e.create(""))
	// 60000 bytes of "€" (3 bytes each): reads of the pty split some.
	c.send("stdin", `printf '\342\202\254%.0s' $(seq 20000); echo END$((1+1))`+"\r")
	c.untilText("END2")
	if n := strings.Count(c.all, "€"); n != 20000 {
		t.Errorf("got %d €, want 20000", n)
	}
	if strings.ContainsRune(c.all, '\uFFFD') {
		t.Errorf("the output has U+FFFD: a character was split")
	}
}

func TestDeleteKillsSession(t *testing.T) {
	e := newEnv(t, nil)
	name := e.create("")
	c := e.attach(name)
	// The shell, a background job (its own process group under job
	// control), and a nohup'ed job, which ignores SIGHUP.
	pids := c.pids("sleep 1000 & a=$!; nohup sleep 1001 >/dev/null 2>&1 & b=$!", "$a", "$b")
	for _, pid := range pids {
		if gone(pid) {
			t.Fatalf("process %d is not running before DELETE", pid)
		}
	}
	if status, body := e.do("DELETE", "api/terminals/"+name, ""); status != 204 {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	if !gone(pids[0]) {
		t.Errorf("the shell %d runs after DELETE returned", pids[0])
	}
	for _, pid := range pids[1:] {
		waitGone(t, pid)
	}
	c.disconnected()
}

func TestShellExit(t *testing.T) {
	e := newEnv(t, nil)
	name := e.create("")
	c := e.attach(name)
	c.send("stdin", "exit 3\r")
	c.disconnected()
	if status, body := e.do("GET", "api/terminals/"+name, ""); status != 404 {
		t.Errorf("GET after exit: %d %s, want 404", status, body)
	}
	if status, body := e.do("GET", "api/terminals", ""); body != "[]" {
		t.Errorf("GET /api/terminals after exit: %d %s, want []", status, body)
	}
}

func TestCwd(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, cwd string
		want      int
		wantDir   string // relative to the root
	}{
		{"default", "", 200, "."},
		{"relative", "sub", 200, "sub"},
		{"relative with a trailing slash", "sub/", 200, "sub"},
		{"absolute not under the root", "/sub/", 403, ""},
		{"absolute inside", filepath.Join(e.root, "sub"), 200, "sub"},
		{"absolute root", e.root, 200, "."},
		{"parent", "..", 404, ""},
		{"escape", "sub/../..", 404, ""},
		{"absolute outside", filepath.Dir(e.root), 403, ""},
		{"slash", "/", 403, ""},
		{"system directory", "/etc", 403, ""},
		{"missing", "nope", 404, ""},
		{"a file", "a.txt", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(map[string]string{"cwd": tt.cwd})
			status, body := e.do("POST", "api/terminals", string(b))
			if status != tt.want {
				t.Fatalf("POST cwd %q: %d %s, want %d", tt.cwd, status, body, tt.want)
			}
			if tt.want != 200 {
				if !strings.Contains(body, `"message"`) {
					t.Errorf("error %s is not JSON {message, reason}", body)
				}
				return
			}
			var m notebookd.TerminalModel
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			c := e.attach(m.Name)
			c.send("stdin", "pwd -P\r")
			c.until(regexp.MustCompile(`[\r\n]` + regexp.QuoteMeta(filepath.Join(e.root, tt.wantDir)) + `\r\n`))
			if status, _ := e.do("DELETE", "api/terminals/"+m.Name, ""); status != 204 {
				t.Errorf("DELETE: %d", status)
			}
		})
	}
	if status, body := e.do("GET", "api/terminals", ""); body != "[]" {
		t.Errorf("refused requests left terminals: %d %s", status, body)
	}
}

func TestWebsocketAuth(t *testing.T) {
	e := newEnv(t, func(c *notebookd.Config) { c.BaseURL = "/base/" })
	name := e.create("")
	tests := []struct {
		name   string
		query  string
		header http.Header
		want   int
	}{
		{"no token", "", nil, 403},
		{"wrong token", "?token=nope", nil, 403},
		{"token query", "?token=" + token, nil, 101},
		{"token header", "", http.Header{"Authorization": {"token " + token}}, 101},
		{"same origin", "?token=" + token, http.Header{"Origin": {e.ts.URL}}, 101},
		{"cross origin", "?token=" + token, http.Header{"Origin": {"http://evil.example"}}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(name)+tt.query, tt.header)
			if c != nil {
				c.Close()
			}
			if resp == nil {
				t.Fatalf("dial: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d (%v)", resp.StatusCode, tt.want, err)
			}
		})
	}
	// Outside the base URL there is no route.
	_, resp, _ := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.ts.URL, "http")+"/terminals/websocket/"+name+"?token="+token, nil)
	if resp == nil || resp.StatusCode != 404 {
		t.Errorf("outside the base URL: %v, want 404", resp)
	}
	// A plain GET of the websocket route says what it is.
	if status, body := e.do("GET", "terminals/websocket/"+name, ""); status != 400 || !strings.Contains(body, "websocket") {
		t.Errorf("plain GET: %d %s", status, body)
	}
}

func TestManagerClose(t *testing.T) {
	e := newEnv(t, nil)
	var shells []int
	var clients []*term
	for range 2 {
		c := e.attach(e.create(""))
		shells = append(shells, c.pids("true")[0])
		clients = append(clients, c)
	}
	if err := e.tm.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, pid := range shells {
		if !gone(pid) {
			t.Errorf("shell %d runs after Close", pid)
		}
	}
	for _, c := range clients {
		c.disconnected()
	}
	if got := e.tm.List(); len(got) != 0 {
		t.Errorf("List after Close: %v", got)
	}
	_, err := e.tm.Create(t.Context(), "", e.root)
	if status := notebookd.StatusOf(err); status != 503 {
		t.Errorf("Create after Close: %v (status %d), want 503", err, status)
	}
}

func TestPageConfig(t *testing.T) {
	assets := t.TempDir()
	page := `<script id="jupyter-config-data" type="application/json">{{ page_config | tojson }}</script>`
	if err := os.MkdirAll(filepath.Join(assets, "static"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(assets, "static", "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("terminals ", on), func(t *testing.T) {
			e := newEnv(t, func(c *notebookd.Config) {
				c.LabAssetsDir = assets
				if !on {
					c.Terminals = nil
				}
			})
			status, body := e.do("GET", "lab", "")
			want := fmt.Sprintf(`"terminalsAvailable":%v`, on)
			if status != 200 || !strings.Contains(body, want) {
				t.Errorf("GET /lab: %d %s, want %s", status, body, want)
			}
			if on {
				return
			}
			if status, body := e.do("GET", "api/terminals", ""); status != 200 || body != "[]" {
				t.Errorf("GET /api/terminals without terminals: %d %s", status, body)
			}
			if status, body := e.do("POST", "api/terminals", ""); status != 404 || !strings.Contains(body, "--no-terminals") {
				t.Errorf("POST /api/terminals without terminals: %d %s", status, body)
			}
		})
	}
}

// TestOversizedMessageRefused: a websocket message over the limit (by
// default Tornado's 10 MiB) closes the connection with 1009 instead of
// being read into memory; the terminal lives on for other clients.
func TestOversizedMessageRefused(t *testing.T) {
	e := newEnv(t, nil)
	name := e.create("")
	c := e.attach(name)
	w, err := c.c.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat(" ", 1<<20))
	for sent := 0; sent <= terminals.DefaultMaxMessageBytes; sent += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			break // the server closed early
		}
	}
	w.Close()
	for {
		_, _, err := c.c.ReadMessage()
		if err == nil {
			continue // output of the shell's start
		}
		if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
			t.Fatalf("after a message over %d bytes: %v, want close 1009 (message too big)", terminals.DefaultMaxMessageBytes, err)
		}
		break
	}
	d := e.attach(name)
	d.send("stdin", "echo still-$((40+2))\r")
	d.untilText("still-42")
}
