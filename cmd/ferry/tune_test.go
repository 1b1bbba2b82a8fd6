package main

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsapi"
	"github.com/ferryml/ferry/storage/trackingapi"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/tuningapi"
	"github.com/ferryml/ferry/tuning/tuningclient"
)

const tuneWait = 5 * time.Minute

// waitStudy watches a study through the API until cond holds.
func waitStudy(t *testing.T, c *tuningapi.Client, name string, cond func(*tuning.Study) bool) tuning.Study {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), tuneWait)
	defer cancel()
	ch, err := c.Watch(ctx, name)
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
	t.Fatalf("study %s: not there within %s; last %s %v %s", name, tuneWait, last.State, last.Count(), last.Message)
	return last
}

// checkStudy checks a finished study of 12 trials: every trial ran once,
// at least one was stopped early, and the best beats the median.
func checkStudy(t *testing.T, st tuning.Study) {
	t.Helper()
	if st.State != tuning.StudySucceeded || len(st.Trials) != 12 {
		t.Fatalf("study %s (%s: %s) with %d trials, want Succeeded with exactly 12", st.State, st.Reason, st.Message, len(st.Trials))
	}
	c := st.Count()
	if c[tuning.Succeeded]+c[tuning.EarlyStopped] != 12 {
		t.Errorf("trial states %v, want every trial Succeeded or EarlyStopped", c)
	}
	if c[tuning.EarlyStopped] == 0 {
		t.Errorf("no trial was stopped early: %v", c)
	}
	var vals []float64
	for _, tr := range st.Trials {
		if tr.Value != nil {
			vals = append(vals, *tr.Value)
		}
	}
	slices.Sort(vals)
	best, _ := st.Best()
	if med := vals[len(vals)/2]; !(*best.Value < med) {
		t.Errorf("best %v does not beat the median trial %v", *best.Value, med)
	}
}

// TestLabTuning: the acceptance of issue 14 on the embedded default. A
// study tunes a real XGBoost training job (Bayesian optimisation, 12
// trials, 3 at once, median stop) in `ferry lab`'s control plane; the lab
// is stopped in the middle and started again over the same data
// directory, and the study completes with exactly 12 trials, one job
// each.
func TestLabTuning(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import xgboost").Run(); err != nil {
		msg := "Debian python3 cannot import xgboost: apt-get install python3-xgboost"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	script, err := os.ReadFile("testdata/xgb_trial.py")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	api, stop := startLab(t, dataDir)
	c := tuningapi.NewClient(api, "tok", nil)
	spec := tuning.Spec{
		Name:      "xgb",
		Objective: tuning.Objective{Metric: "rmse", Direction: tuning.Minimize},
		Space: tuning.Space{
			tuning.Float("eta", 0.001, 1).Log(),
			tuning.IntRange("max_depth", 1, 8),
		},
		Algorithm:      tuning.Algorithm{Name: "bayesianoptimization", Settings: tuning.Settings{"n_initial_points": "6"}},
		Early:          &tuning.EarlyStopping{Name: "medianstop", Settings: tuning.Settings{"min_trials_required": "3", "start_step": "4"}},
		ParallelTrials: 3, MaxTrials: 12, Seed: 11,
		Template: tuning.Template{Job: &jobs.Spec{
			Kind:     jobs.XGBoost,
			Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}},
			Command:  []string{"/usr/bin/python3", "train.py", "--eta=${trialParameters.eta}", "--max_depth=${trialParameters.max_depth}"},
			Files:    map[string]string{"train.py": string(script)},
		}},
	}
	if _, err := c.Create(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	waitStudy(t, c, "xgb", func(s *tuning.Study) bool { return s.Count()[tuning.Succeeded]+s.Count()[tuning.EarlyStopped] >= 4 })
	stop() // the lab stops in the middle of the study; its trial jobs go on

	api, _ = startLab(t, dataDir)
	c = tuningapi.NewClient(api, "tok", nil)
	st := waitStudy(t, c, "xgb", func(s *tuning.Study) bool { return s.State != tuning.StudyRunning })
	checkStudy(t, st)
	js, err := jobsapi.NewClient(api, "tok", nil).List(t.Context(), jobs.ListOptions{Labels: map[string]string{tuning.LabelStudy: "xgb"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 12 {
		t.Errorf("%d trial jobs, want 12 (one per trial)", len(js))
	}
	// The trials are runs under the study's run: %runs compare works on them.
	tc := trackingapi.NewClient(api, "tok", nil)
	best, _ := st.Best()
	run, err := tc.GetRun(t.Context(), best.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.ParentRunID != st.RunID || run.Params["eta"] != best.Assignments[0].Value || run.Metrics["rmse"].Value != *best.Value {
		t.Errorf("best trial's run: parent %q (study %q), params %v, rmse %v; want the trial's", run.ParentRunID, st.RunID, run.Params, run.Metrics["rmse"])
	}
}

// TestLabTuningGoObjective: the same with an objective in Go, run by the
// caller through the control plane as a kernel's Optimize does; the lab
// (and with it the kernel) stops in the middle, the cell is run again, and
// the study completes with exactly 12 trials.
func TestLabTuningGoObjective(t *testing.T) {
	dataDir := t.TempDir()
	api, stop := startLab(t, dataDir)
	spec := tuning.Spec{
		Name:           "quad",
		Objective:      tuning.Objective{Metric: "loss"},
		Space:          tuning.Space{tuning.Float("x", -2, 2), tuning.Float("y", -2, 2)},
		Algorithm:      tuning.Algorithm{Name: "bayesianoptimization", Settings: tuning.Settings{"n_initial_points": "5"}},
		Early:          &tuning.EarlyStopping{Name: "medianstop", Settings: tuning.Settings{"min_trials_required": "3", "start_step": "2"}},
		ParallelTrials: 3, MaxTrials: 12, Seed: 5,
	}
	var mu sync.Mutex
	finished := 0
	objective := func(tr *tuningclient.Trial) float64 {
		x, y := tr.Float("x"), tr.Float("y")
		f := (x-0.5)*(x-0.5) + (y+0.25)*(y+0.25)
		for step := 1; step <= 5; step++ {
			time.Sleep(20 * time.Millisecond)
			if tr.Report(step, f+1/float64(step)) {
				return f
			}
		}
		mu.Lock()
		finished++
		mu.Unlock()
		return f
	}
	run := func(api string) (tuning.Trial, error) {
		ss := &tuningclient.Session{Backend: tuningapi.NewClient(api, "tok", nil), Where: api}
		st, err := ss.Open(t.Context(), spec)
		if err != nil {
			return tuning.Trial{}, err
		}
		return st.Optimize(objective)
	}
	// The first kernel: the lab stops under it after some trials.
	done := make(chan error, 1)
	go func() { _, err := run(api); done <- err }()
	for {
		mu.Lock()
		n := finished
		mu.Unlock()
		if n >= 4 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Optimize ended before the lab stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err == nil {
		t.Fatal("Optimize succeeded although the lab stopped under it")
	}

	api, _ = startLab(t, dataDir)
	best, err := run(api)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tuningapi.NewClient(api, "tok", nil).Get(t.Context(), "quad")
	if err != nil {
		t.Fatal(err)
	}
	checkStudy(t, st)
	if best.Name == "" || !strings.HasPrefix(best.Name, "quad-") {
		t.Errorf("best trial %q", best.Name)
	}
	requeued := 0
	for _, tr := range st.Trials {
		requeued += tr.Attempts
	}
	if requeued == 0 {
		t.Error("no trial was run again after the restart: the trials running when the lab stopped should be")
	}
}

// TestLabKatib: `ferry lab --tuning-backend katib` creates a Katib
// Experiment for a study sent to its control plane; a bad setting is
// refused before anything reaches the cluster.
func TestLabKatib(t *testing.T) {
	k := labKube(t)
	ns := k.NewNamespace(t)
	api, _ := startLab(t, t.TempDir(), "--tuning-backend", "katib", "--kubeconfig", k.Kubeconfig, "--kube-namespace", ns, "--kube-image", "python:3.12")
	c := tuningapi.NewClient(api, "tok", nil)
	spec := tuning.Spec{
		Name:      "katib-lab",
		Objective: tuning.Objective{Metric: "loss"},
		Space:     tuning.Space{tuning.Float("lr", 0.001, 0.1).Log()},
		Algorithm: tuning.Algorithm{Name: "bayesianoptimization"},
		Template: tuning.Template{Job: &jobs.Spec{Kind: jobs.PyTorch,
			Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}},
			Command:  []string{"python3", "-c", "print('loss=0.5')", "--lr=${trialParameters.lr}"}}},
	}
	bad := spec
	bad.Algorithm.Settings = tuning.Settings{"acq_func": "magic"}
	if _, err := c.Create(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "acq_func") {
		t.Errorf("a bad setting: %v, want an error naming acq_func", err)
	}
	st, err := c.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != tuning.StudyRunning {
		t.Errorf("state %s, want Running", st.State)
	}
	out, err := k.Do(t.Context(), "GET", "/apis/kubeflow.org/v1beta1/namespaces/"+ns+"/experiments/katib-lab", nil)
	if err != nil {
		t.Fatalf("the Experiment is not on the cluster: %v", err)
	}
	if !strings.Contains(string(out), `"algorithmName":"bayesianoptimization"`) {
		t.Errorf("the Experiment: %s", out)
	}
	if err := c.Stop(t.Context(), "katib-lab"); err == nil || !strings.Contains(err.Error(), "Katib") {
		t.Errorf("Stop on Katib: %v, want a NotSupported error that says what to do", err)
	}
}
