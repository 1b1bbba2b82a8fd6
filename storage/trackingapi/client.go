package trackingapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/storage"
)

// Client is a storage.Tracker over the tracking API of a Ferry server,
// with the run artifact routes besides.
type Client struct {
	api *controlplane.Client
}

var _ storage.Tracker = (*Client)(nil)

// NewClient returns a client of the API at baseURL (e.g.
// http://127.0.0.1:8888/api/ferry/v1/) authenticating with token. hc nil
// means http.DefaultClient.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	return &Client{api: controlplane.NewClient("tracking API", baseURL, token, hc)}
}

// URL returns the API's base URL.
func (c *Client) URL() string { return c.api.URL() }

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	return c.api.Call(ctx, method, path, in, out)
}

func esc(s string) string { return url.PathEscape(s) }

func (c *Client) CreateExperiment(ctx context.Context, name, artifactLocation string, tags map[string]string) (storage.Experiment, error) {
	var out experimentJSON
	err := c.call(ctx, "POST", "experiments", createExperimentJSON{name, artifactLocation, tags}, &out)
	return out.experiment(), err
}

func (c *Client) GetExperiment(ctx context.Context, id string) (storage.Experiment, error) {
	var out experimentJSON
	err := c.call(ctx, "GET", "experiments/"+esc(id), nil, &out)
	return out.experiment(), err
}

func (c *Client) GetExperimentByName(ctx context.Context, name string) (storage.Experiment, error) {
	var out experimentJSON
	err := c.call(ctx, "GET", "experiments/by-name/"+esc(name), nil, &out)
	return out.experiment(), err
}

func (c *Client) ListExperiments(ctx context.Context, view storage.ViewType) ([]storage.Experiment, error) {
	var out struct {
		Experiments []experimentJSON `json:"experiments"`
	}
	if err := c.call(ctx, "GET", "experiments?view="+viewName(view), nil, &out); err != nil {
		return nil, err
	}
	exps := make([]storage.Experiment, len(out.Experiments))
	for i, e := range out.Experiments {
		exps[i] = e.experiment()
	}
	return exps, nil
}

func (c *Client) SetExperimentTag(ctx context.Context, id string, tag storage.Tag) error {
	return c.call(ctx, "POST", "experiments/"+esc(id)+"/tags", kvJSON(tag), nil)
}

func (c *Client) DeleteExperiment(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", "experiments/"+esc(id), nil, nil)
}

func (c *Client) RestoreExperiment(ctx context.Context, id string) error {
	return c.call(ctx, "POST", "experiments/"+esc(id)+"/restore", nil, nil)
}

func (c *Client) CreateRun(ctx context.Context, spec storage.RunSpec) (storage.Run, error) {
	in := runSpecJSON{ExperimentID: spec.ExperimentID, Name: spec.Name, ParentRunID: spec.ParentRunID,
		SourceNotebook: spec.SourceNotebook, Tags: spec.Tags, Status: string(spec.Status)}
	if !spec.StartTime.IsZero() {
		in.StartTime = &spec.StartTime
	}
	var out runJSON
	err := c.call(ctx, "POST", "runs", in, &out)
	return out.run(), err
}

func (c *Client) GetRun(ctx context.Context, id string) (storage.Run, error) {
	var out runJSON
	err := c.call(ctx, "GET", "runs/"+esc(id), nil, &out)
	return out.run(), err
}

func (c *Client) UpdateRun(ctx context.Context, id string, u storage.RunUpdate) (storage.Run, error) {
	in := runUpdateJSON{Status: string(u.Status), Name: u.Name}
	if !u.EndTime.IsZero() {
		in.EndTime = &u.EndTime
	}
	var out runJSON
	err := c.call(ctx, "PATCH", "runs/"+esc(id), in, &out)
	return out.run(), err
}

func (c *Client) DeleteRun(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", "runs/"+esc(id), nil, nil)
}

func (c *Client) RestoreRun(ctx context.Context, id string) error {
	return c.call(ctx, "POST", "runs/"+esc(id)+"/restore", nil, nil)
}

func (c *Client) LogBatch(ctx context.Context, runID string, metrics []storage.Metric, params []storage.Param, tags []storage.Tag) error {
	in := logBatchJSON{}
	for _, m := range metrics {
		in.Metrics = append(in.Metrics, metricJSON{m.Key, jsonFloat(m.Value), m.Timestamp, m.Step})
	}
	for _, p := range params {
		in.Params = append(in.Params, kvJSON(p))
	}
	for _, t := range tags {
		in.Tags = append(in.Tags, kvJSON(t))
	}
	return c.call(ctx, "POST", "runs/"+esc(runID)+"/log", in, nil)
}

func (c *Client) LogMetric(ctx context.Context, runID string, m storage.Metric) error {
	return c.LogBatch(ctx, runID, []storage.Metric{m}, nil, nil)
}

func (c *Client) LogParam(ctx context.Context, runID string, p storage.Param) error {
	return c.LogBatch(ctx, runID, nil, []storage.Param{p}, nil)
}

func (c *Client) SetTag(ctx context.Context, runID string, t storage.Tag) error {
	return c.LogBatch(ctx, runID, nil, nil, []storage.Tag{t})
}

func (c *Client) LogInputs(ctx context.Context, runID string, inputs []storage.DatasetInput) error {
	in := struct {
		Inputs []inputJSON `json:"inputs"`
	}{Inputs: []inputJSON{}}
	for _, i := range inputs {
		in.Inputs = append(in.Inputs, inputJSON(i))
	}
	return c.call(ctx, "POST", "runs/"+esc(runID)+"/inputs", in, nil)
}

func (c *Client) MetricHistory(ctx context.Context, runIDs []string, keys []string) ([]storage.MetricSeries, error) {
	return c.SampledMetricHistory(ctx, runIDs, keys, 0)
}

// SampledMetricHistory is MetricHistory with each series cut down by the
// server to at most maxPoints points (storage.Downsample; 0: all points),
// for charts of many runs.
func (c *Client) SampledMetricHistory(ctx context.Context, runIDs []string, keys []string, maxPoints int) ([]storage.MetricSeries, error) {
	var out struct {
		Series []seriesJSON `json:"series"`
	}
	if err := c.call(ctx, "POST", "metrics/history", historyRequestJSON{runIDs, keys, maxPoints}, &out); err != nil {
		return nil, err
	}
	ss := make([]storage.MetricSeries, len(out.Series))
	for i, s := range out.Series {
		ss[i] = s.series()
	}
	return ss, nil
}

func (c *Client) SearchRuns(ctx context.Context, req storage.SearchRunsRequest) ([]storage.Run, string, error) {
	var out searchResultJSON
	in := searchJSON{ExperimentIDs: req.ExperimentIDs, Filter: req.Filter, OrderBy: req.OrderBy,
		MaxResults: req.MaxResults, PageToken: req.PageToken, View: viewName(req.ViewType)}
	if err := c.call(ctx, "POST", "runs/search", in, &out); err != nil {
		return nil, "", err
	}
	runs := make([]storage.Run, len(out.Runs))
	for i, r := range out.Runs {
		runs[i] = r.run()
	}
	return runs, out.NextPageToken, nil
}

// Close releases nothing: the client holds no connection of its own.
func (c *Client) Close() error { return nil }

// ArtifactInfo describes a stored artifact of a run.
type ArtifactInfo struct {
	Path        string
	Size        int64
	ModTime     time.Time
	SHA256      string
	ContentType string
}

// PutArtifact uploads r (size bytes, or -1 when unknown) as the artifact
// path of a run.
func (c *Client) PutArtifact(ctx context.Context, runID, path string, r io.Reader, size int64, contentType string) (ArtifactInfo, error) {
	req, err := c.api.NewRequest(ctx, "PUT", "runs/"+esc(runID)+"/artifacts/"+escapePath(path), r)
	if err != nil {
		return ArtifactInfo{}, err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.api.Do(req)
	if err != nil {
		return ArtifactInfo{}, err
	}
	defer resp.Body.Close()
	var o objectJSON
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
		return ArtifactInfo{}, ferry.Errorf(ferry.Internal, "tracking API: put artifact %s: bad answer: %w", path, err)
	}
	return ArtifactInfo(o), nil
}

// GetArtifact opens an artifact of a run for reading; the caller closes it.
func (c *Client) GetArtifact(ctx context.Context, runID, path string) (io.ReadCloser, ArtifactInfo, error) {
	req, err := c.api.NewRequest(ctx, "GET", "runs/"+esc(runID)+"/artifacts/"+escapePath(path), nil)
	if err != nil {
		return nil, ArtifactInfo{}, err
	}
	resp, err := c.api.Do(req)
	if err != nil {
		return nil, ArtifactInfo{}, err
	}
	info := ArtifactInfo{Path: path, Size: resp.ContentLength, SHA256: resp.Header.Get("X-Ferry-Sha256"), ContentType: resp.Header.Get("Content-Type")}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		info.ModTime = t
	}
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil {
		info.Size = n
	}
	return resp.Body, info, nil
}

// ListArtifacts lists the artifacts of a run whose paths start with prefix.
func (c *Client) ListArtifacts(ctx context.Context, runID, prefix string) ([]ArtifactInfo, error) {
	var out struct {
		Artifacts []objectJSON `json:"artifacts"`
	}
	if err := c.call(ctx, "GET", "runs/"+esc(runID)+"/artifacts?prefix="+url.QueryEscape(prefix), nil, &out); err != nil {
		return nil, err
	}
	infos := make([]ArtifactInfo, len(out.Artifacts))
	for i, o := range out.Artifacts {
		infos[i] = ArtifactInfo(o)
	}
	return infos, nil
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
