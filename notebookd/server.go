package notebookd

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServerVersion is the jupyter_server version the API reports at /api:
// Ferry speaks that version's REST and websocket protocols.
const ServerVersion = "2.14.2"

// LabVersion is the JupyterLab version the page reports (appVersion).
const LabVersion = "4.6.0"

// Config configures a Server.
type Config struct {
	Contents Contents
	Kernels  Kernels
	// Terminals serves /api/terminals; nil turns terminals off.
	Terminals Terminals

	// IP and Port are where ListenAndServe listens (127.0.0.1:8888 by
	// default). When Port is taken the next ones are tried, up to 50.
	IP   string
	Port int
	// BaseURL is the path prefix of every route ("/" by default).
	BaseURL string

	// Token is the access token. Empty with an empty PasswordHash means a
	// random one; empty with PasswordHash set means password login only.
	Token string
	// PasswordHash is a hash from HashPassword; it enables /login with a
	// password.
	PasswordHash string
	// AllowOrigin is the allowed cross-origin Origin: "" allows only the
	// same origin, "*" allows any.
	AllowOrigin string
	// AllowRemoteAccess turns the Host header check off (by default only
	// localhost and loopback addresses are served, against DNS
	// rebinding). It is implied when IP is not a loopback address, as in
	// Jupyter Server.
	AllowRemoteAccess bool

	// ReadTimeout bounds reading a request that is not authenticated,
	// headers and body (DefaultReadTimeout when 0; none when negative).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing the answer to a request that is not
	// authenticated (DefaultWriteTimeout when 0; none when negative).
	// Authenticated requests (the API, websockets, downloads) have no read
	// or write deadline.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its next
	// request (DefaultIdleTimeout when 0; none when negative).
	IdleTimeout time.Duration
	// MaxConnsPerClient caps the connections open at once from one client
	// address, loopback included; more are answered 503 and closed
	// (DefaultMaxConnsPerClient when 0; no cap when negative).
	MaxConnsPerClient int

	// LabAssetsDir is the directory of the built JupyterLab app
	// (index.html, static files, schemas/, themes/). Empty: /lab answers
	// 503 with how to build it.
	LabAssetsDir string
	// LabExtensionsDirs are the labextensions directories where prebuilt
	// (federated) JupyterLab extensions are found; nil means those of
	// JupyterDataDirs.
	LabExtensionsDirs []string
	// DataDir holds server state: config/, lab/user-settings/,
	// lab/workspaces/.
	DataDir string
	// MaxBodyBytes caps the JSON body of a contents request (a save or an
	// upload chunk); a larger one is answered 413 (DefaultMaxBodyBytes
	// when 0; no cap when negative).
	MaxBodyBytes int64

	// Control is Ferry's control-plane API (cmd/ferry passes the
	// controlplane registry of every domain's service), served under
	// <base>api/ferry/v1/ with the prefix stripped, behind the same
	// authentication as the rest of the API. nil: 404.
	Control http.Handler
	// OnListen, if set, is called with the server's address and the
	// control-plane URL and token once it listens and before it serves
	// (kernels started later are told where the control plane is).
	OnListen func(l Listening)

	Version string
	Logger  *slog.Logger
	// Out, when set, receives the "open this URL" banner of ListenAndServe.
	Out io.Writer
}

// Server is the notebook server.
type Server struct {
	cfg     Config
	base    string // "/" or "/prefix/"
	log     *slog.Logger
	handler http.Handler
	started time.Time

	activityMu   sync.Mutex
	lastActivity time.Time

	loginMu  sync.Mutex
	logins   map[string]bool // login cookie values
	xsrfKey  []byte          // signs the XSRF tokens of login sessions
	sessions *sessionStore

	remote bool
	// apiToken authenticates processes the server starts (kernels,
	// terminals) on the control plane: the token, or a random one when
	// only a password is configured.
	apiToken string

	addrMu sync.Mutex
	addr   string
}

// NewServer checks cfg and returns a Server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Contents == nil || cfg.Kernels == nil {
		return nil, errors.New("notebookd: Config.Contents and Config.Kernels are required")
	}
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Port == 0 {
		cfg.Port = 8888
	}
	base := "/" + strings.Trim(cfg.BaseURL, "/") + "/"
	if base == "//" {
		base = "/"
	}
	if strings.ContainsAny(base, "?#") || strings.Contains(base, "/../") || strings.Contains(base, "/./") {
		return nil, fmt.Errorf("notebookd: invalid BaseURL %q", cfg.BaseURL)
	}
	if cfg.PasswordHash != "" {
		if _, _, _, err := parsePasswordHash(cfg.PasswordHash); err != nil {
			return nil, err
		}
	}
	if cfg.Token == "" && cfg.PasswordHash == "" {
		cfg.Token = randomHex(24)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{
		cfg:          cfg,
		base:         base,
		log:          cfg.Logger,
		started:      time.Now().UTC(),
		lastActivity: time.Now().UTC(),
		logins:       map[string]bool{},
		xsrfKey:      randomBytes(32),
		sessions:     newSessionStore(),
		remote:       cfg.AllowRemoteAccess || !isLoopbackHost(cfg.IP),
	}
	s.apiToken = cfg.Token
	if s.apiToken == "" {
		s.apiToken = randomHex(24)
	}
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s, nil
}

// Listening says where a Server listens.
type Listening struct {
	Addr string // host:port
	// APIURL is the control plane's base URL, ending in "/".
	APIURL string
	// APIToken authenticates on the control plane (and only there, when the
	// server has no token of its own).
	APIToken string
}

// Token returns the access token ("" when only a password is accepted).
func (s *Server) Token() string { return s.cfg.Token }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr returns the address ListenAndServe listens on, once it does.
func (s *Server) Addr() string {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.addr
}

// URL returns the URL of JupyterLab on addr, with the token.
func (s *Server) URL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, strconv.Itoa(s.cfg.Port)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := "http://" + net.JoinHostPort(host, port) + s.base + "lab"
	if s.cfg.Token != "" {
		u += "?token=" + url.QueryEscape(s.cfg.Token)
	}
	return u
}

// ListenAndServe listens on cfg.IP:cfg.Port (or one of the next 50 ports
// when it is taken), serves until ctx is done, then shuts down gracefully
// and closes the kernels.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := s.listen()
	if err != nil {
		return err
	}
	s.addrMu.Lock()
	s.addr = ln.Addr().String()
	s.addrMu.Unlock()
	u := s.URL(ln.Addr().String())
	if s.cfg.OnListen != nil {
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		s.cfg.OnListen(Listening{Addr: ln.Addr().String(),
			APIURL: "http://" + net.JoinHostPort(host, port) + s.base + "api/ferry/v1/", APIToken: s.apiToken})
	}
	s.log.Info("serving JupyterLab", "url", u)
	if s.cfg.Out != nil {
		fmt.Fprintf(s.cfg.Out, "Ferry %s notebook server is running at:\n    %s\n", s.cfg.Version, u)
		if s.cfg.Token == "" {
			fmt.Fprintln(s.cfg.Out, "    (log in with the configured password)")
		}
	}
	if s.cfg.MaxConnsPerClient >= 0 {
		ln = newLimitListener(ln, cmp.Or(s.cfg.MaxConnsPerClient, DefaultMaxConnsPerClient), s.log)
	}
	srv := s.httpServer()
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		_ = s.cfg.Kernels.Close(context.WithoutCancel(ctx))
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s.log.Info("shutting down")
	err = srv.Shutdown(sctx)
	if kerr := s.cfg.Kernels.Close(sctx); err == nil {
		err = kerr
	}
	<-errc
	return err
}

func (s *Server) listen() (net.Listener, error) {
	var lastErr error
	for i := 0; i <= 50; i++ {
		port := s.cfg.Port + i
		if s.cfg.Port < 0 {
			port = 0
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.IP, strconv.Itoa(port)))
		if err == nil {
			return ln, nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) || s.cfg.Port < 0 {
			break
		}
		s.log.Info("port in use, trying the next one", "port", port)
	}
	return nil, fmt.Errorf("notebookd: listen: %w", lastErr)
}

// serveHTTP checks Host and Origin, then routes.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rw.status, "dur", time.Since(start))
	}()
	w = rw
	// No response is to be sniffed into another type (an artifact or a
	// file served as text/plain must not run as HTML or script).
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !s.remote && !isLoopbackHost(hostOnly(r.Host)) {
		s.writeError(w, Errorf(http.StatusForbidden, "Host %q is not allowed: start the server with --allow-remote-access to serve other hosts", r.Host))
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if !s.originAllowed(r, origin) {
			s.writeError(w, Errorf(http.StatusForbidden, "cross-origin request from %q is not allowed (see --allow-origin)", origin))
			return
		}
		if s.cfg.AllowOrigin != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
				w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-XSRFToken, X-Requested-With")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	p := r.URL.EscapedPath()
	if p+"/" == s.base {
		p = s.base
	}
	if !strings.HasPrefix(p, s.base) {
		http.NotFound(w, r)
		return
	}
	s.route(w, r, strings.TrimPrefix(p, s.base))
}

// sandboxCSP is the Content-Security-Policy of every response of the
// authenticated routes and the control plane, files of the notebook root
// (/files/), kernelspec resources and run artifacts among them: an HTML or
// SVG document opened from them runs its scripts in an opaque origin, so
// it can neither read this server's cookies nor call its API as the user
// (its requests carry Origin: null, which serveHTTP refuses). API answers
// are JSON, which a CSP does not affect. As jupyter_server's FilesHandler,
// and it may not be framed by other sites either.
const sandboxCSP = "sandbox allow-scripts; frame-ancestors 'self'"

func (s *Server) touch() {
	s.activityMu.Lock()
	s.lastActivity = time.Now().UTC()
	s.activityMu.Unlock()
}

// writeError answers err as {"message", "reason"} JSON with its status.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	status := StatusOf(err)
	reason := http.StatusText(status)
	var e *Error
	if errors.As(err, &e) && e.Reason != "" {
		reason = e.Reason
	}
	if status >= 500 {
		s.log.Error("request failed", "err", err)
	}
	if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
		return // the response has begun
	}
	writeJSON(w, status, map[string]any{"message": err.Error(), "reason": reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store, no-cache, must-revalidate")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// methodJSON answers v to the one allowed method.
func methodJSON(w http.ResponseWriter, r *http.Request, method string, v any) error {
	if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
		return errMethod(r)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func errMethod(r *http.Request) error {
	return Errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path)
}

// decodeBody decodes a JSON request body into v; an empty body leaves v.
func decodeBody(r *http.Request, v any) (empty bool, err error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<30))
	if err != nil {
		return false, Errorf(http.StatusBadRequest, "reading the request body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return true, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, Errorf(http.StatusBadRequest, "invalid JSON in the request body: %v", err)
	}
	return false, nil
}

// unescapePath decodes an escaped '/'-separated path and trims its slashes.
func unescapePath(p string) (string, error) {
	u, err := url.PathUnescape(p)
	if err != nil {
		return "", Errorf(http.StatusBadRequest, "invalid path %q: %v", p, err)
	}
	return strings.Trim(u, "/"), nil
}

// escapePath escapes each segment of p for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) originAllowed(r *http.Request, origin string) bool {
	// The opaque origin of a sandboxed document (a file served under
	// /files/: see sandboxCSP) or a file:// page is not covered by "*".
	if origin == "null" {
		return s.cfg.AllowOrigin == "null"
	}
	if s.cfg.AllowOrigin == "*" || origin == s.cfg.AllowOrigin {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// statusWriter records the status, keeping http.Hijacker and Flusher.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("notebookd: the connection cannot be hijacked")
	}
	w.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

// readFileJSON reads JSON from file into v; a missing file leaves v.
func readFileJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeFileJSON writes v to file atomically, creating its directory.
func writeFileJSON(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(file, b)
}

func writeFileAtomic(file string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	tmp := file + ".tmp-" + randomHex(4)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
