package notebookd

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeTerminals is a Terminals double that records what reached it.
type fakeTerminals struct {
	mu      sync.Mutex
	created []string
	sockets []string
}

func (f *fakeTerminals) List() []*TerminalModel { return nil }

func (f *fakeTerminals) Create(ctx context.Context, name, cwd string) (*TerminalModel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, cwd)
	return &TerminalModel{Name: "1"}, nil
}

func (f *fakeTerminals) Get(name string) (*TerminalModel, error) {
	return &TerminalModel{Name: name}, nil
}

func (f *fakeTerminals) Delete(ctx context.Context, name string) error { return nil }

func (f *fakeTerminals) ServeWebsocket(w http.ResponseWriter, r *http.Request, name string) {
	f.mu.Lock()
	f.sockets = append(f.sockets, name)
	f.mu.Unlock()
	w.WriteHeader(http.StatusTeapot) // marks "reached the terminal manager"
}

func (f *fakeTerminals) Close(ctx context.Context) error { return nil }

func (f *fakeTerminals) counts() (created, sockets int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.created), len(f.sockets)
}

// cookieValue returns the value of the cookie name set by resp.
func cookieValue(t *testing.T, resp *http.Response, name string) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("no %s cookie set: %q", name, resp.Header.Values("Set-Cookie"))
	return ""
}

// loginCookies loads /lab with ?token= (as the URL the server prints) and
// returns the login cookie ("name=value") and the _xsrf cookie's value.
func loginCookies(t *testing.T, e *env) (login, xsrf string) {
	t.Helper()
	resp, _ := e.do("GET", "/lab?token="+testToken, "", map[string]string{"Authorization": ""})
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "ferry-login-") {
			login = c.Name + "=" + c.Value
		}
	}
	if login == "" {
		t.Fatalf("no login cookie: %q", resp.Header.Values("Set-Cookie"))
	}
	return login, cookieValue(t, resp, "_xsrf")
}

// TestXSRFBoundToSession (issue 11 item 1): the _xsrf token is an HMAC of
// the login session under a server key, so a page that sets its own _xsrf
// cookie and echoes it in X-XSRFToken (which passed when the check only
// compared cookie and header) is refused, as is the token of another
// session or of the login form; token authentication stays exempt.
func TestXSRFBoundToSession(t *testing.T) {
	terms := &fakeTerminals{}
	e := newEnv(t, func(c *Config) { c.Terminals = terms })
	login, xsrf := loginCookies(t, e)
	otherLogin, otherXSRF := loginCookies(t, e)
	if xsrf == otherXSRF {
		t.Fatalf("two login sessions got the same XSRF token %q", xsrf)
	}
	resp, body := e.do("GET", "/login", "", map[string]string{"Authorization": ""})
	loginForm := regexp.MustCompile(`name="_xsrf" value="([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || loginForm == nil {
		t.Fatalf("login page: %d %s", resp.StatusCode, body)
	}

	forged := strings.Repeat("ab", xsrfTokenLen/2)
	tests := []struct {
		name         string
		cookie, xsrf string // the request's cookies and X-XSRFToken
		token        bool   // with the server's token
		want         int
	}{
		{"session's own token", login + "; _xsrf=" + xsrf, xsrf, false, 200},
		{"own token among other servers' tokens", login + "; _xsrf=" + forged + "." + xsrf, forged + "." + xsrf, false, 200},
		{"a cookie the page set itself, echoed", login + "; _xsrf=" + forged, forged, false, 403},
		{"a short cookie the page set itself, echoed", login + "; _xsrf=x", "x", false, 403},
		{"another session's token", login + "; _xsrf=" + otherXSRF, otherXSRF, false, 403},
		{"the other session with its own token", otherLogin + "; _xsrf=" + otherXSRF, otherXSRF, false, 200},
		{"the login form's token", login + "; _xsrf=" + loginForm[1], loginForm[1], false, 403},
		{"header without the cookie", login, xsrf, false, 403},
		{"a page's cookie listed first, the header from the real one", login + "; _xsrf=" + forged + "; _xsrf=" + xsrf, xsrf, false, 200},
		{"the real cookie listed first, the page's cookie echoed", login + "; _xsrf=" + xsrf + "; _xsrf=" + forged, forged, false, 403},
		{"cookie without the header", login + "; _xsrf=" + xsrf, "", false, 403},
		{"the token, no XSRF", "", "", true, 200},
		{"the token and a forged XSRF", "_xsrf=" + forged, forged, true, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Authorization": "", "Cookie": tc.cookie, "X-XSRFToken": tc.xsrf}
			if tc.token {
				hdr["Authorization"] = "token " + testToken
			}
			before, _ := terms.counts()
			resp, body := e.do("POST", "/api/terminals", "{}", hdr)
			after, _ := terms.counts()
			if resp.StatusCode != tc.want {
				t.Fatalf("POST /api/terminals: %d %s, want %d", resp.StatusCode, body, tc.want)
			}
			if got := after - before; (got == 1) != (tc.want == 200) {
				t.Errorf("%d terminals created", got)
			}
			if tc.want == 403 && !strings.Contains(body, "reload the page") {
				t.Errorf("refusal %s does not say how to fix it", body)
			}
		})
	}
}

// TestXSRFCookieKeepsOtherServers: the _xsrf cookie is shared by every
// server on the host (cookies ignore ports); a page load adds this
// server's token to those of the others, keeping the newest few, instead
// of replacing them.
func TestXSRFCookieKeepsOtherServers(t *testing.T) {
	e := newEnv(t, nil)
	others := []string{strings.Repeat("01", 20), strings.Repeat("02", 20), strings.Repeat("03", 20), strings.Repeat("04", 20)}
	resp, _ := e.do("GET", "/lab?token="+testToken, "", map[string]string{"Authorization": "",
		"Cookie": "_xsrf=" + strings.Join(others, ".") + ".not-a-token"})
	got := strings.Split(cookieValue(t, resp, "_xsrf"), ".")
	if len(got) != xsrfMaxTokens || !strings.HasPrefix(strings.Join(got, "."), strings.Join(others[1:], ".")+".") {
		t.Errorf("_xsrf tokens %q, want the newest %d of %q and this server's", got, xsrfMaxTokens-1, others)
	}
	// A page load of a session whose token is in the cookie sets nothing.
	login, xsrf := loginCookies(t, e)
	resp, _ = e.do("GET", "/lab", "", map[string]string{"Authorization": "", "Cookie": login + "; _xsrf=" + others[0] + "." + xsrf})
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("page load with a valid _xsrf set cookies %q", sc)
	}
}

// TestUntrustedContentHeaders (issue 11 item 1): files of the root,
// kernelspec resources and the control plane's answers (artifacts) are
// sandboxed, so an HTML or SVG document among them runs in an opaque
// origin, and no response is sniffed into another type.
func TestUntrustedContentHeaders(t *testing.T) {
	control := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<script>fetch('/api/terminals', {method: 'POST'})</script>"))
	})
	e := newEnv(t, func(c *Config) { c.Control = control })
	e.c.files["evil.html"] = "<script>fetch('/api/terminals', {method: 'POST'})</script>"
	e.c.files["evil.svg"] = `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
	login, _ := loginCookies(t, e)
	for _, target := range []string{
		"/files/evil.html", "/files/evil.svg", "/files/evil.html?download=1", "/files/missing.html",
		"/kernelspecs/go/logo-64x64.png", "/api/contents/evil.html", "/api/ferry/v1/runs/1/artifacts/report.html",
	} {
		for _, auth := range []string{"token", "cookie"} {
			t.Run(target+" by "+auth, func(t *testing.T) {
				hdr := map[string]string{}
				if auth == "cookie" {
					hdr = map[string]string{"Authorization": "", "Cookie": login}
				}
				resp, _ := e.do("GET", target, "", hdr)
				csp := resp.Header.Get("Content-Security-Policy")
				if !regexp.MustCompile(`(^|;)\s*sandbox allow-scripts\s*(;|$)`).MatchString(csp) {
					t.Errorf("%d: Content-Security-Policy %q, want sandbox allow-scripts (and no allow-same-origin)", resp.StatusCode, csp)
				}
				if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q, want nosniff", got)
				}
			})
		}
	}
	// The app's own pages and assets are not sandboxed, only not sniffed.
	resp, _ := e.do("GET", "/login", "", map[string]string{"Authorization": ""})
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "sandbox") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("login page: CSP %q, nosniff %q", csp, resp.Header.Get("X-Content-Type-Options"))
	}
}

// TestOpaqueOriginRefused: a sandboxed document (see sandboxCSP) sends
// Origin: null; it reaches neither the terminals, their websockets, nor
// the control plane, with a valid login cookie and XSRF token, and even
// with --allow-origin '*'.
func TestOpaqueOriginRefused(t *testing.T) {
	for _, allow := range []string{"", "*"} {
		t.Run("allow-origin="+allow, func(t *testing.T) {
			terms := &fakeTerminals{}
			reached := false
			e := newEnv(t, func(c *Config) {
				c.Terminals = terms
				c.AllowOrigin = allow
				c.Control = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true })
			})
			login, xsrf := loginCookies(t, e)
			cookie := login + "; _xsrf=" + xsrf
			reqs := []struct {
				method, target string
				extra          map[string]string
			}{
				{"POST", "/api/terminals", nil},
				{"GET", "/terminals/websocket/1", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket",
					"Sec-Websocket-Version": "13", "Sec-Websocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}},
				{"PUT", "/api/ferry/v1/runs/1/artifacts/x.html", nil},
				{"GET", "/api/contents", nil},
			}
			for _, rq := range reqs {
				hdr := map[string]string{"Authorization": "", "Cookie": cookie, "X-XSRFToken": xsrf}
				for k, v := range rq.extra {
					hdr[k] = v
				}
				// The same request from the server's own origin passes.
				hdr["Origin"] = e.ts.URL
				ok, _ := e.do(rq.method, rq.target, "{}", hdr)
				hdr["Origin"] = "null"
				resp, body := e.do(rq.method, rq.target, "{}", hdr)
				if ok.StatusCode == http.StatusForbidden || resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "cross-origin") {
					t.Errorf("%s %s: same origin %d; Origin: null %d %s, want 403", rq.method, rq.target, ok.StatusCode, resp.StatusCode, body)
				}
			}
			if created, sockets := terms.counts(); created != 1 || sockets != 1 || !reached {
				t.Errorf("%d terminals created, %d websockets, control plane reached %v: want only the same-origin requests", created, sockets, reached)
			}
		})
	}
}
