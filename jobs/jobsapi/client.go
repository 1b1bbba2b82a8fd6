package jobsapi

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/jobs"
)

// Client is a jobs.Backend over the jobs API of a Ferry server.
type Client struct {
	api *controlplane.Client
}

var _ jobs.Backend = (*Client)(nil)

// NewClient returns a client of the API at baseURL (e.g.
// http://127.0.0.1:8888/api/ferry/v1/) authenticating with token. hc nil
// means http.DefaultClient; it must have no Timeout, which would cut
// followed logs and watches.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	return &Client{api: controlplane.NewClient("jobs API", baseURL, token, hc)}
}

// URL returns the API's base URL.
func (c *Client) URL() string { return c.api.URL() }

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	return c.api.Call(ctx, method, path, in, out)
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
	return controlplane.Watch[jobs.Event](ctx, c.api, path)
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
	req, err := c.api.NewRequest(ctx, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.api.Do(req)
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
