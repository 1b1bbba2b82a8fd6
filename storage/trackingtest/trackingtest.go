package trackingtest

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
)

// Open returns a new tracker on an empty database for one test; the suite
// closes it.
type Open func(t *testing.T) storage.Tracker

// Run runs the contract suite, each test on a fresh tracker from open.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, tr storage.Tracker)
	}{
		{"DefaultExperiment", testDefaultExperiment},
		{"Experiments", testExperiments},
		{"ExperimentErrors", testExperimentErrors},
		{"Runs", testRuns},
		{"RunErrors", testRunErrors},
		{"ParamsWriteOnce", testParamsWriteOnce},
		{"Tags", testTags},
		{"MetricsLatest", testMetricsLatest},
		{"MetricHistory", testMetricHistory},
		{"MetricHistoryManyRuns", testMetricHistoryManyRuns},
		{"HistoryWhileLogging", testHistoryWhileLogging},
		{"SpecialValues", testSpecialValues},
		{"BatchAllOrNothing", testBatchAllOrNothing},
		{"Inputs", testInputs},
		{"SearchFilters", testSearchFilters},
		{"SearchOrderAndPaging", testSearchOrderAndPaging},
		{"SearchErrors", testSearchErrors},
		{"DeletedRuns", testDeletedRuns},
		{"ConcurrentLogging", testConcurrentLogging},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := open(t)
			t.Cleanup(func() {
				if err := tr.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tc.fn(t, tr)
		})
	}
}

// wantCode fails t unless err has code and its message contains every
// one of parts.
func wantCode(t *testing.T, err error, code ferry.Code, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s error containing %q", code, parts)
	}
	if got := ferry.ErrorCode(err); got != code {
		t.Fatalf("got error code %q (%v), want %q", got, err, code)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newExperiment(t *testing.T, tr storage.Tracker, name string) storage.Experiment {
	t.Helper()
	return must[storage.Experiment](t)(tr.CreateExperiment(t.Context(), name, "", nil))
}

func newRun(t *testing.T, tr storage.Tracker, spec storage.RunSpec) storage.Run {
	t.Helper()
	return must[storage.Run](t)(tr.CreateRun(t.Context(), spec))
}

func testDefaultExperiment(t *testing.T, tr storage.Tracker) {
	e := must[storage.Experiment](t)(tr.GetExperiment(t.Context(), storage.DefaultExperimentID))
	if e.Name != "Default" || e.LifecycleStage != storage.Active {
		t.Errorf("got %q %s, want Default active", e.Name, e.LifecycleStage)
	}
	if !strings.HasSuffix(e.ArtifactLocation, "/0") {
		t.Errorf("default artifact location %q: want <root>/0", e.ArtifactLocation)
	}
	wantCode(t, tr.DeleteExperiment(t.Context(), "0"), ferry.Invalid, "Default")
}

func testExperiments(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	a := must[storage.Experiment](t)(tr.CreateExperiment(ctx, "alpha", "s3://bucket/alpha", map[string]string{"team": "vision"}))
	b := newExperiment(t, tr, "beta")
	if a.ID == b.ID || a.ID == "0" {
		t.Fatalf("ids %q and %q: want distinct, non-default", a.ID, b.ID)
	}
	if a.ArtifactLocation != "s3://bucket/alpha" {
		t.Errorf("artifact location %q, want s3://bucket/alpha", a.ArtifactLocation)
	}
	if !strings.HasSuffix(b.ArtifactLocation, "/"+b.ID) {
		t.Errorf("default artifact location %q, want <root>/%s", b.ArtifactLocation, b.ID)
	}
	if got := a.Tags; !reflect.DeepEqual(got, map[string]string{"team": "vision"}) {
		t.Errorf("tags %v", got)
	}
	if a.CreationTime.Before(before) || a.CreationTime.Location() != time.UTC || a.CreationTime.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("creation time %v: want recent, UTC, ms precision", a.CreationTime)
	}
	got := must[storage.Experiment](t)(tr.GetExperimentByName(ctx, "alpha"))
	if got.ID != a.ID {
		t.Errorf("by name: id %q, want %q", got.ID, a.ID)
	}
	ok(t, tr.SetExperimentTag(ctx, a.ID, storage.Tag{Key: "team", Value: "nlp"}))
	got = must[storage.Experiment](t)(tr.GetExperiment(ctx, a.ID))
	if got.Tags["team"] != "nlp" {
		t.Errorf("tag after set: %q, want nlp", got.Tags["team"])
	}

	ok(t, tr.DeleteExperiment(ctx, a.ID))
	names := func(view storage.ViewType) []string {
		var out []string
		for _, e := range must[[]storage.Experiment](t)(tr.ListExperiments(ctx, view)) {
			out = append(out, e.Name)
		}
		sort.Strings(out)
		return out
	}
	if got, want := names(storage.ActiveOnly), []string{"Default", "beta"}; !reflect.DeepEqual(got, want) {
		t.Errorf("active experiments %v, want %v", got, want)
	}
	if got, want := names(storage.DeletedOnly), []string{"alpha"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deleted experiments %v, want %v", got, want)
	}
	if got, want := names(storage.All), []string{"Default", "alpha", "beta"}; !reflect.DeepEqual(got, want) {
		t.Errorf("all experiments %v, want %v", got, want)
	}
	_, err := tr.CreateExperiment(ctx, "alpha", "", nil)
	wantCode(t, err, ferry.AlreadyExists, "alpha", "deleted")
	_, err = tr.CreateRun(ctx, storage.RunSpec{ExperimentID: a.ID})
	wantCode(t, err, ferry.Invalid, a.ID, "deleted")

	ok(t, tr.RestoreExperiment(ctx, a.ID))
	got = must[storage.Experiment](t)(tr.GetExperiment(ctx, a.ID))
	if got.LifecycleStage != storage.Active {
		t.Errorf("after restore: %s, want active", got.LifecycleStage)
	}
}

func testExperimentErrors(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	newExperiment(t, tr, "dup")
	_, err := tr.CreateExperiment(ctx, "dup", "", nil)
	wantCode(t, err, ferry.AlreadyExists, `"dup"`)
	_, err = tr.CreateExperiment(ctx, "  ", "", nil)
	wantCode(t, err, ferry.Invalid, "name")
	_, err = tr.GetExperiment(ctx, "12345")
	wantCode(t, err, ferry.NotFound, "12345")
	_, err = tr.GetExperiment(ctx, "not-a-number")
	wantCode(t, err, ferry.NotFound, "not-a-number")
	_, err = tr.GetExperimentByName(ctx, "nope")
	wantCode(t, err, ferry.NotFound, "nope")
	wantCode(t, tr.DeleteExperiment(ctx, "999"), ferry.NotFound, "999")
}

func testRuns(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	e := must[storage.Experiment](t)(tr.CreateExperiment(ctx, "runs", "file:///tmp/art/runs/", nil))
	start := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	parent := newRun(t, tr, storage.RunSpec{ExperimentID: e.ID, Name: "parent", StartTime: start, SourceNotebook: "nb/train.ipynb", Tags: map[string]string{"k": "v"}})
	if len(parent.ID) != 32 || strings.Trim(parent.ID, "0123456789abcdef") != "" {
		t.Errorf("run id %q: want 32 hex digits", parent.ID)
	}
	want := storage.Run{
		ID: parent.ID, ExperimentID: e.ID, Name: "parent", Status: storage.RunRunning,
		StartTime: start, SourceNotebook: "nb/train.ipynb",
		ArtifactURI:    "file:///tmp/art/runs/" + parent.ID + "/artifacts",
		LifecycleStage: storage.Active,
		Metrics:        map[string]storage.Metric{}, Params: map[string]string{}, Tags: map[string]string{"k": "v"},
	}
	if !reflect.DeepEqual(parent, want) {
		t.Errorf("created run:\n got %+v\nwant %+v", parent, want)
	}
	child := newRun(t, tr, storage.RunSpec{ExperimentID: e.ID, ParentRunID: parent.ID})
	if child.ParentRunID != parent.ID || child.Name != "run-"+child.ID[:8] {
		t.Errorf("child: parent %q name %q", child.ParentRunID, child.Name)
	}
	if time.Since(child.StartTime) > time.Minute {
		t.Errorf("default start time %v: want now", child.StartTime)
	}
	end := start.Add(90 * time.Second)
	got := must[storage.Run](t)(tr.UpdateRun(ctx, parent.ID, storage.RunUpdate{Status: storage.RunFinished, EndTime: end, Name: "renamed"}))
	if got.Status != storage.RunFinished || !got.EndTime.Equal(end) || got.Name != "renamed" {
		t.Errorf("after update: %s %v %q", got.Status, got.EndTime, got.Name)
	}
	got = must[storage.Run](t)(tr.UpdateRun(ctx, child.ID, storage.RunUpdate{Status: storage.RunFailed}))
	if got.EndTime.IsZero() {
		t.Errorf("terminal status without end time: end time stays zero, want now")
	}
	sched := newRun(t, tr, storage.RunSpec{ExperimentID: e.ID, Status: storage.RunScheduled})
	if sched.Status != storage.RunScheduled || !sched.EndTime.IsZero() {
		t.Errorf("scheduled run: %s end %v", sched.Status, sched.EndTime)
	}
}

func testRunErrors(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	_, err := tr.CreateRun(ctx, storage.RunSpec{ExperimentID: "4242"})
	wantCode(t, err, ferry.NotFound, "experiment 4242")
	_, err = tr.CreateRun(ctx, storage.RunSpec{ExperimentID: "0", ParentRunID: "feedface"})
	wantCode(t, err, ferry.NotFound, "parent run feedface")
	_, err = tr.CreateRun(ctx, storage.RunSpec{ExperimentID: "0", Status: "DONE"})
	wantCode(t, err, ferry.Invalid, "DONE")
	_, err = tr.GetRun(ctx, "0123456789abcdef0123456789abcdef")
	wantCode(t, err, ferry.NotFound, "0123456789abcdef0123456789abcdef")
	wantCode(t, tr.LogMetric(ctx, "nope", storage.Metric{Key: "m", Value: 1}), ferry.NotFound, "run nope")
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
	_, err = tr.UpdateRun(ctx, r.ID, storage.RunUpdate{Status: "PAUSED"})
	wantCode(t, err, ferry.Invalid, "PAUSED")
	wantCode(t, tr.LogMetric(ctx, r.ID, storage.Metric{Key: "", Value: 1}), ferry.Invalid, "metric key is empty")
	wantCode(t, tr.LogParam(ctx, r.ID, storage.Param{Key: "bad\nkey", Value: "1"}), ferry.Invalid, `"bad\nkey"`)
	wantCode(t, tr.SetTag(ctx, r.ID, storage.Tag{Key: "../x", Value: "1"}), ferry.Invalid, "../x")
	wantCode(t, tr.LogParam(ctx, r.ID, storage.Param{Key: "big", Value: strings.Repeat("x", 8001)}), ferry.Invalid, `"big"`, "8001", "limit")
	wantCode(t, tr.LogMetric(ctx, r.ID, storage.Metric{Key: strings.Repeat("k", 251), Value: 1}), ferry.Invalid, "251", "limit")
}

func testParamsWriteOnce(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
	ok(t, tr.LogParam(ctx, r.ID, storage.Param{Key: "lr", Value: "0.01"}))
	ok(t, tr.LogParam(ctx, r.ID, storage.Param{Key: "lr", Value: "0.01"})) // same value again: fine
	err := tr.LogParam(ctx, r.ID, storage.Param{Key: "lr", Value: "0.02"})
	wantCode(t, err, ferry.Invalid, `"lr"`, `"0.01"`, `"0.02"`)
	err = tr.LogBatch(ctx, r.ID, nil, []storage.Param{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}, nil)
	wantCode(t, err, ferry.Invalid, `"a"`, `"1"`, `"2"`)
	ok(t, tr.LogBatch(ctx, r.ID, nil, []storage.Param{{Key: "a", Value: "1"}, {Key: "a", Value: "1"}, {Key: "b", Value: strings.Repeat("x", 5000)}}, nil))
	got := must[storage.Run](t)(tr.GetRun(ctx, r.ID))
	want := map[string]string{"lr": "0.01", "a": "1", "b": strings.Repeat("x", 5000)}
	if !reflect.DeepEqual(got.Params, want) {
		t.Errorf("params %v, want %v", got.Params, want)
	}
}

func testTags(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0", Tags: map[string]string{"a": "1"}})
	ok(t, tr.SetTag(ctx, r.ID, storage.Tag{Key: "a", Value: "2"}))
	ok(t, tr.LogBatch(ctx, r.ID, nil, nil, []storage.Tag{{Key: "b", Value: "x"}, {Key: "b", Value: "y"}, {Key: "mlflow.note.content", Value: "ü 🚀"}}))
	got := must[storage.Run](t)(tr.GetRun(ctx, r.ID)).Tags
	want := map[string]string{"a": "2", "b": "y", "mlflow.note.content": "ü 🚀"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
}

func testMetricsLatest(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
	log := func(v float64, ts, step int64) {
		t.Helper()
		ok(t, tr.LogMetric(ctx, r.ID, storage.Metric{Key: "loss", Value: v, Timestamp: ts, Step: step}))
	}
	log(1.0, 1000, 5)
	log(0.5, 900, 7) // higher step wins over an older timestamp
	log(0.9, 5000, 6)
	log(0.4, 1000, 7) // same step, later timestamp
	log(0.3, 999, 7)  // same step, earlier timestamp: not latest
	before := time.Now().UnixMilli()
	ok(t, tr.LogMetric(ctx, r.ID, storage.Metric{Key: "acc", Value: 0.7})) // timestamp 0 = now
	got := must[storage.Run](t)(tr.GetRun(ctx, r.ID)).Metrics
	if want := (storage.Metric{Key: "loss", Value: 0.4, Timestamp: 1000, Step: 7}); got["loss"] != want {
		t.Errorf("latest loss %+v, want %+v", got["loss"], want)
	}
	if acc := got["acc"]; acc.Value != 0.7 || acc.Timestamp < before || acc.Timestamp > time.Now().UnixMilli() {
		t.Errorf("latest acc %+v: want 0.7 logged now", acc)
	}
}

func points(n int, f func(i int) storage.MetricPoint) []storage.MetricPoint {
	out := make([]storage.MetricPoint, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func series(t *testing.T, tr storage.Tracker, runIDs, keys []string) map[string][]storage.MetricPoint {
	t.Helper()
	out := map[string][]storage.MetricPoint{}
	for _, s := range must[[]storage.MetricSeries](t)(tr.MetricHistory(t.Context(), runIDs, keys)) {
		out[s.RunID+"/"+s.Key] = s.Points
	}
	return out
}

func testMetricHistory(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
	// Points logged one at a time and in batches, more than a block's worth
	// of pending rows, some out of step order.
	want := points(1234, func(i int) storage.MetricPoint {
		return storage.MetricPoint{Step: int64(i), Timestamp: 1_700_000_000_000 + int64(i)*10, Value: math.Sin(float64(i))}
	})
	for _, p := range want[:150] {
		ok(t, tr.LogMetric(ctx, r.ID, storage.Metric{Key: "x", Value: p.Value, Timestamp: p.Timestamp, Step: p.Step}))
	}
	var batch []storage.Metric
	for _, p := range want[150:] {
		batch = append(batch, storage.Metric{Key: "x", Value: p.Value, Timestamp: p.Timestamp, Step: p.Step})
	}
	// Reverse a stretch: history is ordered by step whatever the logging order.
	for i, j := 100, 200; i < j; i, j = i+1, j-1 {
		batch[i], batch[j] = batch[j], batch[i]
	}
	for lo := 0; lo < len(batch); lo += 37 {
		ok(t, tr.LogBatch(ctx, r.ID, batch[lo:min(lo+37, len(batch))], nil, nil))
	}
	got := series(t, tr, []string{r.ID}, []string{"x"})[r.ID+"/x"]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("history: got %d points, want %d (first diff %s)", len(got), len(want), firstDiff(got, want))
	}
	// Ending the run packs pending points; the history stays the same.
	must[storage.Run](t)(tr.UpdateRun(ctx, r.ID, storage.RunUpdate{Status: storage.RunFinished}))
	got = series(t, tr, []string{r.ID}, nil)[r.ID+"/x"]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("history after finish: got %d points, want %d (first diff %s)", len(got), len(want), firstDiff(got, want))
	}
	// Logging after the end still appends.
	ok(t, tr.LogMetric(ctx, r.ID, storage.Metric{Key: "x", Value: 42, Timestamp: 1, Step: 5000}))
	got = series(t, tr, []string{r.ID}, []string{"x"})[r.ID+"/x"]
	if len(got) != len(want)+1 || got[len(got)-1] != (storage.MetricPoint{Step: 5000, Timestamp: 1, Value: 42}) {
		t.Errorf("after a late point: %d points, last %+v", len(got), got[len(got)-1])
	}
	// Large batches fill several blocks.
	var big []storage.MetricPoint
	for b := range 3 {
		var ms []storage.Metric
		for i := range 1500 {
			step := int64(b*1500 + i)
			ms = append(ms, storage.Metric{Key: "big", Value: float64(step) / 3, Timestamp: 7, Step: step})
			big = append(big, storage.MetricPoint{Step: step, Timestamp: 7, Value: float64(step) / 3})
		}
		ok(t, tr.LogBatch(ctx, r.ID, ms, nil, nil))
	}
	got = series(t, tr, []string{r.ID}, []string{"big"})[r.ID+"/big"]
	if !reflect.DeepEqual(got, big) {
		t.Errorf("big: got %d points, want %d (first diff %s)", len(got), len(big), firstDiff(got, big))
	}
	// Same step logged twice keeps both points, in logging order.
	ok(t, tr.LogBatch(ctx, r.ID, []storage.Metric{{Key: "dup", Value: 1, Timestamp: 10, Step: 1}, {Key: "dup", Value: 2, Timestamp: 10, Step: 1}}, nil, nil))
	got = series(t, tr, []string{r.ID}, []string{"dup"})[r.ID+"/dup"]
	if want := []storage.MetricPoint{{Step: 1, Timestamp: 10, Value: 1}, {Step: 1, Timestamp: 10, Value: 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("duplicate steps: %v, want %v", got, want)
	}
}

func firstDiff(got, want []storage.MetricPoint) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	return "none in the common prefix"
}

func testMetricHistoryManyRuns(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	const runs, keys, steps = 130, 3, 120 // more runs than one query covers
	var ids []string
	for i := range runs {
		r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
		ids = append(ids, r.ID)
		var ms []storage.Metric
		for k := range keys {
			for s := range steps {
				ms = append(ms, storage.Metric{Key: fmt.Sprintf("m%d", k), Value: float64(i*1000 + s), Timestamp: int64(s + 1), Step: int64(s)})
			}
		}
		ok(t, tr.LogBatch(ctx, r.ID, ms, nil, nil))
	}
	all := must[[]storage.MetricSeries](t)(tr.MetricHistory(ctx, ids, nil))
	if len(all) != runs*keys {
		t.Fatalf("got %d series, want %d", len(all), runs*keys)
	}
	for j, s := range all {
		i, k := j/keys, j%keys
		if s.RunID != ids[i] || s.Key != fmt.Sprintf("m%d", k) {
			t.Fatalf("series %d is %s/%s, want %s/m%d (runs in request order, then keys)", j, s.RunID, s.Key, ids[i], k)
		}
		if len(s.Points) != steps || s.Points[steps-1].Value != float64(i*1000+steps-1) {
			t.Fatalf("series %d: %d points, last %+v", j, len(s.Points), s.Points[len(s.Points)-1])
		}
	}
	some := must[[]storage.MetricSeries](t)(tr.MetricHistory(ctx, []string{ids[5], ids[2]}, []string{"m2", "nope"}))
	if len(some) != 2 || some[0].RunID != ids[5] || some[1].RunID != ids[2] || some[0].Key != "m2" {
		t.Errorf("subset: %d series", len(some))
	}
	_, err := tr.MetricHistory(ctx, []string{ids[0], "unknownrun"}, nil)
	wantCode(t, err, ferry.NotFound, "unknownrun")
}

// testHistoryWhileLogging reads a history while points are logged and
// packed into blocks: every read must see a gapless prefix of the points.
func testHistoryWhileLogging(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
	const n = 600
	done := make(chan error, 1)
	go func() {
		for i := range n {
			m := storage.Metric{Key: "x", Value: float64(i), Timestamp: 1, Step: int64(i)}
			var err error
			if i%3 == 0 {
				err = tr.LogBatch(ctx, r.ID, []storage.Metric{m}, nil, nil)
			} else {
				err = tr.LogMetric(ctx, r.ID, m)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	reads, last := 0, 0
	for {
		select {
		case err := <-done:
			ok(t, err)
			if got := len(series(t, tr, []string{r.ID}, nil)[r.ID+"/x"]); got != n {
				t.Errorf("after logging: %d points, want %d", got, n)
			}
			t.Logf("%d reads while logging", reads)
			return
		default:
		}
		pts := series(t, tr, []string{r.ID}, []string{"x"})[r.ID+"/x"]
		reads++
		for i, p := range pts {
			if p.Step != int64(i) {
				t.Fatalf("read %d: point %d has step %d: points lost or doubled while packing", reads, i, p.Step)
			}
		}
		if len(pts) < last {
			t.Fatalf("read %d: %d points after %d", reads, len(pts), last)
		}
		last = len(pts)
	}
}

func testSpecialValues(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
	vals := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-300}
	var ms []storage.Metric
	for i, v := range vals {
		ms = append(ms, storage.Metric{Key: "v", Value: v, Timestamp: int64(i + 1), Step: int64(i)})
		ms = append(ms, storage.Metric{Key: fmt.Sprintf("last%d", i), Value: v, Timestamp: 1, Step: -int64(i) - 1})
	}
	ok(t, tr.LogBatch(ctx, r.ID, ms, nil, nil))
	check := func(when string) {
		got := series(t, tr, []string{r.ID}, []string{"v"})[r.ID+"/v"]
		if len(got) != len(vals) {
			t.Fatalf("%s: %d points, want %d", when, len(got), len(vals))
		}
		for i, v := range vals {
			if math.Float64bits(got[i].Value) != math.Float64bits(v) {
				t.Errorf("%s: point %d = %v, want %v (bit-exact)", when, i, got[i].Value, v)
			}
		}
		latest := must[storage.Run](t)(tr.GetRun(ctx, r.ID)).Metrics
		for i, v := range vals {
			m := latest[fmt.Sprintf("last%d", i)]
			if !(m.Value == v || math.IsNaN(v) && math.IsNaN(m.Value)) || m.Step != -int64(i)-1 {
				t.Errorf("%s: latest last%d = %+v, want %v at step %d", when, i, m, v, -i-1)
			}
		}
	}
	check("pending")
	must[storage.Run](t)(tr.UpdateRun(ctx, r.ID, storage.RunUpdate{Status: storage.RunKilled}))
	check("packed")
}

func testBatchAllOrNothing(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
	ok(t, tr.LogParam(ctx, r.ID, storage.Param{Key: "p", Value: "old"}))
	var ms []storage.Metric
	for i := range 250 {
		ms = append(ms, storage.Metric{Key: "m", Value: float64(i), Timestamp: 1, Step: int64(i)})
	}
	err := tr.LogBatch(ctx, r.ID, ms, []storage.Param{{Key: "q", Value: "1"}, {Key: "p", Value: "new"}}, []storage.Tag{{Key: "t", Value: "x"}})
	wantCode(t, err, ferry.Invalid, `"p"`, `"old"`, `"new"`)
	got := must[storage.Run](t)(tr.GetRun(ctx, r.ID))
	if len(got.Metrics) != 0 || len(got.Tags) != 0 || !reflect.DeepEqual(got.Params, map[string]string{"p": "old"}) {
		t.Errorf("after a failed batch: metrics %v tags %v params %v, want nothing new", got.Metrics, got.Tags, got.Params)
	}
	if h := series(t, tr, []string{r.ID}, nil); len(h) != 0 {
		t.Errorf("after a failed batch: history %d series, want none", len(h))
	}
}

func testInputs(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
	in := []storage.DatasetInput{
		{Name: "train", Digest: "abc123", SourceType: "s3", Source: "s3://data/train.parquet", Schema: `{"cols":["x"]}`, Profile: `{"rows":10}`, Context: "training"},
		{Name: "eval", Digest: "def456", SourceType: "local", Source: "file:///data/eval.csv", Context: "validation"},
	}
	ok(t, tr.LogInputs(ctx, r.ID, in))
	ok(t, tr.LogInputs(ctx, r.ID, in[:1])) // again: no-op
	got := must[storage.Run](t)(tr.GetRun(ctx, r.ID)).Inputs
	want := []storage.DatasetInput{in[1], in[0]} // by name
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inputs:\n got %+v\nwant %+v", got, want)
	}
	wantCode(t, tr.LogInputs(ctx, r.ID, []storage.DatasetInput{{Name: "x"}}), ferry.Invalid, "digest")
}

// searchFixture makes four runs in a new experiment and returns them by name.
func searchFixture(t *testing.T, tr storage.Tracker) (storage.Experiment, map[string]storage.Run) {
	t.Helper()
	ctx := t.Context()
	e := newExperiment(t, tr, "search")
	type spec struct {
		name   string
		acc    float64
		lr     string
		tag    string
		status storage.RunStatus
	}
	specs := []spec{
		{"foo-1", 0.95, "0.01", "cnn", storage.RunFinished},
		{"foo-2", 0.85, "0.01", "mlp", storage.RunFinished},
		{"bar-1", 0.99, "0.1", "cnn", storage.RunRunning},
		{"Foo-3", 0.5, "0.001", "", storage.RunFailed},
	}
	out := map[string]storage.Run{}
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range specs {
		r := newRun(t, tr, storage.RunSpec{ExperimentID: e.ID, Name: s.name, StartTime: base.Add(time.Duration(i) * time.Hour)})
		var tags []storage.Tag
		if s.tag != "" {
			tags = append(tags, storage.Tag{Key: "model", Value: s.tag})
		}
		ok(t, tr.LogBatch(ctx, r.ID, []storage.Metric{{Key: "accuracy", Value: s.acc, Timestamp: 1, Step: 1}, {Key: "accuracy", Value: s.acc / 2, Timestamp: 1, Step: 0}},
			[]storage.Param{{Key: "lr", Value: s.lr}}, tags))
		if s.status != storage.RunRunning {
			must[storage.Run](t)(tr.UpdateRun(ctx, r.ID, storage.RunUpdate{Status: s.status}))
		}
		out[s.name] = r
	}
	ok(t, tr.LogInputs(ctx, out["foo-2"].ID, []storage.DatasetInput{{Name: "mnist", Digest: "d1", Context: "training"}}))
	ok(t, tr.SetTag(ctx, out["bar-1"].ID, storage.Tag{Key: "odd key", Value: "it's; DROP TABLE runs; --"}))
	return e, out
}

func runNames(runs []storage.Run) []string {
	out := []string{}
	for _, r := range runs {
		out = append(out, r.Name)
	}
	return out
}

func testSearchFilters(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	e, runs := searchFixture(t, tr)
	tests := []struct {
		filter string
		want   []string // ordered by start time, newest first
	}{
		{"", []string{"Foo-3", "bar-1", "foo-2", "foo-1"}},
		{"metrics.accuracy > 0.9", []string{"bar-1", "foo-1"}},
		{"metrics.accuracy > 0.9 and params.lr = '0.01'", []string{"foo-1"}},
		{"metrics.accuracy >= 0.85 AND metrics.accuracy < 0.99", []string{"foo-2", "foo-1"}},
		{"metrics.accuracy != 0.5", []string{"bar-1", "foo-2", "foo-1"}},
		{"metrics.accuracy <= 0.5", []string{"Foo-3"}},
		{"metrics.accuracy = 0.85", []string{"foo-2"}},
		{"metrics.missing > 0", []string{}},
		{"params.lr != '0.01'", []string{"Foo-3", "bar-1"}},
		{"params.lr IN ('0.1', '0.001')", []string{"Foo-3", "bar-1"}},
		{"params.lr NOT IN ('0.1', '0.001')", []string{"foo-2", "foo-1"}},
		{"tags.model = 'cnn'", []string{"bar-1", "foo-1"}},
		{"tags.`model` LIKE 'm%'", []string{"foo-2"}},
		{`tags."model" != 'cnn'`, []string{"foo-2"}},
		{"attributes.status = 'FINISHED'", []string{"foo-2", "foo-1"}},
		{"attributes.status IN ('FAILED', 'RUNNING')", []string{"Foo-3", "bar-1"}},
		{"run_name LIKE '%foo%'", []string{"foo-2", "foo-1"}},
		{"run_name ILIKE '%foo%'", []string{"Foo-3", "foo-2", "foo-1"}},
		{"attributes.run_name = 'bar-1'", []string{"bar-1"}},
		{"attributes.run_id = '" + runs["foo-2"].ID + "'", []string{"foo-2"}},
		{"attributes.start_time >= " + fmt.Sprint(runs["bar-1"].StartTime.UnixMilli()), []string{"Foo-3", "bar-1"}},
		{"datasets.name = 'mnist' and datasets.context = 'training'", []string{"foo-2"}},
		{"params.lr = '0.01' AND tags.model = 'cnn' AND attributes.status = 'FINISHED' AND metrics.accuracy > 0.9", []string{"foo-1"}},
		{"tags.`odd key` = 'it''s; DROP TABLE runs; --'", []string{"bar-1"}},
		{"tags.`odd key` LIKE '%\\_%'", []string{}}, // escaped _ matches only a literal _
		{"tags.`odd key` LIKE '%;%'", []string{"bar-1"}},
	}
	for _, tc := range tests {
		got, _, err := tr.SearchRuns(ctx, storage.SearchRunsRequest{ExperimentIDs: []string{e.ID}, Filter: tc.filter})
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if names := runNames(got); !reflect.DeepEqual(names, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.filter, names, tc.want)
		}
	}
	// Search results carry the runs' data.
	got, _, err := tr.SearchRuns(ctx, storage.SearchRunsRequest{ExperimentIDs: []string{e.ID}, Filter: "run_name = 'foo-1'"})
	ok(t, err)
	if len(got) != 1 || got[0].Metrics["accuracy"].Value != 0.95 || got[0].Params["lr"] != "0.01" || got[0].Tags["model"] != "cnn" {
		t.Errorf("search result data: %+v", got)
	}
}

func testSearchOrderAndPaging(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	e, _ := searchFixture(t, tr)
	other := newExperiment(t, tr, "other")
	newRun(t, tr, storage.RunSpec{ExperimentID: other.ID, Name: "elsewhere"})
	tests := []struct {
		order []string
		want  []string
	}{
		{[]string{"metrics.accuracy DESC"}, []string{"bar-1", "foo-1", "foo-2", "Foo-3"}},
		{[]string{"metrics.accuracy"}, []string{"Foo-3", "foo-2", "foo-1", "bar-1"}},
		{[]string{"attributes.start_time"}, []string{"foo-1", "foo-2", "bar-1", "Foo-3"}},
		{[]string{"params.lr ASC", "attributes.run_name DESC"}, []string{"Foo-3", "foo-2", "foo-1", "bar-1"}},
		{[]string{"tags.model DESC"}, []string{"foo-2", "bar-1", "foo-1", "Foo-3"}}, // no tag: last
		{[]string{"tags.model ASC"}, []string{"bar-1", "foo-1", "foo-2", "Foo-3"}},  // no tag: last
	}
	for _, tc := range tests {
		got, _, err := tr.SearchRuns(ctx, storage.SearchRunsRequest{ExperimentIDs: []string{e.ID}, OrderBy: tc.order})
		if err != nil {
			t.Errorf("%v: %v", tc.order, err)
			continue
		}
		if names := runNames(got); !reflect.DeepEqual(names, tc.want) {
			t.Errorf("order by %v: got %v, want %v", tc.order, names, tc.want)
		}
	}
	// Pages of 3 over both experiments.
	var all []string
	req := storage.SearchRunsRequest{ExperimentIDs: []string{e.ID, other.ID}, OrderBy: []string{"attributes.run_name"}, MaxResults: 3}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		got, next, err := tr.SearchRuns(ctx, req)
		ok(t, err)
		all = append(all, runNames(got)...)
		if next == "" {
			break
		}
		req.PageToken = next
	}
	if want := []string{"Foo-3", "bar-1", "elsewhere", "foo-1", "foo-2"}; !reflect.DeepEqual(all, want) {
		t.Errorf("paged: got %v, want %v", all, want)
	}
}

func testSearchErrors(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	tests := []struct {
		req   storage.SearchRunsRequest
		parts []string
	}{
		{storage.SearchRunsRequest{ExperimentIDs: []string{"0"}, Filter: "metrics.accuracy >"}, []string{"position 18", "expected a value"}},
		{storage.SearchRunsRequest{ExperimentIDs: []string{"0"}, Filter: "params.lr = 0.01"}, []string{"position 12", "quote"}},
		{storage.SearchRunsRequest{ExperimentIDs: []string{"0"}, Filter: "metrics.a > 1 OR metrics.b > 1"}, []string{"position 14", "OR"}},
		{storage.SearchRunsRequest{ExperimentIDs: []string{"0"}, OrderBy: []string{"metrics.a SIDEWAYS"}}, []string{"position 10", "ASC or DESC"}},
		{storage.SearchRunsRequest{ExperimentIDs: []string{"0"}, PageToken: "garbage"}, []string{"page token"}},
		{storage.SearchRunsRequest{ExperimentIDs: []string{"0"}, MaxResults: 50001}, []string{"50001"}},
		{storage.SearchRunsRequest{}, []string{"experiment"}},
	}
	for _, tc := range tests {
		_, _, err := tr.SearchRuns(ctx, tc.req)
		wantCode(t, err, ferry.Invalid, tc.parts...)
	}
}

func testDeletedRuns(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	e := newExperiment(t, tr, "del")
	a := newRun(t, tr, storage.RunSpec{ExperimentID: e.ID, Name: "a"})
	b := newRun(t, tr, storage.RunSpec{ExperimentID: e.ID, Name: "b"})
	ok(t, tr.DeleteRun(ctx, a.ID))
	wantCode(t, tr.LogMetric(ctx, a.ID, storage.Metric{Key: "m", Value: 1}), ferry.Invalid, a.ID, "deleted")
	names := func(view storage.ViewType) []string {
		got, _, err := tr.SearchRuns(ctx, storage.SearchRunsRequest{ExperimentIDs: []string{e.ID}, ViewType: view, OrderBy: []string{"run_name"}})
		ok(t, err)
		return runNames(got)
	}
	if got, want := names(storage.ActiveOnly), []string{"b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("active: %v, want %v", got, want)
	}
	if got, want := names(storage.DeletedOnly), []string{"a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deleted: %v, want %v", got, want)
	}
	if got := must[storage.Run](t)(tr.GetRun(ctx, a.ID)); got.LifecycleStage != storage.Deleted {
		t.Errorf("deleted run: stage %s", got.LifecycleStage)
	}
	// Deleting the experiment deletes its runs; restoring brings back only
	// those it deleted.
	ok(t, tr.DeleteExperiment(ctx, e.ID))
	if got := names(storage.ActiveOnly); len(got) != 0 {
		t.Errorf("active after experiment delete: %v", got)
	}
	ok(t, tr.RestoreExperiment(ctx, e.ID))
	if got, want := names(storage.ActiveOnly), []string{"b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("active after experiment restore: %v, want %v", got, want)
	}
	ok(t, tr.RestoreRun(ctx, a.ID))
	ok(t, tr.LogMetric(ctx, a.ID, storage.Metric{Key: "m", Value: 1}))
	_ = b
}

// testConcurrentLogging has 8 goroutines log to one run at once, one
// metric each and one shared, single points and batches; no point may be
// lost.
func testConcurrentLogging(t *testing.T, tr storage.Tracker) {
	ctx := t.Context()
	r := newRun(t, tr, storage.RunSpec{ExperimentID: "0"})
	const workers, perWorker = 8, 300
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- LogPoints(ctx, tr, r.ID, fmt.Sprintf("w%d", w), w, perWorker)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(t, err)
	}
	got := series(t, tr, []string{r.ID}, nil)
	for w := range workers {
		if n := len(got[fmt.Sprintf("%s/w%d", r.ID, w)]); n != perWorker {
			t.Errorf("metric w%d: %d points, want %d", w, n, perWorker)
		}
	}
	shared := got[r.ID+"/shared"]
	if len(shared) != workers*perWorker {
		t.Errorf("shared metric: %d points, want %d", len(shared), workers*perWorker)
	}
	CheckPoints(t, shared, workers, perWorker)
}

// LogPoints logs n points of key and n points of "shared" to a run for
// writer w, alternating single calls and batches of 10. Shared point i of
// writer w has value w*1e6+i.
func LogPoints(ctx context.Context, tr storage.Tracker, runID, key string, w, n int) error {
	for i := 0; i < n; {
		if i%20 == 0 {
			if err := tr.LogMetric(ctx, runID, storage.Metric{Key: key, Value: float64(i), Step: int64(i), Timestamp: 1}); err != nil {
				return err
			}
			if err := tr.LogMetric(ctx, runID, storage.Metric{Key: "shared", Value: float64(w*1e6 + i), Step: int64(i), Timestamp: 1}); err != nil {
				return err
			}
			i++
			continue
		}
		var ms []storage.Metric
		for j := i; j < min((i/10+1)*10, n); j++ {
			ms = append(ms, storage.Metric{Key: key, Value: float64(j), Step: int64(j), Timestamp: 1},
				storage.Metric{Key: "shared", Value: float64(w*1e6 + j), Step: int64(j), Timestamp: 1})
		}
		if err := tr.LogBatch(ctx, runID, ms, nil, nil); err != nil {
			return err
		}
		i += len(ms) / 2
	}
	return nil
}

// CheckPoints checks that shared holds every point LogPoints logged for
// writers 0..writers-1, n each, exactly once.
func CheckPoints(t testing.TB, shared []storage.MetricPoint, writers, n int) {
	t.Helper()
	seen := map[float64]int{}
	for _, p := range shared {
		seen[p.Value]++
	}
	missing, dup := 0, 0
	for w := range writers {
		for i := range n {
			switch c := seen[float64(w*1e6+i)]; {
			case c == 0:
				missing++
			case c > 1:
				dup++
			}
		}
	}
	if missing != 0 || dup != 0 || len(shared) != writers*n {
		t.Errorf("shared metric: %d points, %d missing, %d duplicated; want %d, each once", len(shared), missing, dup, writers*n)
	}
}
