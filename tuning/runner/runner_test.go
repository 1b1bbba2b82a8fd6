package runner_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/runner"
)

const waitLimit = 90 * time.Second

// sampler is a random search for the tests: a function of the seed and
// the history, as the contract asks.
type sampler struct{}

func (sampler) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	rng := rand.New(rand.NewPCG(uint64(req.Seed), uint64(len(req.History))))
	out := make([]tuning.Suggestion, req.N)
	for i := range out {
		out[i] = tuning.Suggestion{Point: req.Space.Sample(rng)}
	}
	return out, nil
}

// median is Katib's median stop for the tests: the median of the mean
// losses of the succeeded trials, from the 2nd report on, once 3 trials
// succeeded.
type median struct{}

func (median) Rules(ctx context.Context, h []tuning.Observation) ([]tuning.StopRule, error) {
	var means []float64
	for _, o := range h {
		if o.State != tuning.Succeeded {
			continue
		}
		s := 0.0
		for _, c := range o.Curve {
			s += c.Loss
		}
		means = append(means, s/float64(len(o.Curve)))
	}
	if len(means) < 3 {
		return nil, nil
	}
	slicesSort(means)
	m := means[len(means)/2]
	if len(means)%2 == 0 {
		m = (means[len(means)/2-1] + m) / 2
	}
	return []tuning.StopRule{{Threshold: m, StartStep: 2}}, nil
}

func slicesSort(xs []float64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

func algorithms(name string, space tuning.Space, s tuning.Settings) (tuning.Suggester, error) {
	if name != "random" {
		return nil, ferry.Errorf(ferry.Invalid, "unknown algorithm %q", name)
	}
	return sampler{}, nil
}

func stoppers(name string, s tuning.Settings) (tuning.EarlyStopper, error) {
	return median{}, nil
}

func openTracker(t *testing.T, dir string) storage.Tracker {
	t.Helper()
	tr, err := tracking.Open(t.Context(), tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func open(t *testing.T, dir string, jb jobs.Backend, tr storage.Tracker) *runner.Runner {
	t.Helper()
	r, err := runner.Open(t.Context(), runner.Options{Dir: dir, Jobs: jb, Tracker: tr,
		Suggesters: algorithms, Stoppers: stoppers, Poll: 50 * time.Millisecond, Logger: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func quadSpec(name string) tuning.Spec {
	return tuning.Spec{
		Name:      name,
		Objective: tuning.Objective{Metric: "loss", Direction: tuning.Minimize},
		Space:     tuning.Space{tuning.Float("x", 0, 1), tuning.IntRange("n", 1, 4)},
		Algorithm: tuning.Algorithm{Name: "random"},
		Early:     &tuning.EarlyStopping{Name: "medianstop"},
		Seed:      7,
	}
}

// objective is a learning curve: it falls over 5 steps toward
// (x-0.3)^2 + n/10.
func curve(x float64, n int, step int) float64 {
	final := (x-0.3)*(x-0.3) + float64(n)/10
	return final + math.Exp(-float64(step))
}

// work runs asked trials like an in-kernel Optimize with 3 workers;
// abandon, when set, leaves a worker's trial running after so many
// reports (a kernel that died).
func work(t *testing.T, r *runner.Runner, name string, workers int, abandon int) {
	t.Helper()
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				tr, ok, err := r.Ask(ctx, name)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					st, err := r.Get(ctx, name)
					if err != nil {
						errs <- err
						return
					}
					if st.State != tuning.StudyRunning {
						return
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				x, _ := tuning.Space{tuning.Float("x", 0, 1)}[0].Parse(tr.Assignments[0].Value)
				n := int(tr.Point[1])
				for step := 1; step <= 5; step++ {
					if abandon > 0 && w == 0 && k == 1 && step == 2 {
						return // this worker's kernel died mid-trial
					}
					d, err := r.Tell(ctx, name, tr.Name, tuning.Report{Step: int64(step), Metrics: map[string]float64{"loss": curve(x, n, step), "acc": 1 - x}})
					if err != nil {
						errs <- err
						return
					}
					if d.Stop {
						break
					}
					if step == 5 {
						if _, err := r.Tell(ctx, name, tr.Name, tuning.Report{Final: true}); err != nil {
							errs <- err
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestAskTell(t *testing.T) {
	dir := t.TempDir()
	tr := openTracker(t, dir)
	r := open(t, filepath.Join(dir, "studies"), nil, tr)
	defer r.Close()
	sp := quadSpec("quad")
	sp.Objective.AdditionalMetrics = []string{"acc"}
	if _, err := r.Create(t.Context(), sp); err != nil {
		t.Fatal(err)
	}
	work(t, r, "quad", 3, 0)
	st, err := r.Get(t.Context(), "quad")
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, &st, 12)
	// Trials are child runs of the study's, with the assignments as params.
	best, _ := st.Best()
	run, err := tr.GetRun(t.Context(), best.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.ParentRunID != st.RunID || run.Params["x"] != best.Assignments[0].Value || run.Status != storage.RunFinished {
		t.Errorf("best trial's run: parent %q params %v status %s; want parent %q, x=%s, FINISHED", run.ParentRunID, run.Params, run.Status, st.RunID, best.Assignments[0].Value)
	}
	if got := run.Metrics["acc"].Value; got != best.Metrics["acc"] {
		t.Errorf("acc on the run = %v, on the trial %v", got, best.Metrics["acc"])
	}
	srun, err := tr.GetRun(t.Context(), st.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if srun.Status != storage.RunFinished || srun.Metrics["best.loss"].Value != *best.Value {
		t.Errorf("study run: status %s, best.loss %v; want FINISHED, %v", srun.Status, srun.Metrics["best.loss"], *best.Value)
	}
}

// checkDone checks a finished study of n trials: every trial finished, at
// least one stopped early, and the best beats the median.
func checkDone(t *testing.T, st *tuning.Study, n int) {
	t.Helper()
	if st.State != tuning.StudySucceeded || st.Reason != "MaxTrialsReached" {
		t.Fatalf("study %s (%s: %s), want Succeeded, MaxTrialsReached", st.State, st.Reason, st.Message)
	}
	if len(st.Trials) != n {
		t.Fatalf("%d trials, want exactly %d", len(st.Trials), n)
	}
	counts := st.Count()
	if counts[tuning.Succeeded]+counts[tuning.EarlyStopped] != n {
		t.Errorf("trial states %v, want all %d Succeeded or EarlyStopped", counts, n)
	}
	if counts[tuning.EarlyStopped] == 0 {
		t.Errorf("no trial was stopped early: %v", counts)
	}
	var vals []float64
	for _, tr := range st.Trials {
		if tr.State == tuning.Succeeded {
			vals = append(vals, *tr.Value)
		}
	}
	slicesSort(vals)
	best, _ := st.Best()
	if med := vals[len(vals)/2]; !(*best.Value < med) {
		t.Errorf("best %v does not beat the median %v", *best.Value, med)
	}
	for i, tr := range st.Trials {
		if tr.Name != tuning.TrialName(st.Spec.Name, i+1) {
			t.Errorf("trial %d is named %s", i+1, tr.Name)
		}
	}
}

// A runner opened again after its callers died hands their trials out
// again: the study still ends with exactly MaxTrials trials.
func TestAskTellRestart(t *testing.T) {
	dir := t.TempDir()
	tr := openTracker(t, dir)
	state := filepath.Join(dir, "studies")
	r := open(t, state, nil, tr)
	if _, err := r.Create(t.Context(), quadSpec("quad")); err != nil {
		t.Fatal(err)
	}
	// One worker runs a trial and walks away from the second.
	work(t, r, "quad", 1, 1)
	st, _ := r.Get(t.Context(), "quad")
	if c := st.Count(); c[tuning.Running] != 1 || c[tuning.Created] != 2 {
		t.Fatalf("before the restart: %v, want 1 Running, 2 Created", c)
	}
	r.Close()

	r = open(t, state, nil, tr)
	defer r.Close()
	work(t, r, "quad", 3, 0)
	st, _ = r.Get(t.Context(), "quad")
	checkDone(t, &st, 12)
	if st.Trials[1].Attempts != 1 {
		t.Errorf("the abandoned trial has %d more attempts, want 1", st.Trials[1].Attempts)
	}
}

func TestValidation(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, nil, nil)
	defer r.Close()
	sp := quadSpec("bad")
	sp.Algorithm.Name = "annealing"
	if _, err := r.Create(t.Context(), sp); err == nil || !strings.Contains(err.Error(), "unknown algorithm") {
		t.Errorf("unknown algorithm: %v", err)
	}
	sp = quadSpec("jobs")
	sp.Template.Job = &jobs.Spec{Kind: jobs.PyTorch, Command: []string{"echo", "${trialParameters.x}", "${trialParameters.n}"}}
	if _, err := r.Create(t.Context(), sp); ferry.ErrorCode(err) != ferry.NotSupported {
		t.Errorf("job template without a job backend: %v, want NotSupported", err)
	}
	sp = quadSpec("quad")
	if _, err := r.Create(t.Context(), sp); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(t.Context(), sp); ferry.ErrorCode(err) != ferry.AlreadyExists {
		t.Errorf("second create: %v, want AlreadyExists", err)
	}
	if _, err := r.Tell(t.Context(), "quad", "quad-9", tuning.Report{}); !ferry.IsNotFound(err) {
		t.Errorf("tell an unknown trial: %v, want NotFound", err)
	}
}

// trialScript prints a learning curve of (x-0.3)^2 + n/10 as Katib's
// StdOut collector reads it.
const trialScript = `import math, sys, time
x, n = float(sys.argv[1]), int(sys.argv[2])
final = (x - 0.3) ** 2 + n / 10
for step in range(1, 6):
    print(f"epoch={step}")
    print(f"loss={final + math.exp(-step):.6f}", flush=True)
    time.sleep(0.15)
`

func jobSpec(name string) tuning.Spec {
	sp := quadSpec(name)
	sp.Template.Job = &jobs.Spec{
		Kind:     jobs.PyTorch,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}},
		Command:  []string{"/usr/bin/python3", "trial.py", "${trialParameters.x}", "${trialParameters.n}"},
		Files:    map[string]string{"trial.py": trialScript},
	}
	return sp
}

func newJobs(t *testing.T, dir string, tr storage.Tracker) *local.Backend {
	t.Helper()
	b, err := local.New(t.Context(), local.Options{Dir: dir, Tracker: tr, GPUs: []string{}, Logger: logger(t),
		GracePeriod: 2 * time.Second, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		js, _ := b.List(context.Background(), jobs.ListOptions{})
		for _, j := range js {
			_ = b.Cancel(context.Background(), j.Name())
		}
		b.Close()
	})
	return b
}

func wait(t *testing.T, r *runner.Runner, name string, cond func(*tuning.Study) bool) tuning.Study {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	ch, err := r.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var last tuning.Study
	for ev := range ch {
		last = ev.Study
		if cond(&last) {
			return last
		}
	}
	t.Fatalf("study %s: condition not met within %s; last: %s %s, %v", name, waitLimit, last.State, last.Message, last.Count())
	return last
}

// Trials as local jobs: the study ends with exactly 12 trials although the
// runner is closed and opened again in the middle, and the jobs backend
// holds exactly one job per trial.
func TestJobTrials(t *testing.T) {
	dir := t.TempDir()
	tr := openTracker(t, dir)
	jb := newJobs(t, filepath.Join(dir, "jobs"), tr)
	state := filepath.Join(dir, "studies")
	r := open(t, state, jb, tr)
	if _, err := r.Create(t.Context(), jobSpec("quad")); err != nil {
		t.Fatal(err)
	}
	wait(t, r, "quad", func(s *tuning.Study) bool { return len(s.Trials) >= 5 })
	r.Close() // the lab stops; the jobs go on
	r = open(t, state, jb, tr)
	defer r.Close()
	st := wait(t, r, "quad", func(s *tuning.Study) bool { return s.State != tuning.StudyRunning })
	checkDone(t, &st, 12)
	js, err := jb.List(t.Context(), jobs.ListOptions{Labels: map[string]string{tuning.LabelStudy: "quad"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 12 {
		names := []string{}
		for _, j := range js {
			names = append(names, j.Name())
		}
		t.Errorf("%d jobs (%v), want 12", len(js), names)
	}
	for _, trl := range st.Trials {
		if trl.State == tuning.EarlyStopped && !strings.Contains(trl.Message, "stopped early") {
			t.Errorf("early-stopped trial %s: message %q", trl.Name, trl.Message)
		}
		if trl.RunID == "" {
			t.Errorf("trial %s has no run", trl.Name)
			continue
		}
		run, err := tr.GetRun(t.Context(), trl.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if run.ParentRunID != st.RunID || run.Params["x"] == "" {
			t.Errorf("trial %s run: parent %q, params %v", trl.Name, run.ParentRunID, run.Params)
		}
	}
	fmt.Fprintln(t.Output(), st.Count())
}

// A template whose job fails ends the study as Failed after
// maxFailedTrials, and the trials say where the logs are.
func TestFailedTrials(t *testing.T) {
	dir := t.TempDir()
	tr := openTracker(t, dir)
	jb := newJobs(t, filepath.Join(dir, "jobs"), tr)
	r := open(t, filepath.Join(dir, "studies"), jb, tr)
	defer r.Close()
	sp := jobSpec("broken")
	sp.Template.Job.Files = map[string]string{"trial.py": "raise SystemExit('no data')\n"}
	if _, err := r.Create(t.Context(), sp); err != nil {
		t.Fatal(err)
	}
	st := wait(t, r, "broken", func(s *tuning.Study) bool { return s.State != tuning.StudyRunning })
	if st.State != tuning.StudyFailed || st.Reason != "MaxFailedTrialsReached" {
		t.Fatalf("study %s %s, want Failed MaxFailedTrialsReached", st.State, st.Reason)
	}
	c := st.Count()
	if c[tuning.Failed] < 3 || c[tuning.Running]+c[tuning.Created] != 0 {
		t.Errorf("trial states %v: want at least 3 Failed, none left running", c)
	}
	if !strings.Contains(st.Trials[0].Message, "no data") || !strings.Contains(st.Trials[0].Message, "ferry jobs logs broken-1") {
		t.Errorf("first trial's message %q: want the job's last log line and where its logs are", st.Trials[0].Message)
	}
}

// slow is an algorithm that takes until its context ends.
type slow struct{}

func (slow) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A caller that goes away while the algorithm works (a kernel stopped in
// the middle of Ask) fails nothing: the study goes on.
func TestAskCancelled(t *testing.T) {
	r, err := runner.Open(t.Context(), runner.Options{Dir: t.TempDir(), Logger: logger(t),
		Suggesters: func(string, tuning.Space, tuning.Settings) (tuning.Suggester, error) { return slow{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sp := quadSpec("quad")
	sp.Early = nil
	if _, err := r.Create(t.Context(), sp); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, ok, _ := r.Ask(ctx, "quad"); ok {
		t.Fatal("Ask gave a trial")
	}
	st, err := r.Get(t.Context(), "quad")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != tuning.StudyRunning || len(st.Trials) != 0 {
		t.Errorf("after a cancelled Ask: %s (%s), %d trials; want Running with none", st.State, st.Message, len(st.Trials))
	}
}
