package tracking

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/storage"
)

// RunsTable shows runs one per row: name, id, status, start, duration,
// then every param and the latest value of every metric (columns sorted by
// key).
func RunsTable(runs []storage.Run) display.Table {
	params, metrics := keysOf(runs)
	t := display.Table{Columns: []string{"run", "id", "status", "start", "duration"}}
	for _, k := range params {
		t.Columns = append(t.Columns, "params."+k)
	}
	for _, k := range metrics {
		t.Columns = append(t.Columns, "metrics."+k)
	}
	for _, r := range runs {
		row := []any{r.Name, shortID(r.ID), string(r.Status), r.StartTime, duration(r)}
		for _, k := range params {
			row = append(row, r.Params[k])
		}
		for _, k := range metrics {
			if m, ok := r.Metrics[k]; ok {
				row = append(row, m.Value)
			} else {
				row = append(row, nil)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func keysOf(runs []storage.Run) (params, metrics []string) {
	ps, ms := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		for k := range r.Params {
			ps[k] = true
		}
		for k := range r.Metrics {
			ms[k] = true
		}
	}
	return sortedKeys(ps), sortedKeys(ms)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func duration(r storage.Run) string {
	if r.StartTime.IsZero() {
		return ""
	}
	end := r.EndTime
	if end.IsZero() {
		if r.Status.Terminal() {
			return ""
		}
		end = time.Now()
	}
	return end.Sub(r.StartTime).Round(time.Millisecond).String()
}

// Comparison puts runs side by side: a table with one column per run and
// one row per attribute, param and metric (the latest value), where values
// that differ between runs are marked, and a chart of the metric histories.
type Comparison struct {
	Runs  []storage.Run
	Table display.Table
	Chart display.VegaLiteChart
}

// MIMEBundle shows the chart (JupyterLab renders the richest type of a
// bundle, so the table goes in a display of its own: see Displays).
func (c *Comparison) MIMEBundle() (data, metadata map[string]any) {
	data, metadata = c.Chart.MIMEBundle()
	data["text/plain"] = c.Table.String()
	return data, metadata
}

// chartPoints bounds the points of a comparison chart: histories are
// downsampled so that all series together hold about this many.
const chartPoints = 20000

// Compare compares runs. Histories are read in one call, downsampled for
// the chart.
func (s *Session) Compare(ctx context.Context, runs []storage.Run) (*Comparison, error) {
	if len(runs) == 0 {
		return nil, ferry.Errorf(ferry.Invalid, "no runs to compare: name run ids or names, or use --filter/--experiment")
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	params, metrics := keysOf(runs)
	perSeries := max(4, chartPoints/max(1, len(runs)*max(1, len(metrics))))
	var series []storage.MetricSeries
	var err error
	if s.Remote != nil {
		series, err = s.Remote.SampledMetricHistory(ctx, ids, nil, perSeries)
	} else {
		series, err = s.Tracker.MetricHistory(ctx, ids, nil)
		for i := range series {
			series[i].Points = storage.Downsample(series[i].Points, perSeries)
		}
	}
	if err != nil {
		return nil, err
	}
	c := &Comparison{Runs: runs}
	c.Table = compareTable(runs, params, metrics)
	c.Chart = historyChart(runs, series)
	return c, nil
}

func compareTable(runs []storage.Run, params, metrics []string) display.Table {
	t := display.Table{Columns: []string{""}}
	names := runLabels(runs)
	for _, r := range runs {
		t.Columns = append(t.Columns, names[r.ID])
	}
	add := func(label string, val func(r storage.Run) any) {
		row := []any{label}
		marks := []bool{false}
		first, differ := "", false
		for i, r := range runs {
			v := val(r)
			row = append(row, v)
			s := display.Cell(v)
			if i == 0 {
				first = s
			} else if s != first {
				differ = true
			}
		}
		for range runs {
			marks = append(marks, differ)
		}
		t.Rows = append(t.Rows, row)
		t.Marked = append(t.Marked, marks)
	}
	add("id", func(r storage.Run) any { return r.ID })
	add("status", func(r storage.Run) any { return string(r.Status) })
	add("duration", func(r storage.Run) any { return duration(r) })
	for _, k := range params {
		add("params."+k, func(r storage.Run) any {
			if v, ok := r.Params[k]; ok {
				return v
			}
			return nil
		})
	}
	for _, k := range metrics {
		add("metrics."+k, func(r storage.Run) any {
			if m, ok := r.Metrics[k]; ok {
				return m.Value
			}
			return nil
		})
	}
	// Only the id row always differs: unmark it.
	t.Marked[0] = nil
	t.Caption = fmt.Sprintf("%d runs; values that differ between runs are marked", len(runs))
	return t
}

// runLabels names runs by name, adding the short id where names repeat.
func runLabels(runs []storage.Run) map[string]string {
	count := map[string]int{}
	for _, r := range runs {
		count[r.Name]++
	}
	out := map[string]string{}
	for _, r := range runs {
		if count[r.Name] > 1 || r.Name == "" {
			out[r.ID] = strings.TrimSpace(r.Name + " " + shortID(r.ID))
		} else {
			out[r.ID] = r.Name
		}
	}
	return out
}

func historyChart(runs []storage.Run, series []storage.MetricSeries) display.VegaLiteChart {
	names := runLabels(runs)
	var values []map[string]any
	for _, s := range series {
		for _, p := range s.Points {
			values = append(values, map[string]any{"run": names[s.RunID], "metric": s.Key, "step": p.Step, "value": p.Value})
		}
	}
	if values == nil {
		values = []map[string]any{}
	}
	spec := map[string]any{
		"$schema":     "https://vega.github.io/schema/vega-lite/v5.json",
		"description": "metric histories of the compared runs",
		"data":        map[string]any{"values": values},
		"facet":       map[string]any{"field": "metric", "type": "nominal", "title": nil},
		"columns":     2,
		"resolve":     map[string]any{"scale": map[string]any{"y": "independent"}},
		"spec": map[string]any{
			"width":  320,
			"height": 180,
			"mark":   map[string]any{"type": "line", "point": len(values) < 500},
			"encoding": map[string]any{
				"x":       map[string]any{"field": "step", "type": "quantitative"},
				"y":       map[string]any{"field": "value", "type": "quantitative"},
				"color":   map[string]any{"field": "run", "type": "nominal", "legend": map[string]any{"title": "run"}},
				"tooltip": []any{map[string]any{"field": "run"}, map[string]any{"field": "step"}, map[string]any{"field": "value"}},
			},
		},
	}
	return display.VegaLite(spec)
}

// FindRuns resolves references to runs: run ids, or names of runs in the
// experiment expID (the newest run of a repeated name).
func (s *Session) FindRuns(ctx context.Context, expID string, refs []string) ([]storage.Run, error) {
	var out []storage.Run
	for _, ref := range refs {
		r, err := s.Tracker.GetRun(ctx, ref)
		if err == nil {
			out = append(out, r)
			continue
		}
		if !ferry.IsNotFound(err) && ferry.ErrorCode(err) != ferry.Invalid {
			return nil, err
		}
		runs, _, err := s.Tracker.SearchRuns(ctx, storage.SearchRunsRequest{ExperimentIDs: []string{expID},
			Filter: "attributes.run_name = '" + strings.ReplaceAll(ref, "'", "''") + "'", MaxResults: 1})
		if err != nil {
			return nil, err
		}
		if len(runs) == 0 {
			return nil, ferry.Errorf(ferry.NotFound, "no run %q: not a run id, nor a run name in experiment %s (%%runs lists the runs)", ref, expID)
		}
		out = append(out, runs[0])
	}
	return out, nil
}

// Search returns every run of the experiments that matches filter, in
// orderBy order, up to limit runs (0: all).
func (s *Session) Search(ctx context.Context, expIDs []string, filter string, orderBy []string, limit int) ([]storage.Run, error) {
	var out []storage.Run
	req := storage.SearchRunsRequest{ExperimentIDs: expIDs, Filter: filter, OrderBy: orderBy, MaxResults: storage.DefaultMaxResults}
	for {
		if limit > 0 {
			req.MaxResults = min(storage.DefaultMaxResults, limit-len(out))
		}
		runs, next, err := s.Tracker.SearchRuns(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, runs...)
		if next == "" || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		req.PageToken = next
	}
}

// Describe shows one run as a two-column table: attributes, params,
// latest metrics, tags, inputs and artifacts.
func (s *Session) Describe(ctx context.Context, r storage.Run) (display.Table, error) {
	t := display.Table{Columns: []string{"field", "value"}, Caption: "run " + r.Name}
	add := func(k string, v any) { t.Rows = append(t.Rows, []any{k, v}) }
	add("id", r.ID)
	add("experiment", r.ExperimentID)
	add("status", string(r.Status))
	add("start", r.StartTime)
	add("end", r.EndTime)
	add("source notebook", r.SourceNotebook)
	add("parent run", r.ParentRunID)
	add("artifact uri", r.ArtifactURI)
	for _, k := range sortedStrings(r.Params) {
		add("params."+k, r.Params[k])
	}
	mk := make([]string, 0, len(r.Metrics))
	for k := range r.Metrics {
		mk = append(mk, k)
	}
	sort.Strings(mk)
	for _, k := range mk {
		add("metrics."+k, fmt.Sprintf("%s (step %d)", display.Cell(r.Metrics[k].Value), r.Metrics[k].Step))
	}
	for _, k := range sortedStrings(r.Tags) {
		add("tags."+k, r.Tags[k])
	}
	for _, in := range r.Inputs {
		add("input "+in.Name, strings.TrimSpace(in.Source+" "+in.Digest))
	}
	arts, err := s.Artifacts(ctx, r)
	if err != nil {
		return display.Table{}, err
	}
	for _, a := range arts {
		add("artifact", fmt.Sprintf("%s (%d bytes)", a.Key, a.Size))
	}
	return t, nil
}

func sortedStrings(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
