package notebookd

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// passwordIterations is the PBKDF2-SHA256 iteration count of HashPassword.
const passwordIterations = 600_000

// HashPassword returns a salted PBKDF2-SHA256 hash of pw in the form
// "pbkdf2-sha256:<iterations>:<salt hex>:<key hex>", for Config.PasswordHash.
func HashPassword(pw string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	return hashPassword(pw, salt, passwordIterations)
}

func hashPassword(pw string, salt []byte, iter int) string {
	key, err := pbkdf2.Key(sha256.New, pw, salt, iter, 32)
	if err != nil {
		panic(err) // only for FIPS-140 restricted parameters
	}
	return fmt.Sprintf("pbkdf2-sha256:%d:%s:%s", iter, hex.EncodeToString(salt), hex.EncodeToString(key))
}

func parsePasswordHash(h string) (iter int, salt, key []byte, err error) {
	parts := strings.Split(h, ":")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return 0, nil, nil, fmt.Errorf("notebookd: password hash must look like pbkdf2-sha256:ITERATIONS:SALT:KEY (make one with `ferry lab --hash-password`), got %.20q", h)
	}
	iter, err = strconv.Atoi(parts[1])
	if err != nil || iter < 1 {
		return 0, nil, nil, fmt.Errorf("notebookd: password hash: bad iteration count %q", parts[1])
	}
	if salt, err = hex.DecodeString(parts[2]); err != nil {
		return 0, nil, nil, fmt.Errorf("notebookd: password hash: bad salt: %v", err)
	}
	if key, err = hex.DecodeString(parts[3]); err != nil || len(key) == 0 {
		return 0, nil, nil, fmt.Errorf("notebookd: password hash: bad key")
	}
	return iter, salt, key, nil
}

// CheckPassword reports whether pw matches hash (from HashPassword).
func CheckPassword(hash, pw string) bool {
	iter, salt, key, err := parsePasswordHash(hash)
	if err != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(key))
	return err == nil && subtle.ConstantTimeCompare(got, key) == 1
}

func (s *Server) tokenOK(tok string) bool {
	return s.cfg.Token != "" && tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.Token)) == 1
}

// apiTokenOK reports whether tok is the control-plane token of the
// processes the server starts.
func (s *Server) apiTokenOK(tok string) bool {
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.apiToken)) == 1
}

// requestToken returns the token of ?token= or the Authorization header.
func requestToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, _ := strings.Cut(a, " ")
		if strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return r.URL.Query().Get("token")
}

// loginCookieName is per host:port, since cookies are not scoped by port.
func loginCookieName(r *http.Request) string {
	var b strings.Builder
	b.WriteString("ferry-login-")
	for _, c := range r.Host {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// loginSession returns the value of r's login cookie when it is a live
// login of this server.
func (s *Server) loginSession(r *http.Request) (string, bool) {
	c, err := r.Cookie(loginCookieName(r))
	if err != nil || c.Value == "" {
		return "", false
	}
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	for v := range s.logins {
		if subtle.ConstantTimeCompare([]byte(v), []byte(c.Value)) == 1 {
			return v, true
		}
	}
	return "", false
}

func (s *Server) cookieOK(r *http.Request) bool {
	_, ok := s.loginSession(r)
	return ok
}

// setLoginCookie starts a login session and returns its cookie value.
func (s *Server) setLoginCookie(w http.ResponseWriter, r *http.Request) string {
	v := randomHex(32)
	s.loginMu.Lock()
	s.logins[v] = true
	s.loginMu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: loginCookieName(r), Value: v, Path: s.base,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	return v
}

// XSRF tokens are bound to the login session: the token of a session is an
// HMAC, under a key only the server knows, of its (HttpOnly) login cookie
// value; before login (the login form) the session is "". A page that can
// set cookies on this host (another port of localhost, an HTML file) can
// therefore not forge a token by setting its own _xsrf cookie and sending
// it back, as it could when the check only compared cookie and header.
//
// The _xsrf cookie is not scoped by port, and JupyterLab reads it by that
// name, so it holds the tokens of up to xsrfMaxTokens servers (or
// sessions), separated by dots: two servers on one host do not keep
// replacing each other's token.
const (
	xsrfSep       = "."
	xsrfMaxTokens = 4
	xsrfTokenLen  = 40 // hex digits: 160 bits of HMAC-SHA256
)

// xsrfToken returns the XSRF token of the login session session.
func (s *Server) xsrfToken(session string) string {
	m := hmac.New(sha256.New, s.xsrfKey)
	m.Write([]byte("ferry-xsrf\x00"))
	m.Write([]byte(session))
	return hex.EncodeToString(m.Sum(nil))[:xsrfTokenLen]
}

// hasXSRFToken reports whether the dot-separated list v holds token.
func hasXSRFToken(v, token string) bool {
	found := 0
	for p := range strings.SplitSeq(v, xsrfSep) {
		found |= subtle.ConstantTimeCompare([]byte(p), []byte(token))
	}
	return found == 1
}

// xsrfCookie returns the _xsrf cookie's value, adding the token of session
// (and setting the cookie) when it lacks it.
func (s *Server) xsrfCookie(w http.ResponseWriter, r *http.Request, session string) string {
	tok := s.xsrfToken(session)
	var keep []string
	for _, c := range r.CookiesNamed("_xsrf") {
		if hasXSRFToken(c.Value, tok) {
			return c.Value
		}
		for p := range strings.SplitSeq(c.Value, xsrfSep) {
			if len(p) == xsrfTokenLen && isHex(p) && !slices.Contains(keep, p) {
				keep = append(keep, p)
			}
		}
	}
	if len(keep) >= xsrfMaxTokens {
		keep = keep[len(keep)-xsrfMaxTokens+1:]
	}
	v := strings.Join(append(keep, tok), xsrfSep)
	http.SetCookie(w, &http.Cookie{Name: "_xsrf", Value: v, Path: s.base, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	return v
}

func isHex(v string) bool {
	for _, c := range []byte(v) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// errXSRF answers a cookie-authenticated request without a valid XSRF token.
var errXSRF = Errorf(http.StatusForbidden, "'_xsrf' argument missing, not matching the _xsrf cookie, or not issued to this login session: "+
	"reload the page to get a fresh _xsrf cookie and send its value as the X-XSRFToken header (or authenticate with the token)")

// checkXSRF checks the double-submitted _xsrf cookie of r: the header (or
// form field) and an _xsrf cookie must both carry the token of the login
// session session ("" before login). Any of several _xsrf cookies (of
// different paths) will do: JupyterLab sends the last one document.cookie
// lists, and a page elsewhere on the host may have added one.
func (s *Server) checkXSRF(r *http.Request, session string) bool {
	tok := s.xsrfToken(session)
	inCookie := false
	for _, c := range r.CookiesNamed("_xsrf") {
		inCookie = inCookie || hasXSRFToken(c.Value, tok)
	}
	if !inCookie {
		return false
	}
	got := r.Header.Get("X-XSRFToken")
	if got == "" {
		got = r.Header.Get("X-CSRFToken")
	}
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		got = r.PostFormValue("_xsrf")
	}
	return got != "" && hasXSRFToken(got, tok)
}

// authorize authenticates r by token (query or header) or login cookie,
// checking XSRF for cookie-authenticated unsafe methods. On failure it
// answers 403 JSON (api) or redirects to /login (pages) and returns false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, api bool) (byToken, ok bool) {
	if s.tokenOK(requestToken(r)) {
		return true, true
	}
	if session, ok := s.loginSession(r); ok {
		if !safeMethod(r.Method) && !s.checkXSRF(r, session) {
			s.writeError(w, errXSRF)
			return false, false
		}
		return false, true
	}
	if api {
		s.writeError(w, Errorf(http.StatusForbidden, "authentication required: pass the token (?token= or an 'Authorization: token ...' header) or log in"))
		return false, false
	}
	http.Redirect(w, r, s.base+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	return false, false
}

// safeNext returns next when it is a path on this server, else the lab URL.
func (s *Server) safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") ||
		strings.Contains(next, "\\") || !strings.HasPrefix(u.Path, s.base) {
		return s.base + "lab"
	}
	return next
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	next := s.safeNext(r.FormValue("next"))
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if s.tokenOK(requestToken(r)) || s.cookieOK(r) {
			if s.tokenOK(requestToken(r)) {
				s.setLoginCookie(w, r)
			}
			http.Redirect(w, r, next, http.StatusFound)
			return
		}
		s.loginPage(w, r, next, "", http.StatusOK)
	case http.MethodPost:
		if !s.checkXSRF(r, "") {
			s.writeError(w, errXSRF)
			return
		}
		pw := r.PostFormValue("password")
		ok := s.tokenOK(pw) || (s.cfg.PasswordHash != "" && pw != "" && CheckPassword(s.cfg.PasswordHash, pw))
		if !ok {
			s.log.Warn("failed login", "remote", r.RemoteAddr)
			s.loginPage(w, r, next, "Invalid credentials", http.StatusUnauthorized)
			return
		}
		s.setLoginCookie(w, r)
		http.Redirect(w, r, next, http.StatusFound)
	default:
		s.writeError(w, errMethod(r))
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, next, msg string, status int) {
	xsrf := s.xsrfCookie(w, r, "")
	label := "Password or token"
	switch {
	case s.cfg.PasswordHash == "":
		label = "Token"
	case s.cfg.Token == "":
		label = "Password"
	}
	var m string
	if msg != "" {
		m = `<p class="error">` + html.EscapeString(msg) + `</p>`
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>Ferry — log in</title>
<style>body{font-family:sans-serif;max-width:30em;margin:4em auto}input{font-size:1em;padding:.3em}.error{color:#b00}</style>
</head><body>
<h1>Ferry notebook server</h1>%s
<form action="%slogin?next=%s" method="post">
<input type="hidden" name="_xsrf" value="%s">
<label for="password">%s:</label>
<input type="password" id="password" name="password" autofocus>
<button type="submit">Log in</button>
</form>
<p>The token is printed in the server's log as <code>/lab?token=...</code>.</p>
</body></html>
`, m, html.EscapeString(s.base), html.EscapeString(url.QueryEscape(next)), html.EscapeString(xsrf), label)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	name := loginCookieName(r)
	if c, err := r.Cookie(name); err == nil {
		s.loginMu.Lock()
		delete(s.logins, c.Value)
		s.loginMu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: s.base, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Ferry — logged out</title></head>
<body><p>You have been logged out. <a href="%slogin">Log in again</a>.</p></body></html>
`, html.EscapeString(s.base))
}
