package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/tuning"
)

// Options configure a Runner.
type Options struct {
	// Dir is the state directory: one subdirectory per study.
	Dir string
	// Jobs runs the trials of studies with a job template; nil refuses
	// such studies.
	Jobs jobs.Backend
	// Tracker records the studies' and trials' runs; nil records none.
	Tracker storage.Tracker
	// Suggesters opens a study's algorithm by name, validating its
	// settings (tuning/algorithms.New).
	Suggesters func(name string, space tuning.Space, s tuning.Settings) (tuning.Suggester, error)
	// Stoppers opens an early-stopping algorithm by name
	// (tuning/algorithms.NewEarlyStopper); nil refuses early stopping.
	Stoppers func(name string, s tuning.Settings) (tuning.EarlyStopper, error)
	// Poll is how often a study's running jobs are looked at; default 500ms.
	Poll   time.Duration
	Logger *slog.Logger
}

// Runner runs studies; see the package doc.
type Runner struct {
	opts   Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	studies map[string]*entry
	subs    map[*sub]struct{}
}

var _ tuning.Backend = (*Runner)(nil)

type entry struct {
	mu        sync.Mutex
	study     tuning.Study
	suggester tuning.Suggester
	stopper   tuning.EarlyStopper
	kick      chan struct{}
	stop      context.CancelFunc // the loop's, nil when none runs
	deleted   bool
}

type sub struct {
	name string
	ch   chan tuning.Event
}

// Open opens a runner over opts.Dir: it loads every study there and goes
// on with the running ones (see the package doc).
func Open(ctx context.Context, opts Options) (*Runner, error) {
	if opts.Dir == "" {
		return nil, errors.New("runner: no state directory")
	}
	if opts.Suggesters == nil {
		return nil, errors.New("runner: no algorithms (Options.Suggesters)")
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &Runner{opts: opts, ctx: rctx, cancel: cancel, studies: map[string]*entry{}, subs: map[*sub]struct{}{}}
	des, err := os.ReadDir(opts.Dir)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("runner: %w", err)
	}
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(opts.Dir, de.Name(), "study.json"))
		if err != nil {
			continue // a study being deleted, or not a study
		}
		var st tuning.Study
		if err := json.Unmarshal(data, &st); err != nil {
			opts.Logger.Error("runner: unreadable study; skipped", "dir", de.Name(), "err", err)
			continue
		}
		e := &entry{study: st, kick: make(chan struct{}, 1)}
		if err := r.open(e); err != nil {
			opts.Logger.Error("runner: study's algorithm; skipped", "study", st.Spec.Name, "err", err)
			continue
		}
		// The callers of asked trials died with the previous runner's
		// process (kernels are the lab's children): hand them out again.
		if st.Spec.Template.Job == nil && st.State == tuning.StudyRunning {
			e.requeueAsked()
			if err := r.persist(e); err != nil {
				cancel()
				return nil, err
			}
		}
		r.studies[st.Spec.Name] = e
		if st.State == tuning.StudyRunning && st.Spec.Template.Job != nil {
			r.start(e)
		}
	}
	return r, nil
}

// Close stops the studies' loops; their jobs keep running, and a runner
// opened over the same directory goes on with them.
func (r *Runner) Close() error {
	r.cancel()
	r.wg.Wait()
	return nil
}

func (r *Runner) open(e *entry) error {
	sp := e.study.Spec
	s, err := r.opts.Suggesters(sp.Algorithm.Name, sp.Space, sp.Algorithm.Settings)
	if err != nil {
		return err
	}
	e.suggester = s
	if sp.Early != nil {
		if r.opts.Stoppers == nil {
			return ferry.Errorf(ferry.NotSupported, "tuning: study %q: this runner has no early stopping", sp.Name)
		}
		st, err := r.opts.Stoppers(sp.Early.Name, sp.Early.Settings)
		if err != nil {
			return err
		}
		e.stopper = st
	}
	return nil
}

func (r *Runner) dir(name string) string { return filepath.Join(r.opts.Dir, name) }

// persist writes the study atomically; e.mu is held.
func (r *Runner) persist(e *entry) error {
	data, err := json.MarshalIndent(&e.study, "", "  ")
	if err != nil {
		return err
	}
	dir := r.dir(e.study.Spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("runner: study %s: %w", e.study.Spec.Name, err)
	}
	tmp := filepath.Join(dir, ".study.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("runner: study %s: %w", e.study.Spec.Name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "study.json")); err != nil {
		return fmt.Errorf("runner: study %s: %w", e.study.Spec.Name, err)
	}
	return nil
}

// changed persists the study and tells the watchers; e.mu is held.
func (r *Runner) changed(e *entry, typ jobs.EventType) error {
	err := r.persist(e)
	r.notify(tuning.Event{Type: typ, Study: clone(e.study)})
	return err
}

func clone(s tuning.Study) tuning.Study {
	data, _ := json.Marshal(&s)
	var c tuning.Study
	_ = json.Unmarshal(data, &c)
	return c
}

func (r *Runner) notify(ev tuning.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.subs {
		if s.name != "" && s.name != ev.Study.Spec.Name {
			continue
		}
		select {
		case s.ch <- ev:
		default: // the latest state wins over an unread one
			select {
			case <-s.ch:
			default:
			}
			select {
			case s.ch <- ev:
			default:
			}
		}
	}
}

func (r *Runner) get(name string) (*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.studies[name]
	if !ok {
		return nil, ferry.Errorf(ferry.NotFound, "tuning: no study named %q", name)
	}
	return e, nil
}

// Create validates spec, opens its algorithm (validating its settings) and
// starts the study.
func (r *Runner) Create(ctx context.Context, spec tuning.Spec) (tuning.Study, error) {
	if err := spec.Validate(); err != nil {
		return tuning.Study{}, err
	}
	spec = spec.WithDefaults()
	if spec.Template.Job != nil {
		if r.opts.Jobs == nil {
			return tuning.Study{}, ferry.Errorf(ferry.NotSupported, "tuning: study %q: this runner has no job backend for trial jobs", spec.Name)
		}
		if spec.Experiment == "" {
			spec.Experiment = spec.Template.Job.Experiment
		}
		// The template must make a valid job: check one trial's.
		probe := spec.TrialJob(tuning.TrialName(spec.Name, 1), spec.Space.Assignments(spec.Space.FromUnit(make([]float64, len(spec.Space)))))
		if err := probe.Validate(); err != nil {
			return tuning.Study{}, ferry.Errorf(ferry.Invalid, "tuning: study %q: the trial template is not a valid job: %w", spec.Name, err)
		}
	}
	e := &entry{study: tuning.Study{Spec: spec, State: tuning.StudyRunning, Created: time.Now().UTC(), Trials: []tuning.Trial{}}, kick: make(chan struct{}, 1)}
	if err := r.open(e); err != nil {
		return tuning.Study{}, err
	}
	r.mu.Lock()
	if _, ok := r.studies[spec.Name]; ok {
		r.mu.Unlock()
		return tuning.Study{}, ferry.Errorf(ferry.AlreadyExists, "tuning: a study named %q exists: resume it, delete it, or choose another name", spec.Name)
	}
	r.studies[spec.Name] = e
	r.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if r.opts.Tracker != nil {
		id, err := r.studyRun(ctx, &e.study)
		if err != nil {
			r.mu.Lock()
			delete(r.studies, spec.Name)
			r.mu.Unlock()
			return tuning.Study{}, err
		}
		e.study.RunID = id
	}
	if err := r.changed(e, jobs.Added); err != nil {
		return tuning.Study{}, err
	}
	if spec.Template.Job != nil {
		r.start(e)
	}
	return clone(e.study), nil
}

// Get returns the study named name.
func (r *Runner) Get(ctx context.Context, name string) (tuning.Study, error) {
	e, err := r.get(name)
	if err != nil {
		return tuning.Study{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return clone(e.study), nil
}

// List returns every study, oldest first.
func (r *Runner) List(ctx context.Context) ([]tuning.Study, error) {
	r.mu.Lock()
	es := make([]*entry, 0, len(r.studies))
	for _, e := range r.studies {
		es = append(es, e)
	}
	r.mu.Unlock()
	out := make([]tuning.Study, 0, len(es))
	for _, e := range es {
		e.mu.Lock()
		out = append(out, clone(e.study))
		e.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b tuning.Study) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Watch sends the study named name (every study for "") and then each
// change of it, until ctx is done.
func (r *Runner) Watch(ctx context.Context, name string) (<-chan tuning.Event, error) {
	var initial []tuning.Study
	if name != "" {
		st, err := r.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		initial = []tuning.Study{st}
	} else {
		initial, _ = r.List(ctx)
	}
	s := &sub{name: name, ch: make(chan tuning.Event, 1)}
	out := make(chan tuning.Event, len(initial)+1)
	for _, st := range initial {
		out <- tuning.Event{Type: jobs.Added, Study: st}
	}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			r.mu.Lock()
			delete(r.subs, s)
			r.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.ctx.Done():
				return
			case ev := <-s.ch:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// Stop kills the running trials and stops the study.
func (r *Runner) Stop(ctx context.Context, name string) error {
	e, err := r.get(name)
	if err != nil {
		return err
	}
	r.halt(e)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.study.State != tuning.StudyRunning {
		return nil
	}
	r.killRunning(ctx, e, "the study was stopped")
	e.study.State, e.study.Reason, e.study.Message = tuning.StudyStopped, "Stopped", "stopped by the user; resume it to go on"
	return r.changed(e, jobs.Modified)
}

// halt stops the study's loop and waits for it.
func (r *Runner) halt(e *entry) {
	e.mu.Lock()
	stop := e.stop
	e.stop = nil
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// killRunning cancels the jobs of unfinished trials and marks them Killed;
// e.mu is held.
func (r *Runner) killRunning(ctx context.Context, e *entry, why string) {
	// The trials are marked Killed whatever happens to the caller: their
	// jobs must stop with them.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	now := time.Now().UTC()
	for i := range e.study.Trials {
		t := &e.study.Trials[i]
		if t.State.Finished() {
			continue
		}
		if t.Job != "" && r.opts.Jobs != nil {
			if err := r.opts.Jobs.Cancel(ctx, t.Job); err != nil && !ferry.IsNotFound(err) {
				r.opts.Logger.Warn("runner: cancel trial job", "trial", t.Name, "err", err)
			}
		}
		t.State, t.Message, t.Finished = tuning.Killed, why, now
		r.endRun(ctx, t, storage.RunKilled)
	}
}

// Resume continues a stopped study (its killed trials run again) or hands
// the trials a caller left running back out.
func (r *Runner) Resume(ctx context.Context, name string) (tuning.Study, error) {
	e, err := r.get(name)
	if err != nil {
		return tuning.Study{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.study.State {
	case tuning.StudySucceeded, tuning.StudyFailed:
		return clone(e.study), nil
	case tuning.StudyStopped:
		for i := range e.study.Trials {
			t := &e.study.Trials[i]
			if t.State == tuning.Killed {
				e.again(t)
			}
		}
		e.study.State, e.study.Reason, e.study.Message = tuning.StudyRunning, "", ""
	case tuning.StudyRunning:
		if e.study.Spec.Template.Job == nil {
			e.requeueAsked()
		}
	}
	if err := r.changed(e, jobs.Modified); err != nil {
		return tuning.Study{}, err
	}
	if e.study.Spec.Template.Job != nil && e.stop == nil {
		r.start(e)
	}
	return clone(e.study), nil
}

// again makes a trial Created to run its point once more, under a new job.
func (e *entry) again(t *tuning.Trial) {
	t.Attempts++
	t.State, t.Message, t.Value, t.Reports, t.Metrics = tuning.Created, "", nil, nil, nil
	t.Started, t.Finished, t.RunID = time.Time{}, time.Time{}, ""
	if t.Job != "" {
		t.Job = t.Name + "-a" + strconv.Itoa(t.Attempts+1)
	}
}

// requeueAsked makes the running asked trials Created again; e.mu is held.
func (e *entry) requeueAsked() {
	for i := range e.study.Trials {
		if t := &e.study.Trials[i]; t.State == tuning.Running {
			e.again(t)
		}
	}
}

// Delete stops the study and removes its record.
func (r *Runner) Delete(ctx context.Context, name string) error {
	e, err := r.get(name)
	if err != nil {
		return err
	}
	r.halt(e)
	e.mu.Lock()
	if e.study.State == tuning.StudyRunning {
		r.killRunning(ctx, e, "the study was deleted")
	}
	e.deleted = true
	ev := tuning.Event{Type: jobs.Deleted, Study: clone(e.study)}
	e.mu.Unlock()
	r.mu.Lock()
	delete(r.studies, name)
	r.mu.Unlock()
	if err := os.RemoveAll(r.dir(name)); err != nil {
		return fmt.Errorf("runner: delete study %s: %w", name, err)
	}
	r.notify(ev)
	return nil
}
