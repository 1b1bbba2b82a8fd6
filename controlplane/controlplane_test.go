package controlplane_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/controlplane"
)

// named answers its name, so a test sees which service got a request.
type named string

func (n named) ServeHTTP(w http.ResponseWriter, r *http.Request) { w.Write([]byte(n)) }

func TestRegistryRoutes(t *testing.T) {
	reg := controlplane.NewRegistry(nil,
		controlplane.Service{Name: "tracking API", Prefixes: []string{"experiments", "runs", "metrics"}, Handler: named("tracking")},
		controlplane.Service{Name: "jobs API", Prefixes: []string{"jobs"}, Handler: named("jobs")})
	tests := []struct {
		path, want string // want "" means a 404 of the registry
	}{
		{"/jobs", "jobs"},
		{"/jobs/", "jobs"},
		{"/jobs/a/logs", "jobs"},
		{"/experiments", "tracking"},
		{"/experiments/by-name/x", "tracking"},
		{"/runs/search", "tracking"},
		{"/metrics/history", "tracking"},
		{"/jobsx", ""},
		{"/", ""},
		{"/models/a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			reg.ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
			if tt.want != "" {
				if got := w.Body.String(); w.Code != 200 || got != tt.want {
					t.Errorf("GET %s: %d %q, want 200 %q", tt.path, w.Code, got, tt.want)
				}
				return
			}
			var e controlplane.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("GET %s: %d %q: %v", tt.path, w.Code, w.Body, err)
			}
			if w.Code != 404 || e.Code != string(ferry.NotFound) || !strings.Contains(e.Message, "experiments, runs, metrics, jobs") {
				t.Errorf("GET %s: %d %+v, want 404 not_found naming the prefixes", tt.path, w.Code, e)
			}
		})
	}
	var names []string
	for _, s := range reg.Services() {
		names = append(names, s.Name)
	}
	if want := []string{"tracking API", "jobs API"}; !slices.Equal(names, want) {
		t.Errorf("Services: %q, want %q", names, want)
	}
}

func TestRegisterRefuses(t *testing.T) {
	tests := []struct {
		name string
		s    controlplane.Service
	}{
		{"taken prefix", controlplane.Service{Name: "b", Prefixes: []string{"jobs"}, Handler: named("b")}},
		{"no prefix", controlplane.Service{Name: "b", Handler: named("b")}},
		{"empty prefix", controlplane.Service{Name: "b", Prefixes: []string{""}, Handler: named("b")}},
		{"two segments", controlplane.Service{Name: "b", Prefixes: []string{"models/versions"}, Handler: named("b")}},
		{"no handler", controlplane.Service{Name: "b", Prefixes: []string{"models"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := controlplane.NewRegistry(nil, controlplane.Service{Name: "a", Prefixes: []string{"jobs"}, Handler: named("a")})
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%+v) did not panic", tt.s)
				}
			}()
			reg.Register(tt.s)
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(controlplane.EnvAPIURL, "")
	t.Setenv(controlplane.EnvToken, "tok")
	if e, ok := controlplane.FromEnv(); ok {
		t.Errorf("FromEnv without %s = %+v, true; want false", controlplane.EnvAPIURL, e)
	}
	want := controlplane.Endpoint{URL: "http://127.0.0.1:8888/api/ferry/v1/", Token: "tok"}
	for _, kv := range want.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	if got, ok := controlplane.FromEnv(); !ok || got != want {
		t.Errorf("FromEnv after Environ = %+v, %v; want %+v, true", got, ok, want)
	}
}

type session struct{ n int }

func TestDefault(t *testing.T) {
	var mu sync.Mutex
	calls, fail := 0, true
	d := controlplane.NewDefault(func(ctx context.Context) (*session, error) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := ctx.Deadline(); !ok {
			t.Error("connect got a context without a deadline")
		}
		calls++
		if fail {
			return nil, errors.New("unreachable")
		}
		return &session{n: calls}, nil
	})
	if s, err := d.Get(); err == nil {
		t.Fatalf("Get with a failing connect = %v, nil", s)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	var wg sync.WaitGroup
	got := make([]*session, 8)
	for i := range got {
		wg.Go(func() {
			s, err := d.Get()
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		})
	}
	wg.Wait()
	for _, s := range got {
		if s != got[0] || s.n != 2 {
			t.Fatalf("Get after a failure: sessions %v, want one session made by the second connect", got)
		}
	}
	mine := &session{n: 100}
	d.Set(mine)
	if s, _ := d.Get(); s != mine {
		t.Errorf("Get after Set = %v, want the set session", s)
	}
	d.Set(nil)
	if s, _ := d.Get(); s == mine || s.n != 3 {
		t.Errorf("Get after Set(nil) = %v, want a new connection", s)
	}
}

func TestClientErrors(t *testing.T) {
	srv := httptest.NewServer(controlplane.NewMux("test API", nil, map[string]controlplane.Route{
		"GET /missing": func(w http.ResponseWriter, r *http.Request) error {
			return ferry.Errorf(ferry.NotFound, "no such thing")
		},
		"GET /token": func(w http.ResponseWriter, r *http.Request) error {
			if r.Header.Get("Authorization") != "token secret" {
				w.WriteHeader(http.StatusForbidden)
				return nil
			}
			return controlplane.WriteJSON(w, 200, map[string]string{"ok": "yes"})
		},
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, token, path string
		code              ferry.Code // "" means success
		msg               string
	}{
		{"error code kept", "secret", "missing", ferry.NotFound, "no such thing"},
		{"unknown route", "secret", "nope", ferry.NotFound, "no test API route GET /nope"},
		{"token sent", "secret", "token", "", ""},
		{"token refused", "wrong", "token", ferry.Invalid, "set FERRY_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := controlplane.NewClient("test API", srv.URL, tt.token, srv.Client())
			var out map[string]string
			err := c.Call(t.Context(), "GET", tt.path, nil, &out)
			if tt.code == "" {
				if err != nil || out["ok"] != "yes" {
					t.Errorf("Call = %v, %v; want ok", out, err)
				}
				return
			}
			if got := ferry.ErrorCode(err); got != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Call error = %v (code %q), want code %q containing %q", err, got, tt.code, tt.msg)
			}
		})
	}
}
