package tuningapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/tuning"
)

// Client is a tuning.Backend over the tuning API of a Ferry server.
type Client struct {
	api *controlplane.Client
}

var _ tuning.Backend = (*Client)(nil)

// NewClient returns a client of the API at baseURL (e.g.
// http://127.0.0.1:8888/api/ferry/v1/) authenticating with token. hc nil
// means http.DefaultClient; it must have no Timeout, which would cut
// watches.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	return &Client{api: controlplane.NewClient("tuning API", baseURL, token, hc)}
}

// URL returns the API's base URL.
func (c *Client) URL() string { return c.api.URL() }

func esc(s string) string { return url.PathEscape(s) }

// Create sends spec to the server, which validates it and starts the study.
func (c *Client) Create(ctx context.Context, spec tuning.Spec) (tuning.Study, error) {
	var st tuning.Study
	err := c.api.Call(ctx, "POST", "studies", spec, &st)
	return st, err
}

// Get returns the study named name.
func (c *Client) Get(ctx context.Context, name string) (tuning.Study, error) {
	var st tuning.Study
	err := c.api.Call(ctx, "GET", "studies/"+esc(name), nil, &st)
	return st, err
}

// List returns every study, oldest first.
func (c *Client) List(ctx context.Context) ([]tuning.Study, error) {
	var out listJSON
	err := c.api.Call(ctx, "GET", "studies", nil, &out)
	return out.Studies, err
}

// Watch streams the study named name (every study for ""), then its
// changes, until ctx is done or the server ends the watch.
func (c *Client) Watch(ctx context.Context, name string) (<-chan tuning.Event, error) {
	path := "studies?watch=1"
	if name != "" {
		path = "studies/" + esc(name) + "/watch"
	}
	return controlplane.Watch[tuning.Event](ctx, c.api, path)
}

// Stop kills the study's running trials and stops it.
func (c *Client) Stop(ctx context.Context, name string) error {
	return c.api.Call(ctx, "POST", "studies/"+esc(name)+"/stop", nil, nil)
}

// Resume goes on with a stopped study.
func (c *Client) Resume(ctx context.Context, name string) (tuning.Study, error) {
	var st tuning.Study
	err := c.api.Call(ctx, "POST", "studies/"+esc(name)+"/resume", nil, &st)
	return st, err
}

// Delete stops the study and removes its record.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.api.Call(ctx, "DELETE", "studies/"+esc(name), nil, nil)
}

// Ask starts the next trial for the caller to run.
func (c *Client) Ask(ctx context.Context, name string) (tuning.Trial, bool, error) {
	var out askJSON
	if err := c.api.Call(ctx, "POST", "studies/"+esc(name)+"/ask", nil, &out); err != nil {
		return tuning.Trial{}, false, err
	}
	if !out.OK || out.Trial == nil {
		return tuning.Trial{}, false, nil
	}
	return *out.Trial, true, nil
}

// Tell sends a report of a trial started by Ask.
func (c *Client) Tell(ctx context.Context, name, trial string, r tuning.Report) (tuning.Decision, error) {
	var d tuning.Decision
	err := c.api.Call(ctx, "POST", "studies/"+esc(name)+"/trials/"+esc(trial)+"/report", r, &d)
	return d, err
}
