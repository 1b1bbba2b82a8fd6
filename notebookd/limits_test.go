package notebookd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// listenTest serves a Server with cfg (as mod changes it) on a free
// loopback port and returns its address.
func listenTest(t *testing.T, mod func(*Config)) string {
	t.Helper()
	cfg := Config{Contents: newFakeContents(t), Kernels: newFakeKernels(t), Token: testToken, Port: -1, DataDir: t.TempDir()}
	mod(&cfg)
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
	})
	for srv.Addr() == "" {
		select {
		case err := <-done:
			t.Fatalf("ListenAndServe: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return srv.Addr()
}

func dialTest(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads c until the server closes it, and fails the test if
// that does not happen within a minute (the timeouts under test are far
// shorter).
func waitClosed(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	_, err := io.Copy(io.Discard, r)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server did not close the connection")
	}
}

// readResponse reads one response from r.
func readResponse(t *testing.T, c net.Conn, r *bufio.Reader) (*http.Response, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp, string(b)
}

// TestIdleConnectionClosed: a keep-alive connection that sends no further
// request, and one that never sends any, are closed by the server.
func TestIdleConnectionClosed(t *testing.T) {
	addr := listenTest(t, func(c *Config) {
		c.IdleTimeout = 100 * time.Millisecond
		c.ReadTimeout = 100 * time.Millisecond
	})
	t.Run("after a request", func(t *testing.T) {
		c := dialTest(t, addr)
		fmt.Fprintf(c, "GET /api HTTP/1.1\r\nHost: %s\r\nAuthorization: token %s\r\n\r\n", addr, testToken)
		r := bufio.NewReader(c)
		resp, body := readResponse(t, c, r)
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("GET /api: %s close=%v %s", resp.Status, resp.Close, body)
		}
		waitClosed(t, c, r)
	})
	t.Run("no request", func(t *testing.T) {
		c := dialTest(t, addr)
		waitClosed(t, c, bufio.NewReader(c))
	})
}

// TestSlowLoginBodyClosed: a POST /login whose body never comes in full is
// answered and its connection closed once the read timeout passes.
func TestSlowLoginBodyClosed(t *testing.T) {
	addr := listenTest(t, func(c *Config) {
		c.ReadTimeout = 200 * time.Millisecond
		c.IdleTimeout = time.Hour
	})
	c := dialTest(t, addr)
	fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\npassword=", addr)
	r := bufio.NewReader(c)
	resp, _ := readResponse(t, c, r)
	if resp.StatusCode < 400 {
		t.Errorf("status %s, want an error", resp.Status)
	}
	waitClosed(t, c, r)
}

// TestLoginBodyCapped: a login body over the cap is refused, even with the
// right token in it.
func TestLoginBodyCapped(t *testing.T) {
	addr := listenTest(t, func(c *Config) {})
	body := "_xsrf=a&password=" + testToken + "&pad=" + strings.Repeat("x", maxLoginBody)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "_xsrf=a")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("status %s, want an error", resp.Status)
	}
}

// TestAuthenticatedSlowBodyKept: an authenticated request is not bound by
// the read timeout (a big upload on a slow link).
func TestAuthenticatedSlowBodyKept(t *testing.T) {
	addr := listenTest(t, func(c *Config) { c.ReadTimeout = 100 * time.Millisecond })
	body := `{"type":"file","format":"text","content":"hello"}`
	c := dialTest(t, addr)
	fmt.Fprintf(c, "PUT /api/contents/a.txt HTTP/1.1\r\nHost: %s\r\nAuthorization: token %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, testToken, len(body), body[:10])
	time.Sleep(500 * time.Millisecond) // past the read timeout
	if _, err := io.WriteString(c, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, msg := readResponse(t, c, bufio.NewReader(c))
	if resp.StatusCode/100 != 2 {
		t.Errorf("PUT: %s %s", resp.Status, msg)
	}
}

// TestConnCapPerClient: connections over the per-client cap are answered
// 503 and closed; closing one makes room for another.
func TestConnCapPerClient(t *testing.T) {
	const max = 3
	addr := listenTest(t, func(c *Config) { c.MaxConnsPerClient = max })
	var held []net.Conn
	for range max {
		held = append(held, dialTest(t, addr))
	}
	// The server has accepted the held connections once each answers.
	for _, c := range held {
		fmt.Fprintf(c, "GET /api HTTP/1.1\r\nHost: %s\r\nAuthorization: token %s\r\n\r\n", addr, testToken)
		if resp, body := readResponse(t, c, bufio.NewReader(c)); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api on a held connection: %s %s", resp.Status, body)
		}
	}
	extra := dialTest(t, addr)
	r := bufio.NewReader(extra)
	resp, body := readResponse(t, extra, r)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "--max-connections-per-client") {
		t.Errorf("connection over the cap: %s %q, want 503 naming --max-connections-per-client", resp.Status, body)
	}
	waitClosed(t, extra, r)

	held[0].Close()
	// The server notices the close when it reads the connection: retry
	// until it has.
	deadline := time.Now().Add(time.Minute)
	for {
		c := dialTest(t, addr)
		fmt.Fprintf(c, "GET /api HTTP/1.1\r\nHost: %s\r\nAuthorization: token %s\r\n\r\n", addr, testToken)
		resp, body := readResponse(t, c, bufio.NewReader(c))
		if resp.StatusCode == http.StatusOK {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("no room after a connection closed: %s %s", resp.Status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServerTimeouts: every timeout of the http.Server is set by default,
// and a negative value turns one off.
func TestServerTimeouts(t *testing.T) {
	tests := []struct {
		name                     string
		cfg                      Config
		read, header, write, idl time.Duration
	}{
		{"defaults", Config{}, DefaultReadTimeout, DefaultReadTimeout, DefaultWriteTimeout, DefaultIdleTimeout},
		{"set", Config{ReadTimeout: time.Second, WriteTimeout: 2 * time.Second, IdleTimeout: 3 * time.Second},
			time.Second, time.Second, 2 * time.Second, 3 * time.Second},
		{"off", Config{ReadTimeout: -1, WriteTimeout: -1, IdleTimeout: -1}, 0, DefaultReadTimeout, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Contents, tt.cfg.Kernels = newFakeContents(t), newFakeKernels(t)
			s, err := NewServer(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			hs := s.httpServer()
			got := []time.Duration{hs.ReadTimeout, hs.ReadHeaderTimeout, hs.WriteTimeout, hs.IdleTimeout}
			want := []time.Duration{tt.read, tt.header, tt.write, tt.idl}
			for i, name := range []string{"ReadTimeout", "ReadHeaderTimeout", "WriteTimeout", "IdleTimeout"} {
				if got[i] != want[i] {
					t.Errorf("%s = %v, want %v", name, got[i], want[i])
				}
			}
		})
	}
}
