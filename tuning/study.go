package tuning

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
)

// Direction says whether the objective is minimised or maximised.
type Direction string

// Directions.
const (
	Minimize Direction = "minimize"
	Maximize Direction = "maximize"
)

// Strategy says which of a trial's reported values of a metric is its
// result: Katib's metricStrategies.
type Strategy string

// Strategies.
const (
	// Latest: the last value reported (Katib's default).
	Latest Strategy = "latest"
	// Min, Max: the smallest or largest value reported.
	Min Strategy = "min"
	Max Strategy = "max"
)

// Objective is what a study optimises.
type Objective struct {
	// Metric is the name of the metric trials report.
	Metric    string    `json:"metric"`
	Direction Direction `json:"direction"`
	// Goal ends the study once a trial reaches it (≤ Goal when minimising,
	// ≥ Goal when maximising).
	Goal *float64 `json:"goal,omitempty"`
	// Strategy picks a trial's result among its reports; default Latest.
	Strategy Strategy `json:"strategy,omitempty"`
	// AdditionalMetrics are recorded with each trial.
	AdditionalMetrics []string `json:"additionalMetrics,omitempty"`
}

// Loss turns a value of the objective metric into a loss to minimise.
func (o Objective) Loss(v float64) float64 {
	if o.Direction == Maximize {
		return -v
	}
	return v
}

// Value turns a loss back into a value of the objective metric.
func (o Objective) Value(loss float64) float64 { return o.Loss(loss) }

// Better reports whether metric value a is better than b.
func (o Objective) Better(a, b float64) bool { return o.Loss(a) < o.Loss(b) }

// Reached reports whether value v reaches the goal.
func (o Objective) Reached(v float64) bool {
	return o.Goal != nil && o.Loss(v) <= o.Loss(*o.Goal)
}

// Result returns a trial's result from its reports, by the strategy.
func (o Objective) Result(reports []float64) (float64, bool) {
	if len(reports) == 0 {
		return 0, false
	}
	switch o.Strategy {
	case Min:
		return slices.Min(reports), true
	case Max:
		return slices.Max(reports), true
	}
	return reports[len(reports)-1], true
}

// Algorithm names a search algorithm (Katib's names: random, grid, sobol,
// bayesianoptimization, tpe, multivariate-tpe, cmaes, hyperband) and its
// settings.
type Algorithm struct {
	Name     string   `json:"name"`
	Settings Settings `json:"settings,omitempty"`
}

// EarlyStopping names an early-stopping algorithm (Katib's: medianstop)
// and its settings.
type EarlyStopping struct {
	Name     string   `json:"name"`
	Settings Settings `json:"settings,omitempty"`
}

// Template is how a trial runs.
type Template struct {
	// Job is the training job each trial submits, with
	// ${trialParameters.NAME} in its command, args, env values or files
	// standing for the trial's value of parameter NAME (Katib's syntax).
	// Nil means the caller runs the trials: it asks the study for a trial,
	// reports its values and ends it (an in-kernel Go objective).
	Job *jobs.Spec `json:"job,omitempty"`
}

// Spec describes a study: Katib's ExperimentSpec.
type Spec struct {
	// Name identifies the study: lower-case letters, digits and '-',
	// starting with a letter, at most 40 characters (trial and job names
	// extend it).
	Name      string         `json:"name"`
	Objective Objective      `json:"objective"`
	Space     Space          `json:"parameters"`
	Algorithm Algorithm      `json:"algorithm"`
	Early     *EarlyStopping `json:"earlyStopping,omitempty"`
	// ParallelTrials is how many trials run at once; default 3 (or
	// MaxTrials if fewer).
	ParallelTrials int `json:"parallelTrials,omitempty"`
	// MaxTrials is how many trials the study runs at most (early-stopped
	// ones included, failed ones not); default 12.
	MaxTrials int `json:"maxTrials,omitempty"`
	// MaxFailedTrials ends the study as Failed once that many trials
	// failed; default 3.
	MaxFailedTrials int `json:"maxFailedTrials,omitempty"`
	// Seed seeds the algorithm; the same seed and results give the same
	// trials.
	Seed     int64    `json:"seed,omitempty"`
	Template Template `json:"template"`
	// Experiment is the tracking experiment of the study's run and its
	// trials' runs; empty means the Default experiment.
	Experiment string            `json:"experiment,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// Defaults of Spec.
const (
	DefaultParallelTrials  = 3
	DefaultMaxTrials       = 12
	DefaultMaxFailedTrials = 3
)

// WithDefaults returns s with its zero counts and strategy set.
func (s Spec) WithDefaults() Spec {
	if s.MaxTrials == 0 {
		s.MaxTrials = DefaultMaxTrials
	}
	if s.ParallelTrials == 0 {
		s.ParallelTrials = min(DefaultParallelTrials, s.MaxTrials)
	}
	if s.MaxFailedTrials == 0 {
		s.MaxFailedTrials = DefaultMaxFailedTrials
	}
	if s.Objective.Strategy == "" {
		s.Objective.Strategy = Latest
	}
	if s.Objective.Direction == "" {
		s.Objective.Direction = Minimize
	}
	return s
}

var studyName = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$`)

// placeholder matches ${trialParameters.NAME}.
var placeholder = regexp.MustCompile(`\$\{trialParameters\.([^}]*)\}`)

// Validate refuses a spec no runner could run, before any trial starts:
// a bad name, objective or count, an invalid search space, and a job
// template that uses a parameter the space lacks, or does not use one it
// has. The algorithm's settings are checked by the runner, which knows the
// algorithms.
func (s Spec) Validate() error {
	bad := func(format string, args ...any) error {
		return ferry.Errorf(ferry.Invalid, "tuning: study %q: %s", s.Name, fmt.Sprintf(format, args...))
	}
	if !studyName.MatchString(s.Name) {
		return bad("the name must be lower-case letters, digits and '-', start with a letter and end with a letter or digit, at most 40 characters")
	}
	o := s.Objective
	if o.Metric == "" {
		return bad("no objective metric: name the metric trials report (e.g. validation-loss)")
	}
	switch o.Direction {
	case "", Minimize, Maximize:
	default:
		return bad("objective direction %q: use minimize or maximize", o.Direction)
	}
	switch o.Strategy {
	case "", Latest, Min, Max:
	default:
		return bad("objective strategy %q: use latest, min or max", o.Strategy)
	}
	if o.Goal != nil && (math.IsNaN(*o.Goal) || math.IsInf(*o.Goal, 0)) {
		return bad("the goal must be a finite number")
	}
	if slices.Contains(o.AdditionalMetrics, o.Metric) {
		return bad("metric %q is both the objective and an additional metric: list it once", o.Metric)
	}
	if err := s.Space.Validate(); err != nil {
		return err
	}
	if s.Algorithm.Name == "" {
		return bad("no algorithm: name one (random, grid, sobol, bayesianoptimization, tpe, multivariate-tpe, cmaes, hyperband)")
	}
	if s.Early != nil && s.Early.Name == "" {
		return bad("early stopping without a name: use medianstop, or leave it out")
	}
	if s.ParallelTrials < 0 || s.MaxTrials < 0 || s.MaxFailedTrials < 0 {
		return bad("parallelTrials, maxTrials and maxFailedTrials must not be negative")
	}
	d := s.WithDefaults()
	if d.ParallelTrials > d.MaxTrials {
		return bad("parallelTrials (%d) is more than maxTrials (%d): lower parallelTrials", d.ParallelTrials, d.MaxTrials)
	}
	if s.Template.Job != nil {
		if err := s.checkTemplate(); err != nil {
			return err
		}
	}
	return nil
}

// templateTexts returns every string of the job template that may hold
// placeholders.
func templateTexts(j *jobs.Spec) []string {
	var out []string
	out = append(out, j.Command...)
	out = append(out, j.Args...)
	for _, v := range j.Env {
		out = append(out, v)
	}
	for _, v := range j.Files {
		out = append(out, v)
	}
	for _, r := range j.Replicas {
		out = append(out, r.Command...)
		out = append(out, r.Args...)
	}
	return out
}

func (s Spec) checkTemplate() error {
	used := map[string]bool{}
	for _, t := range templateTexts(s.Template.Job) {
		for _, m := range placeholder.FindAllStringSubmatch(t, -1) {
			if s.Space.Index(m[1]) < 0 {
				return ferry.Errorf(ferry.Invalid, "tuning: study %q: the trial template uses ${trialParameters.%s}, which is not a parameter of the search space (its parameters: %s)", s.Name, m[1], strings.Join(s.Space.names(), ", "))
			}
			used[m[1]] = true
		}
	}
	for _, p := range s.Space {
		if !used[p.Name] {
			return ferry.Errorf(ferry.Invalid, "tuning: study %q: the trial template does not use parameter %q: pass ${trialParameters.%s} in the job's command, args, env or files, or take the parameter out of the search space", s.Name, p.Name, p.Name)
		}
	}
	return nil
}

func (s Space) names() []string {
	out := make([]string, len(s))
	for i, p := range s {
		out[i] = p.Name
	}
	return out
}

// TrialJob returns the job spec of a trial: the template with every
// ${trialParameters.NAME} replaced by the trial's value, named name, and
// labelled with the study and trial.
func (s Spec) TrialJob(name string, as []Assignment) jobs.Spec {
	j := *s.Template.Job
	vals := map[string]string{}
	for _, a := range as {
		vals[a.Name] = a.Value
	}
	sub := func(t string) string {
		return placeholder.ReplaceAllStringFunc(t, func(m string) string {
			return vals[placeholder.FindStringSubmatch(m)[1]]
		})
	}
	subAll := func(xs []string) []string {
		if xs == nil {
			return nil
		}
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = sub(x)
		}
		return out
	}
	subMap := func(m map[string]string) map[string]string {
		if m == nil {
			return nil
		}
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = sub(v)
		}
		return out
	}
	j.Name = name
	j.Command, j.Args = subAll(j.Command), subAll(j.Args)
	j.Env, j.Files = subMap(j.Env), subMap(j.Files)
	if j.Replicas != nil {
		reps := make(map[jobs.ReplicaType]jobs.ReplicaSpec, len(j.Replicas))
		for t, r := range j.Replicas {
			r.Command, r.Args = subAll(r.Command), subAll(r.Args)
			reps[t] = r
		}
		j.Replicas = reps
	}
	labels := map[string]string{}
	for k, v := range j.Labels {
		labels[k] = v
	}
	labels[LabelStudy] = s.Name
	labels[LabelTrial] = name
	j.Labels = labels
	if j.Experiment == "" {
		j.Experiment = s.Experiment
	}
	// The objective and additional metrics are what the job must report.
	if len(j.Metrics.Names) > 0 {
		names := slices.Clone(j.Metrics.Names)
		for _, m := range append([]string{s.Objective.Metric}, s.Objective.AdditionalMetrics...) {
			if !slices.Contains(names, m) {
				names = append(names, m)
			}
		}
		j.Metrics.Names = names
	}
	return j
}

// Labels on trial jobs and tags on trial runs.
const (
	LabelStudy = "ferry.study"
	LabelTrial = "ferry.trial"
)

// TrialName returns the name of the study's i-th trial (from 1).
func TrialName(study string, i int) string { return study + "-" + strconv.Itoa(i) }

// Trial is one trial of a study.
type Trial struct {
	Name        string       `json:"name"`
	Index       int          `json:"index"`
	Assignments []Assignment `json:"assignments"`
	Point       Point        `json:"point"`
	// Labels are the suggestion's (an algorithm's bookkeeping).
	Labels  map[string]string `json:"labels,omitempty"`
	State   TrialState        `json:"state"`
	Message string            `json:"message,omitempty"`
	// Value is the objective's result (by the objective's strategy); set
	// when State.HasResult().
	Value *float64 `json:"value,omitempty"`
	// Reports holds the objective metric's values in the order reported.
	Reports []Step `json:"reports,omitempty"`
	// Metrics holds the latest value of each additional metric.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// RunID is the trial's tracking run; Job its training job, if any.
	RunID    string    `json:"runId,omitempty"`
	Job      string    `json:"job,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	Created  time.Time `json:"created"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
}

// StudyState is the state of a study.
type StudyState string

// Study states.
const (
	StudyRunning StudyState = "Running"
	// StudySucceeded: max trials run, the goal reached, or the search
	// space exhausted (Reason says which).
	StudySucceeded StudyState = "Succeeded"
	// StudyFailed: max failed trials reached, or the algorithm failed.
	StudyFailed StudyState = "Failed"
	// StudyStopped: stopped by the user; Resume continues it.
	StudyStopped StudyState = "Stopped"
)

// Finished reports whether the study has ended (Stopped is not: it can
// be resumed).
func (s StudyState) Finished() bool { return s == StudySucceeded || s == StudyFailed }

// Study is a study and its trials.
type Study struct {
	Spec    Spec       `json:"spec"`
	State   StudyState `json:"state"`
	Reason  string     `json:"reason,omitempty"`
	Message string     `json:"message,omitempty"`
	Trials  []Trial    `json:"trials"`
	// RunID is the study's tracking run, the parent of its trials' runs.
	RunID    string    `json:"runId,omitempty"`
	Created  time.Time `json:"created"`
	Finished time.Time `json:"finished,omitzero"`
}

// Name returns the study's name.
func (s *Study) Name() string { return s.Spec.Name }

// Best returns the trial with the best result, and false when no trial
// has one. Ties go to the earlier trial.
func (s *Study) Best() (Trial, bool) {
	best := -1
	for i, t := range s.Trials {
		if !t.State.HasResult() || t.Value == nil {
			continue
		}
		if best < 0 || s.Spec.Objective.Better(*t.Value, *s.Trials[best].Value) {
			best = i
		}
	}
	if best < 0 {
		return Trial{}, false
	}
	return s.Trials[best], true
}

// Count returns how many trials are in each state.
func (s *Study) Count() map[TrialState]int {
	out := map[TrialState]int{}
	for _, t := range s.Trials {
		out[t.State]++
	}
	return out
}

// Observations returns the trials as an algorithm sees them.
func (s *Study) Observations() []Observation {
	out := make([]Observation, len(s.Trials))
	for i, t := range s.Trials {
		o := Observation{Point: t.Point, State: t.State, Labels: t.Labels}
		if t.Value != nil {
			o.Loss = s.Spec.Objective.Loss(*t.Value)
		}
		for _, r := range t.Reports {
			o.Curve = append(o.Curve, Step{Step: r.Step, Loss: s.Spec.Objective.Loss(r.Loss)})
		}
		out[i] = o
	}
	return out
}

// Report is what a trial reports: values of its metrics at a step. A
// final report ends the trial.
type Report struct {
	Step    int64              `json:"step"`
	Metrics map[string]float64 `json:"metrics"`
	// Final ends the trial: Succeeded, or MetricsUnavailable if the
	// objective was never reported. Failed ends it as Failed with Message.
	Final   bool   `json:"final,omitempty"`
	Failed  bool   `json:"failed,omitempty"`
	Message string `json:"message,omitempty"`
}

// Decision answers a report: whether the trial should stop now (an
// early-stopping rule caught it: it is EarlyStopped), and the trial.
type Decision struct {
	Stop  bool  `json:"stop"`
	Trial Trial `json:"trial"`
}

// Event is a change of a study.
type Event struct {
	Type  jobs.EventType `json:"type"`
	Study Study          `json:"study"`
}

// Backend runs studies. Its methods are safe for concurrent use. Errors
// carry a ferry.Code: Invalid for a bad spec (before any trial starts),
// AlreadyExists for a taken name, NotFound for an unknown study or trial,
// NotSupported for Ask and Tell on a study whose trials are jobs.
type Backend interface {
	// Create validates spec and starts the study. Trials of a job
	// template start in the background.
	Create(ctx context.Context, spec Spec) (Study, error)
	Get(ctx context.Context, name string) (Study, error)
	// List returns every study, oldest first.
	List(ctx context.Context) ([]Study, error)
	// Watch sends the study named name (every study for ""), then every
	// change until ctx is done. A slow receiver misses intermediate
	// states, never the latest.
	Watch(ctx context.Context, name string) (<-chan Event, error)
	// Stop kills the running trials (Killed) and stops the study. Resume
	// continues a stopped study, running the killed trials' points again;
	// on a running study without a job template it hands the trials the
	// caller left running back out (the caller that ran them is gone: the
	// kernel restarted).
	Stop(ctx context.Context, name string) error
	Resume(ctx context.Context, name string) (Study, error)
	// Delete stops the study and removes its record (its tracking runs
	// stay).
	Delete(ctx context.Context, name string) error
	// Ask starts the next trial of a study without a job template, to be
	// run by the caller, and returns it with ok true; ok is false when the
	// study has no trial to give now (ParallelTrials are running, or it
	// has finished or stopped: Get tells which).
	Ask(ctx context.Context, name string) (trial Trial, ok bool, err error)
	// Tell records a report of a trial started by Ask.
	Tell(ctx context.Context, name, trial string, r Report) (Decision, error)
}
