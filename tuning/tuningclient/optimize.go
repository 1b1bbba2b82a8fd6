package tuningclient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
)

// Study is a handle on a study of a session's backend.
type Study struct {
	b    tuning.Backend
	name string
	spec tuning.Spec
}

// Name returns the study's name.
func (s *Study) Name() string { return s.name }

// Get returns the study's current state.
func (s *Study) Get(ctx context.Context) (tuning.Study, error) { return s.b.Get(ctx, s.name) }

// Open creates the study of spec on the default session's backend, or
// opens the study of that name if it exists with the same objective,
// search space and algorithm (a cell run again goes on with its study:
// trials left running by a kernel that died are run again).
func Open(spec tuning.Spec) (*Study, error) {
	ss, err := Default()
	if err != nil {
		return nil, err
	}
	return ss.Open(context.Background(), spec)
}

// Open is the package's Open on the session's backend.
func (ss *Session) Open(ctx context.Context, spec tuning.Spec) (*Study, error) {
	st, err := ss.Backend.Create(ctx, spec)
	if ferry.ErrorCode(err) == ferry.AlreadyExists {
		st, err = ss.Backend.Get(ctx, spec.Name)
		if err == nil {
			if why := differs(st.Spec, spec.WithDefaults()); why != "" {
				return nil, ferry.Errorf(ferry.AlreadyExists, "tuning: a study named %q exists with another %s: delete it (%%tune delete %s) or choose another name", spec.Name, why, spec.Name)
			}
			st, err = ss.Backend.Resume(ctx, spec.Name)
		}
	}
	if err != nil {
		return nil, err
	}
	return &Study{b: ss.Backend, name: st.Spec.Name, spec: st.Spec}, nil
}

// differs names what of a study's spec a new one changes: what would make
// the old trials another study's.
func differs(old, new tuning.Spec) string {
	switch {
	case !reflect.DeepEqual(old.Objective, new.Objective):
		return "objective"
	case !reflect.DeepEqual(old.Space, new.Space):
		return "search space"
	case old.Algorithm.Name != new.Algorithm.Name || !reflect.DeepEqual(old.Algorithm.Settings, new.Algorithm.Settings):
		return "algorithm"
	case (old.Template.Job == nil) != (new.Template.Job == nil):
		return "kind of trials"
	}
	return ""
}

// Trial is one trial of Optimize: its parameters, and Report to send
// intermediate values.
type Trial struct {
	tuning.Trial
	study *Study
	space tuning.Space
	ctx   context.Context

	mu      sync.Mutex
	stopped bool
	step    int64
	err     error
}

func (t *Trial) value(name string) (tuning.Param, string) {
	for _, a := range t.Assignments {
		if a.Name == name {
			return t.space[t.space.Index(name)], a.Value
		}
	}
	names := make([]string, len(t.space))
	for i, p := range t.space {
		names[i] = p.Name
	}
	panic(fmt.Sprintf("tuning: trial %s has no parameter %q (the search space has %s)", t.Name, name, strings.Join(names, ", ")))
}

// Float returns the value of a double, int or discrete parameter.
func (t *Trial) Float(name string) float64 {
	p, v := t.value(name)
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		panic(fmt.Sprintf("tuning: parameter %q is %s (%q): use t.String(%q)", name, p.Type, v, name))
	}
	return x
}

// Int returns the value of an int (or whole discrete) parameter.
func (t *Trial) Int(name string) int {
	x := t.Float(name)
	if x != math.Trunc(x) {
		panic(fmt.Sprintf("tuning: parameter %q is %v, not a whole number: use t.Float(%q)", name, x, name))
	}
	return int(x)
}

// String returns the value of a parameter as assigned (a categorical
// parameter's choice).
func (t *Trial) String(name string) string {
	_, v := t.value(name)
	return v
}

// Params returns the trial's assignments by name.
func (t *Trial) Params() map[string]string {
	out := make(map[string]string, len(t.Assignments))
	for _, a := range t.Assignments {
		out[a.Name] = a.Value
	}
	return out
}

// Report sends the objective's value at step (an epoch) and reports
// whether the trial should stop now: the study's early-stopping rule
// caught it (it is EarlyStopped, with this value), or the study stopped.
// The objective should then return.
func (t *Trial) Report(step int, value float64) bool {
	return t.ReportMetrics(step, map[string]float64{t.study.spec.Objective.Metric: value})
}

// ReportMetrics is Report with several metrics (the objective's and the
// study's additional metrics).
func (t *Trial) ReportMetrics(step int, metrics map[string]float64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return true
	}
	t.step = int64(step)
	d, err := t.study.b.Tell(t.ctx, t.study.name, t.Name, tuning.Report{Step: int64(step), Metrics: metrics})
	if err != nil {
		t.err, t.stopped = err, true
		return true
	}
	if d.Stop || d.Trial.State.Finished() {
		t.stopped = true
	}
	return t.stopped
}

// Objective is a function Optimize minimises or maximises: it returns the
// objective metric's final value for the trial's parameters.
type Objective func(t *Trial) float64

// Option configures Optimize.
type Option func(*optimizeOptions)

type optimizeOptions struct {
	sink Sink
	ctx  context.Context
}

// WithSink sends the study's progress to sink (a widgets.StudyMonitor).
func WithSink(s Sink) Option { return func(o *optimizeOptions) { o.sink = s } }

// WithContext bounds Optimize by ctx (an interrupted cell).
func WithContext(ctx context.Context) Option { return func(o *optimizeOptions) { o.ctx = ctx } }

// NewSink, when set, makes the Sink Optimize uses when no WithSink is
// given (the kernel sets it to display a widgets.StudyMonitor).
var NewSink func(name string, c Controls) Sink

// Optimize runs the study's trials with f in ParallelTrials goroutines
// until the study ends, and returns its best trial. A trial whose f
// panics or returns NaN fails (with the panic's message); the study fails
// after MaxFailedTrials of them.
func (s *Study) Optimize(f Objective, opts ...Option) (tuning.Trial, error) {
	o := optimizeOptions{ctx: context.Background()}
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := context.WithCancel(o.ctx)
	defer cancel()
	if o.sink == nil && NewSink != nil {
		o.sink = NewSink(s.name, s.controls(ctx))
	}
	var mon sync.WaitGroup
	if o.sink != nil {
		mctx, stop := context.WithCancel(ctx)
		defer func() { stop(); mon.Wait() }()
		mon.Add(1)
		go func() {
			defer mon.Done()
			Monitor(mctx, s.b, s.name, o.sink)
		}()
	}
	var wg sync.WaitGroup
	errs := make(chan error, s.spec.ParallelTrials)
	for range max(s.spec.ParallelTrials, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.work(ctx, f); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return tuning.Trial{}, err
	}
	if err := o.ctx.Err(); err != nil {
		return tuning.Trial{}, fmt.Errorf("tuning: study %s: %w (its trials so far are kept; run Optimize again to go on)", s.name, err)
	}
	st, err := s.b.Get(context.Background(), s.name)
	if err != nil {
		return tuning.Trial{}, err
	}
	if st.State == tuning.StudyFailed {
		return tuning.Trial{}, ferry.Errorf(ferry.Invalid, "tuning: study %s failed: %s", s.name, st.Message)
	}
	best, ok := st.Best()
	if !ok {
		return tuning.Trial{}, ferry.Errorf(ferry.Invalid, "tuning: study %s (%s) has no trial with a result", s.name, st.State)
	}
	return best, nil
}

// work asks for trials and runs them until the study has none left.
func (s *Study) work(ctx context.Context, f Objective) error {
	for ctx.Err() == nil {
		tr, ok, err := s.b.Ask(ctx, s.name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !ok {
			st, err := s.b.Get(ctx, s.name)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if st.State != tuning.StudyRunning {
				return nil
			}
			select { // the other workers hold the running trials
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		if err := s.run(ctx, f, &Trial{Trial: tr, study: s, space: s.spec.Space, ctx: ctx}); err != nil {
			return err
		}
	}
	return nil
}

// run runs one trial and tells its end.
func (s *Study) run(ctx context.Context, f Objective, t *Trial) error {
	v, perr := call(f, t)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	if t.stopped || ctx.Err() != nil {
		return nil
	}
	rep := tuning.Report{Step: t.step, Final: true}
	switch {
	case perr != nil:
		rep = tuning.Report{Failed: true, Message: perr.Error()}
	case math.IsNaN(v) || math.IsInf(v, 0):
		rep = tuning.Report{Failed: true, Message: fmt.Sprintf("the objective returned %v", v)}
	default:
		rep.Metrics = map[string]float64{s.spec.Objective.Metric: v}
	}
	_, err := s.b.Tell(ctx, s.name, t.Name, rep)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// call runs f, turning a panic into an error.
func call(f Objective, t *Trial) (v float64, err error) {
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(error); ok {
				err = e
			} else {
				err = errors.New(fmt.Sprint(p))
			}
		}
	}()
	return f(t), nil
}

// controls are the actions of a widget on an Optimize: stop only (the
// cell run again resumes; nothing runs the trials of a resumed study
// after Optimize returned).
func (s *Study) controls(ctx context.Context) Controls {
	return Controls{Stop: func() error { return s.b.Stop(context.WithoutCancel(ctx), s.name) }}
}
