package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
)

// Client is a jobs.Backend over the jobs API of a Ferry server.
type Client struct {
	base  string // ends with "/"
	token string
	hc    *http.Client
}

var _ jobs.Backend = (*Client)(nil)

// NewClient returns a client of the API at baseURL (e.g.
// http://127.0.0.1:8888/api/ferry/v1/) authenticating with token. hc nil
// means http.DefaultClient; it must have no Timeout, which would cut
// followed logs and watches.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/") + "/", token: token, hc: hc}
}

// URL returns the API's base URL.
func (c *Client) URL() string { return c.base }

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, storage.Errorf(storage.Invalid, "jobs API %s: %w", c.base, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "token "+c.token)
	}
	return req, nil
}

// do sends req and turns an error answer into a *storage.Error.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		return nil, storage.Errorf(storage.Unavailable, "jobs API: cannot reach %s (is `ferry lab` running? FERRY_API_URL says where): %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, decodeError(req, resp)
	}
	return resp, nil
}

func decodeError(req *http.Request, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
		return &storage.Error{Code: storage.Invalid, Message: fmt.Sprintf(
			"jobs API %s %s: %s: the server refused the token (set FERRY_TOKEN to the token of `ferry lab`)", req.Method, req.URL.Path, resp.Status)}
	}
	var e errorJSON
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		code := storage.Code(e.Code)
		if code == "" {
			code = codeOf(resp.StatusCode)
		}
		return &storage.Error{Code: code, Message: e.Message}
	}
	msg := strings.TrimSpace(string(b))
	return &storage.Error{Code: codeOf(resp.StatusCode), Message: fmt.Sprintf("jobs API %s %s: %s: %s", req.Method, req.URL.Path, resp.Status, msg)}
}

func codeOf(status int) storage.Code {
	switch status {
	case http.StatusNotFound:
		return storage.NotFound
	case http.StatusConflict:
		return storage.AlreadyExists
	case http.StatusBadRequest:
		return storage.Invalid
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return storage.Unavailable
	case http.StatusNotImplemented:
		return storage.NotSupported
	}
	return storage.Internal
}

// call sends a JSON request (in nil: no body) and decodes a JSON answer
// into out (nil: discarded).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return storage.Errorf(storage.Internal, "jobs API %s %s: bad answer: %w", method, path, err)
	}
	return nil
}

func esc(s string) string { return url.PathEscape(s) }

// Submit sends spec to the server, which validates it and starts the job.
func (c *Client) Submit(ctx context.Context, spec jobs.Spec) (jobs.Job, error) {
	var j jobs.Job
	err := c.call(ctx, "POST", "jobs", spec, &j)
	return j, err
}

// Get returns the job named name.
func (c *Client) Get(ctx context.Context, name string) (jobs.Job, error) {
	var j jobs.Job
	err := c.call(ctx, "GET", "jobs/"+esc(name), nil, &j)
	return j, err
}

// List returns the jobs that match opts, oldest first.
func (c *Client) List(ctx context.Context, opts jobs.ListOptions) ([]jobs.Job, error) {
	out, err := c.list(ctx, listQuery(opts, nil))
	return out.Jobs, err
}

// ListStatus is List keeping only jobs whose phase is one of statuses.
func (c *Client) ListStatus(ctx context.Context, opts jobs.ListOptions, statuses ...jobs.ConditionType) ([]jobs.Job, error) {
	out, err := c.list(ctx, listQuery(opts, statuses))
	return out.Jobs, err
}

// BackendName returns the name of the server's backend ("local", "kube").
func (c *Client) BackendName(ctx context.Context) (string, error) {
	out, err := c.list(ctx, url.Values{"limit": {"1"}})
	return out.Backend, err
}

func (c *Client) list(ctx context.Context, q url.Values) (listJSON, error) {
	var out listJSON
	path := "jobs"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	err := c.call(ctx, "GET", path, nil, &out)
	return out, err
}

func listQuery(opts jobs.ListOptions, statuses []jobs.ConditionType) url.Values {
	q := url.Values{}
	if opts.Kind != "" {
		q.Set("kind", string(opts.Kind))
	}
	for k, v := range opts.Labels {
		q.Add("label", k+"="+v)
	}
	for _, s := range statuses {
		q.Add("status", string(s))
	}
	return q
}

// Watch streams the server's events of the job named name (all jobs when
// name is ""), until ctx is done or the server ends the watch (when it
// shuts down); then it closes the channel.
func (c *Client) Watch(ctx context.Context, name string) (<-chan jobs.Event, error) {
	path := "jobs?watch=1"
	if name != "" {
		path = "jobs/" + esc(name) + "/watch"
	}
	req, err := c.newRequest(ctx, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	ch := make(chan jobs.Event)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var ev jobs.Event
			if err := json.Unmarshal(line, &ev); err != nil {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// Logs returns the output of one replica, streamed from the server; with
// opts.Follow the reader returns new output until the replica ends or ctx
// is done.
func (c *Client) Logs(ctx context.Context, name string, opts jobs.LogOptions) (io.ReadCloser, error) {
	q := url.Values{}
	if opts.Replica != "" {
		q.Set("replica", jobs.ReplicaID(opts.Replica, opts.Index))
	}
	if opts.Follow {
		q.Set("follow", "1")
	}
	if opts.TailLines > 0 {
		q.Set("tail", strconv.Itoa(opts.TailLines))
	}
	path := "jobs/" + esc(name) + "/logs"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := c.newRequest(ctx, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Cancel stops every replica of the job and returns once none runs.
func (c *Client) Cancel(ctx context.Context, name string) error {
	return c.call(ctx, "POST", "jobs/"+esc(name)+"/cancel", nil, nil)
}

// Delete cancels the job if it runs, then removes its record and logs.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.call(ctx, "DELETE", "jobs/"+esc(name), nil, nil)
}
