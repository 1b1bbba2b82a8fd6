package notebookd

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of the connection limits (Config.ReadTimeout and the others).
const (
	// DefaultReadTimeout bounds reading a request that is not authenticated,
	// headers and body (a login form).
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds writing the answer to a request that is not
	// authenticated (the login page, JupyterLab's static files).
	DefaultWriteTimeout = 2 * time.Minute
	// DefaultIdleTimeout bounds how long a keep-alive connection waits for
	// its next request.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxConnsPerClient caps the open connections of one client
	// address. JupyterLab keeps a websocket per open kernel and terminal,
	// one for events, and the browser's pool of HTTP connections (Chromium
	// allows 255 websockets in all): 256 leaves it room.
	DefaultMaxConnsPerClient = 256
	// maxLoginBody caps the body of POST /login (a password and _xsrf).
	maxLoginBody = 64 << 10
)

// orDefault returns d when v is 0, nothing (0) when v is negative, else v.
func orDefault(v, d time.Duration) time.Duration {
	switch {
	case v == 0:
		return d
	case v < 0:
		return 0
	}
	return v
}

// httpServer returns the http.Server of ListenAndServe, with its timeouts.
// Authenticated requests have their read and write deadlines lifted (see
// liftDeadlines), so only unauthenticated clients are bound by the read and
// write timeouts; the idle timeout holds for every keep-alive connection.
func (s *Server) httpServer() *http.Server {
	read := orDefault(s.cfg.ReadTimeout, DefaultReadTimeout)
	header := read
	if header == 0 {
		header = DefaultReadTimeout
	}
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: header,
		ReadTimeout:       read,
		WriteTimeout:      orDefault(s.cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       orDefault(s.cfg.IdleTimeout, DefaultIdleTimeout),
	}
}

// liftDeadlines lifts the connection's read and write deadlines for an
// authenticated request: uploads, downloads, followed logs and websockets
// take as long as they take (the user could run any code anyway). The
// server sets them again for the connection's next request.
func liftDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}

// limitListener caps the connections open at once from each client address
// (loopback included): a connection over the cap is answered 503 and closed
// at once.
type limitListener struct {
	net.Listener
	max int
	log *slog.Logger

	mu     sync.Mutex
	open   map[string]int
	warned map[string]time.Time // when the cap was last logged, per address
}

func newLimitListener(l net.Listener, max int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: l, max: max, log: log, open: map[string]int{}, warned: map[string]time.Time{}}
}

// Accept returns the next connection whose client is under the cap.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := c.RemoteAddr().String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		l.mu.Lock()
		if l.open[host] >= l.max {
			warn := time.Since(l.warned[host]) > time.Minute
			if warn {
				l.warned[host] = time.Now()
			}
			l.mu.Unlock()
			if warn {
				l.log.Warn("a client reached the connection cap; refusing its new connections", "client", host, "max", l.max)
			}
			go l.refuse(c)
			continue
		}
		l.open[host]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l, host: host}, nil
	}
}

// refuse answers 503 on c and closes it.
func (l *limitListener) refuse(c net.Conn) {
	msg := fmt.Sprintf("too many connections from your address (at most %d): close some, or start the server with a higher --max-connections-per-client\n", l.max)
	_ = c.SetDeadline(time.Now().Add(time.Second))
	_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\nRetry-After: 5\r\n\r\n%s", len(msg), msg)
	_ = c.Close()
}

func (l *limitListener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host]--; l.open[host] <= 0 {
		delete(l.open, host)
		delete(l.warned, host)
	}
}

// limitedConn gives its place back to the limitListener when closed (also
// when hijacked for a websocket and closed later).
type limitedConn struct {
	net.Conn
	l    *limitListener
	host string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.host) })
	return err
}
