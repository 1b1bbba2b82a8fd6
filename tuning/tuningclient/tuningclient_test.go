package tuningclient_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
	"github.com/ferryml/ferry/tuning/runner"
	"github.com/ferryml/ferry/tuning/tuningclient"
)

func session(t *testing.T) *tuningclient.Session {
	t.Helper()
	r, err := runner.Open(t.Context(), runner.Options{Dir: t.TempDir(), Suggesters: algorithms.New, Stoppers: algorithms.NewEarlyStopper})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return &tuningclient.Session{Backend: r, Where: "test"}
}

// sink records the states a monitor shows.
type sink struct {
	mu      sync.Mutex
	states  []tuning.Study
	flushed bool
}

func (s *sink) Update(st tuning.Study) { s.mu.Lock(); s.states = append(s.states, st); s.mu.Unlock() }
func (s *sink) Flush()                 { s.mu.Lock(); s.flushed = true; s.mu.Unlock() }

func spec(name string) tuning.Spec {
	return tuning.Spec{
		Name:      name,
		Objective: tuning.Objective{Metric: "loss"},
		Space:     tuning.Space{tuning.Float("x", -3, 3), tuning.IntRange("n", 0, 3)},
		Algorithm: tuning.Algorithm{Name: "bayesianoptimization", Settings: tuning.Settings{"n_initial_points": "5"}},
		Early:     &tuning.EarlyStopping{Name: "medianstop", Settings: tuning.Settings{"min_trials_required": "2", "start_step": "2"}},
		MaxTrials: 15,
		Seed:      1,
	}
}

func TestOptimize(t *testing.T) {
	ss := session(t)
	st, err := ss.Open(t.Context(), spec("quad"))
	if err != nil {
		t.Fatal(err)
	}
	snk := &sink{}
	best, err := st.Optimize(func(tr *tuningclient.Trial) float64 {
		x, n := tr.Float("x"), tr.Int("n")
		f := (x-1)*(x-1) + float64(n)
		for step := 1; step <= 4; step++ {
			if tr.Report(step, f+1/float64(step)) {
				return f
			}
		}
		return f
	}, tuningclient.WithSink(snk))
	if err != nil {
		t.Fatal(err)
	}
	if *best.Value > 0.5 {
		t.Errorf("best %v (%v): want below 0.5 after 15 trials (minimum 0 at x=1, n=0)", *best.Value, best.Assignments)
	}
	s, _ := st.Get(t.Context())
	if len(s.Trials) != 15 || s.State != tuning.StudySucceeded {
		t.Errorf("study %s with %d trials, want Succeeded with 15", s.State, len(s.Trials))
	}
	snk.mu.Lock()
	last := snk.states[len(snk.states)-1]
	if !snk.flushed || last.State != tuning.StudySucceeded {
		t.Errorf("the sink's last state %s (flushed %v)", last.State, snk.flushed)
	}
	snk.mu.Unlock()
	// The tables and charts of the finished study.
	tbl := tuningclient.TrialsTable(s)
	if len(tbl.Rows) != 15 || !strings.Contains(tbl.Caption, "best loss") {
		t.Errorf("trials table: %d rows, caption %q", len(tbl.Rows), tbl.Caption)
	}
	for _, chart := range []map[string]any{tuningclient.BestSoFar(s), tuningclient.ParallelCoordinates(s)} {
		data, _ := display.MIMEBundle(display.VegaLite(chart))
		if _, ok := data[display.VegaLiteMIME]; !ok {
			t.Errorf("chart %v is not Vega-Lite: %v", chart["title"], data["text/plain"])
		}
	}

	// Opening it again goes on with it; another space is refused.
	if _, err := ss.Open(t.Context(), spec("quad")); err != nil {
		t.Errorf("Open again: %v", err)
	}
	other := spec("quad")
	other.Space[0].Max = 4
	if _, err := ss.Open(t.Context(), other); ferry.ErrorCode(err) != ferry.AlreadyExists || !strings.Contains(err.Error(), "search space") {
		t.Errorf("Open with another space: %v, want AlreadyExists naming the search space", err)
	}
}

// An objective that panics fails its trials, and the study fails with the
// panic's message after maxFailedTrials.
func TestOptimizePanics(t *testing.T) {
	ss := session(t)
	st, err := ss.Open(t.Context(), spec("boom"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Optimize(func(tr *tuningclient.Trial) float64 { return tr.Float("learning_rate") })
	if err == nil || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("Optimize: %v, want the study failed", err)
	}
	s, _ := st.Get(t.Context())
	if s.State != tuning.StudyFailed || !strings.Contains(s.Trials[0].Message, `no parameter "learning_rate"`) {
		t.Errorf("study %s, first trial's message %q", s.State, s.Trials[0].Message)
	}
}
