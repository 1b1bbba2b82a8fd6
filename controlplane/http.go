package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ferryml/ferry"
)

// Route handles one route of a service; a returned error is answered by
// WriteError.
type Route func(w http.ResponseWriter, r *http.Request) error

// Mux serves the routes of one service, keyed by http.ServeMux patterns
// ("GET /jobs/{name}"); an unknown route is a NotFound error naming the
// API.
type Mux struct {
	api string
	log *slog.Logger
	mux *http.ServeMux
}

// NewMux returns a Mux for the API called api ("tracking API") that logs
// server errors to log (nil: slog.Default()).
func NewMux(api string, log *slog.Logger, routes map[string]Route) *Mux {
	if log == nil {
		log = slog.Default()
	}
	m := &Mux{api: api, log: log, mux: http.NewServeMux()}
	for pattern, fn := range routes {
		m.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r); err != nil {
				m.WriteError(w, r, err)
			}
		})
	}
	return m
}

func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := m.mux.Handler(r); pattern == "" {
		m.WriteError(w, r, ferry.Errorf(ferry.NotFound, "no %s route %s %s", m.api, r.Method, r.URL.Path))
		return
	}
	m.mux.ServeHTTP(w, r)
}

// ErrorBody is the JSON of an error answer.
type ErrorBody struct {
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    string `json:"code"`
}

// WriteError answers err with the status of its ferry.Code; server
// errors are logged.
func (m *Mux) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, m.log, m.api, err)
}

func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, api string, err error) {
	code := ferry.ErrorCode(err)
	status := StatusOf(code)
	if status >= 500 {
		log.Error(api, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	_ = WriteJSON(w, status, ErrorBody{Message: err.Error(), Reason: http.StatusText(status), Code: string(code)})
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// ReadJSON decodes the request's JSON body (at most max bytes, no unknown
// fields) into v; problems are Invalid errors.
func ReadJSON(r *http.Request, v any, max int64) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return ferry.Errorf(ferry.Invalid, "%s %s: the request needs a JSON body", r.Method, r.URL.Path)
		}
		return ferry.Errorf(ferry.Invalid, "%s %s: bad JSON body: %v", r.Method, r.URL.Path, err)
	}
	return nil
}

// StatusOf maps an error code to an HTTP status.
func StatusOf(code ferry.Code) int {
	switch code {
	case ferry.NotFound:
		return http.StatusNotFound
	case ferry.AlreadyExists:
		return http.StatusConflict
	case ferry.Invalid:
		return http.StatusBadRequest
	case ferry.Unavailable:
		return http.StatusServiceUnavailable
	case ferry.NotSupported:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// CodeOf maps an HTTP status to an error code.
func CodeOf(status int) ferry.Code {
	switch status {
	case http.StatusNotFound:
		return ferry.NotFound
	case http.StatusConflict:
		return ferry.AlreadyExists
	case http.StatusBadRequest:
		return ferry.Invalid
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return ferry.Unavailable
	case http.StatusNotImplemented:
		return ferry.NotSupported
	}
	return ferry.Internal
}

// Client is the authenticated base of every domain's Go client of the
// control plane.
type Client struct {
	api   string // "tracking API", for messages
	base  string // ends with "/"
	token string
	hc    *http.Client
}

// NewClient returns a client of the API called api at baseURL (e.g.
// http://127.0.0.1:8888/api/ferry/v1/) authenticating with token. hc nil
// means http.DefaultClient.
func NewClient(api, baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{api: api, base: strings.TrimRight(baseURL, "/") + "/", token: token, hc: hc}
}

// URL returns the API's base URL, ending in "/".
func (c *Client) URL() string { return c.base }

// NewRequest returns a request for path below the base URL, with the token.
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, ferry.Errorf(ferry.Invalid, "%s %s: %w", c.api, c.base, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "token "+c.token)
	}
	return req, nil
}

// Do sends req; an error answer becomes a *ferry.Error with its code.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		return nil, ferry.Errorf(ferry.Unavailable, "%s: cannot reach %s (is `ferry lab` running? FERRY_API_URL says where): %w", c.api, c.base, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, c.decodeError(req, resp)
	}
	return resp, nil
}

func (c *Client) decodeError(req *http.Request, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
		return &ferry.Error{Code: ferry.Invalid, Message: fmt.Sprintf(
			"%s %s %s: %s: the server refused the token (set FERRY_TOKEN to the token of `ferry lab`)", c.api, req.Method, req.URL.Path, resp.Status)}
	}
	var e ErrorBody
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		code := ferry.Code(e.Code)
		if code == "" {
			code = CodeOf(resp.StatusCode)
		}
		return &ferry.Error{Code: code, Message: e.Message}
	}
	return &ferry.Error{Code: CodeOf(resp.StatusCode), Message: fmt.Sprintf("%s %s %s: %s: %s", c.api, req.Method, req.URL.Path, resp.Status, strings.TrimSpace(string(b)))}
}

// Call sends in as JSON (nil: no body) and decodes the JSON answer into out
// (nil: discarded).
func (c *Client) Call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := c.NewRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return ferry.Errorf(ferry.Internal, "%s %s %s: bad answer: %w", c.api, method, path, err)
	}
	return nil
}
