package tuning

import (
	"context"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryml/ferry"
)

// TrialState is the state of a trial: Katib's Trial condition types.
type TrialState string

// Trial states.
const (
	// Created: suggested and recorded; its job is not running yet.
	Created TrialState = "Created"
	// Running: its job runs.
	Running TrialState = "Running"
	// Succeeded: its job ended and reported the objective metric.
	Succeeded TrialState = "Succeeded"
	// Failed: its job failed.
	Failed TrialState = "Failed"
	// Killed: stopped by the user, or by the study's end.
	Killed TrialState = "Killed"
	// EarlyStopped: stopped by the study's early-stopping rule; its last
	// reported value is its result.
	EarlyStopped TrialState = "EarlyStopped"
	// MetricsUnavailable: its job succeeded without reporting the
	// objective metric.
	MetricsUnavailable TrialState = "MetricsUnavailable"
)

// Finished reports whether the state is final.
func (s TrialState) Finished() bool { return s != Created && s != Running && s != "" }

// HasResult reports whether a trial in this state has a loss: Succeeded or
// EarlyStopped.
func (s TrialState) HasResult() bool { return s == Succeeded || s == EarlyStopped }

// Step is one intermediate value of a trial's objective, as a loss.
type Step struct {
	// Step is the step the trial reported (its epoch, iteration, ...).
	Step int64   `json:"step"`
	Loss float64 `json:"loss"`
}

// Observation is what algorithms see of one trial of a study.
type Observation struct {
	Point Point      `json:"point"`
	State TrialState `json:"state"`
	// Loss is the trial's objective as a value to minimise (the metric,
	// negated when the study maximises); set when State.HasResult().
	Loss float64 `json:"loss"`
	// Labels are those of the Suggestion that proposed the trial: an
	// algorithm's bookkeeping (Hyperband's bracket and rung, ...).
	Labels map[string]string `json:"labels,omitempty"`
	// Curve holds the intermediate losses the trial reported, in order.
	Curve []Step `json:"curve,omitempty"`
}

// Request asks a Suggester for new trials.
type Request struct {
	Space Space
	// History holds every trial of the study so far, oldest first,
	// unfinished ones included (their points are taken: an algorithm must
	// not suggest them again, and a batch should spread around them).
	// History only grows: History[i] is always the study's (i+1)-th trial,
	// so an index is a stable reference to a trial (Hyperband's parent).
	History []Observation
	// N is how many suggestions to return.
	N int
	// Seed is the study's seed. An algorithm derives all its randomness
	// from Seed and the history (len(History) at least), so the same
	// request gets the same answer: a study resumed from its stored trials
	// continues as it would have.
	Seed int64
}

// Suggestion is one new trial an algorithm proposes.
type Suggestion struct {
	Point  Point             `json:"point"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Suggester is a search algorithm. It returns at most req.N suggestions;
// fewer (none included) means it has no more to give now: the grid is
// done, or a Hyperband rung waits for its running trials. A runner that
// gets none while no trial of the study is unfinished ends the study (the
// search space is exhausted). Suggestions are points of req.Space (each
// value one the parameter can take). Suggest must be safe for concurrent
// use.
type Suggester interface {
	Suggest(ctx context.Context, req Request) ([]Suggestion, error)
}

// StopRule is an early-stopping rule (Katib's EarlyStoppingRule, in
// losses): a running trial stops once a loss it reports, from its
// StartStep-th report on (counting from 1), is greater than Threshold.
type StopRule struct {
	Threshold float64 `json:"threshold"`
	StartStep int     `json:"startStep"`
}

// Stops reports whether the n-th report (counting from 1) with this loss
// stops a trial.
func (r StopRule) Stops(n int, loss float64) bool {
	return n >= r.StartStep && loss > r.Threshold
}

// EarlyStopper is an early-stopping algorithm. Rules returns the rules
// that apply to the study's running trials given its history (none while
// it has too few finished trials to judge).
type EarlyStopper interface {
	Rules(ctx context.Context, history []Observation) ([]StopRule, error)
}

// Settings are an algorithm's settings, as Katib passes them: names and
// string values.
type Settings map[string]string

// Reader reads settings with their defaults, collecting the first error;
// it is how algorithms validate settings the way Katib's
// ValidateAlgorithmSettings does. Finish refuses names no getter asked for.
type Reader struct {
	Algorithm string
	Settings  Settings
	used      map[string]bool
	err       error
}

// NewReader returns a Reader of s for the named algorithm.
func NewReader(algorithm string, s Settings) *Reader {
	return &Reader{Algorithm: algorithm, Settings: s, used: map[string]bool{}}
}

func (r *Reader) fail(name, value, want string) {
	if r.err == nil {
		r.err = ferry.Errorf(ferry.Invalid, "tuning: %s: setting %s=%q: %s", r.Algorithm, name, value, want)
	}
}

// Int returns the setting as an int in [lo, hi], or def when unset.
func (r *Reader) Int(name string, def, lo, hi int) int {
	r.used[name] = true
	v, ok := r.Settings[name]
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, v, "want a whole number in ["+strconv.Itoa(lo)+", "+strconv.Itoa(hi)+"]")
		return def
	}
	return n
}

// Float returns the setting as a number in [lo, hi], or def when unset.
func (r *Reader) Float(name string, def, lo, hi float64) float64 {
	r.used[name] = true
	v, ok := r.Settings[name]
	if !ok || v == "" {
		return def
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || x < lo || x > hi {
		r.fail(name, v, "want a number in ["+strconv.FormatFloat(lo, 'g', -1, 64)+", "+strconv.FormatFloat(hi, 'g', -1, 64)+"]")
		return def
	}
	return x
}

// String returns the setting, one of choices, or def when unset.
func (r *Reader) String(name, def string, choices ...string) string {
	r.used[name] = true
	v, ok := r.Settings[name]
	if !ok || v == "" {
		return def
	}
	for _, c := range choices {
		if v == c {
			return v
		}
	}
	want := "want one of"
	for i, c := range choices {
		if i > 0 {
			want += ","
		}
		want += " " + c
	}
	r.fail(name, v, want)
	return def
}

// Fail records an error about a setting that the getters cannot check
// (a relation between two settings, ...).
func (r *Reader) Fail(name, want string) {
	r.fail(name, r.Settings[name], want)
}

// Finish returns the first error, or one naming a setting no getter read.
func (r *Reader) Finish() error {
	if r.err != nil {
		return r.err
	}
	for name := range r.Settings {
		if !r.used[name] {
			known := strings.Join(slices.Sorted(maps.Keys(r.used)), ", ")
			if known == "" {
				known = "none"
			}
			return ferry.Errorf(ferry.Invalid, "tuning: %s: unknown setting %q (its settings: %s)", r.Algorithm, name, known)
		}
	}
	return nil
}
