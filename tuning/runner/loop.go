package runner

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/tuning"
)

// start runs the loop of a study with a job template.
func (r *Runner) start(e *entry) {
	ctx, cancel := context.WithCancel(r.ctx)
	e.stop = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.loop(ctx, e)
	}()
}

func (r *Runner) loop(ctx context.Context, e *entry) {
	tick := time.NewTicker(r.opts.Poll)
	defer tick.Stop()
	for {
		e.mu.Lock()
		if ctx.Err() != nil || e.deleted || e.study.State != tuning.StudyRunning {
			e.mu.Unlock()
			return
		}
		r.step(ctx, e)
		done := e.study.State != tuning.StudyRunning
		e.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-e.kick:
		}
	}
}

// step looks at the study's jobs, applies early stopping, ends the study
// or starts new trials; e.mu is held.
func (r *Runner) step(ctx context.Context, e *entry) {
	rules := r.rules(ctx, e)
	changed := false
	for i := range e.study.Trials {
		t := &e.study.Trials[i]
		if t.State.Finished() || t.Job == "" {
			continue
		}
		if r.syncJob(ctx, e, t, rules) {
			changed = true
		}
	}
	before := len(e.study.Trials)
	if r.settle(ctx, e) {
		changed = true
	}
	if !changed {
		return
	}
	if err := r.changed(e, jobs.Modified); err != nil {
		r.opts.Logger.Error("runner: persist study", "study", e.study.Spec.Name, "err", err)
		return
	}
	// New trials are recorded before their jobs are submitted.
	refused := false
	for i := before; i < len(e.study.Trials); i++ {
		if t := &e.study.Trials[i]; t.Job != "" && r.submit(ctx, e, t) {
			refused = true
		}
	}
	if refused {
		if err := r.changed(e, jobs.Modified); err != nil {
			r.opts.Logger.Error("runner: persist study", "study", e.study.Spec.Name, "err", err)
		}
	}
}

// rules returns the early-stopping rules in force; e.mu is held.
func (r *Runner) rules(ctx context.Context, e *entry) []tuning.StopRule {
	if e.stopper == nil {
		return nil
	}
	rules, err := e.stopper.Rules(ctx, e.study.Observations())
	if err != nil {
		r.opts.Logger.Warn("runner: early-stopping rules", "study", e.study.Spec.Name, "err", err)
		return nil
	}
	return rules
}

// stops reports whether the trial's latest report breaks a rule.
func stops(o tuning.Objective, t *tuning.Trial, rules []tuning.StopRule) (tuning.StopRule, bool) {
	if len(t.Reports) == 0 {
		return tuning.StopRule{}, false
	}
	last := o.Loss(t.Reports[len(t.Reports)-1].Loss)
	for _, rule := range rules {
		if rule.Stops(len(t.Reports), last) {
			return rule, true
		}
	}
	return tuning.StopRule{}, false
}

// earlyStop marks t EarlyStopped by rule.
func earlyStop(o tuning.Objective, t *tuning.Trial, rule tuning.StopRule) {
	v := result(o, t)
	t.State, t.Value, t.Finished = tuning.EarlyStopped, v, time.Now().UTC()
	last := t.Reports[len(t.Reports)-1]
	t.Message = fmt.Sprintf("stopped early at report %d (step %d): %s = %g is worse than the median rule's %g",
		len(t.Reports), last.Step, o.Metric, last.Loss, o.Value(rule.Threshold))
}

// result is the trial's objective by the study's strategy.
func result(o tuning.Objective, t *tuning.Trial) *float64 {
	vals := make([]float64, len(t.Reports))
	for i, r := range t.Reports {
		vals[i] = r.Loss
	}
	v, ok := o.Result(vals)
	if !ok {
		return nil
	}
	return &v
}

// submit submits the job of a Created trial; e.mu is held.
func (r *Runner) submit(ctx context.Context, e *entry, t *tuning.Trial) bool {
	spec := e.study.Spec.TrialJob(t.Job, t.Assignments)
	spec.Labels[tuning.LabelTrial] = t.Name
	if e.study.RunID != "" {
		spec.Labels[jobs.LabelParentRun] = e.study.RunID
	}
	_, err := r.opts.Jobs.Submit(ctx, spec)
	switch {
	case err == nil, ferry.ErrorCode(err) == ferry.AlreadyExists:
		return false
	case ferry.ErrorCode(err) == ferry.Invalid:
		t.State, t.Message, t.Finished = tuning.Failed, "its job was refused: "+err.Error(), time.Now().UTC()
		return true
	default:
		r.opts.Logger.Warn("runner: submit trial job; will retry", "trial", t.Name, "err", err)
		return false
	}
}

// syncJob brings a job trial up to date with its job; e.mu is held.
func (r *Runner) syncJob(ctx context.Context, e *entry, t *tuning.Trial, rules []tuning.StopRule) bool {
	job, err := r.opts.Jobs.Get(ctx, t.Job)
	if ferry.IsNotFound(err) {
		if t.State == tuning.Created {
			return r.submit(ctx, e, t)
		}
		t.State, t.Finished = tuning.Failed, time.Now().UTC()
		t.Message = fmt.Sprintf("its job %s is gone (deleted outside the study?)", t.Job)
		return true
	}
	if err != nil {
		r.opts.Logger.Warn("runner: trial job", "trial", t.Name, "err", err)
		return false
	}
	changed := false
	if t.RunID == "" && job.RunID != "" {
		t.RunID = job.RunID
		r.logParams(ctx, e, t)
		changed = true
	}
	if t.State == tuning.Created {
		t.State, t.Started = tuning.Running, job.Status.StartTime
		if t.Started.IsZero() {
			t.Started = time.Now().UTC()
		}
		changed = true
	}
	if r.readReports(ctx, e, t) {
		changed = true
	}
	o := e.study.Spec.Objective
	if !job.Status.Finished() {
		if rule, stop := stops(o, t, rules); stop {
			earlyStop(o, t, rule)
			r.tagRun(ctx, t)
			if err := r.opts.Jobs.Cancel(ctx, t.Job); err != nil && !ferry.IsNotFound(err) {
				r.opts.Logger.Warn("runner: cancel early-stopped trial", "trial", t.Name, "err", err)
			}
			return true
		}
		return changed
	}
	end := job.Status.CompletionTime
	if end.IsZero() {
		end = time.Now().UTC()
	}
	if !r.runEnded(ctx, t, end) {
		// The backend still collects the job's last metrics (jobs/kube
		// reads the ended pod's log once more before it ends the run).
		return changed
	}
	if r.readReports(ctx, e, t) {
		changed = true
	}
	t.Finished = end
	defer r.tagRun(ctx, t)
	if c, ok := job.Status.Condition(jobs.Succeeded); ok && c.Status {
		if v := result(o, t); v != nil {
			t.State, t.Value = tuning.Succeeded, v
		} else {
			t.State = tuning.MetricsUnavailable
			t.Message = fmt.Sprintf("its job succeeded but never reported %s: print lines like %q (or JSON lines) from the training script", o.Metric, o.Metric+"=0.123")
		}
		return true
	}
	c, _ := job.Status.Condition(jobs.Failed)
	t.State = tuning.Failed
	t.Message = fmt.Sprintf("its job failed (%s: %s); its logs: ferry jobs logs %s", c.Reason, c.Message, t.Job)
	return true
}

// runEndGrace bounds how long a finished job's trial waits for the job's
// backend to end its run.
const runEndGrace = 30 * time.Second

// runEnded reports whether the run of a trial whose job ended at end is
// ended too, so that its metrics are all in: job backends log the last
// metrics of a job before they end its run, which may be after the job's
// status says it ended. A trial without a run, or whose run is still open
// runEndGrace after the job ended, is judged as it is.
func (r *Runner) runEnded(ctx context.Context, t *tuning.Trial, end time.Time) bool {
	if r.opts.Tracker == nil || t.RunID == "" || time.Since(end) > runEndGrace {
		return true
	}
	run, err := r.opts.Tracker.GetRun(ctx, t.RunID)
	if err != nil {
		r.opts.Logger.Warn("runner: trial run", "trial", t.Name, "err", err)
		return true
	}
	return run.Status.Terminal()
}

// readReports reads the trial's metrics from its run; e.mu is held.
func (r *Runner) readReports(ctx context.Context, e *entry, t *tuning.Trial) bool {
	if r.opts.Tracker == nil || t.RunID == "" {
		return false
	}
	o := e.study.Spec.Objective
	keys := append([]string{o.Metric}, o.AdditionalMetrics...)
	series, err := r.opts.Tracker.MetricHistory(ctx, []string{t.RunID}, keys)
	if err != nil {
		r.opts.Logger.Warn("runner: trial metrics", "trial", t.Name, "err", err)
		return false
	}
	changed := false
	for _, s := range series {
		if s.Key == o.Metric {
			if len(s.Points) != len(t.Reports) {
				t.Reports = t.Reports[:0]
				for _, p := range s.Points {
					t.Reports = append(t.Reports, tuning.Step{Step: p.Step, Loss: p.Value})
				}
				changed = true
			}
			continue
		}
		if len(s.Points) > 0 {
			if t.Metrics == nil {
				t.Metrics = map[string]float64{}
			}
			v := s.Points[len(s.Points)-1].Value
			if old, ok := t.Metrics[s.Key]; !ok || old != v {
				t.Metrics[s.Key] = v
				changed = true
			}
		}
	}
	return changed
}

// settle ends the study when it is done, or starts new trials up to
// ParallelTrials; e.mu is held. It reports whether the study changed.
func (r *Runner) settle(ctx context.Context, e *entry) bool {
	st := &e.study
	sp := st.Spec
	failed, running := 0, 0
	for _, t := range st.Trials {
		switch {
		case t.State == tuning.Failed:
			failed++
		case !t.State.Finished():
			running++
		}
	}
	end := func(state tuning.StudyState, reason, msg string) bool {
		r.killRunning(ctx, e, "the study ended: "+msg)
		st.State, st.Reason, st.Message, st.Finished = state, reason, msg, time.Now().UTC()
		r.endStudyRun(ctx, e)
		return true
	}
	if failed >= sp.MaxFailedTrials {
		return end(tuning.StudyFailed, "MaxFailedTrialsReached",
			fmt.Sprintf("%d trials failed (maxFailedTrials %d); see each trial's message and its job's logs", failed, sp.MaxFailedTrials))
	}
	if best, ok := st.Best(); ok && sp.Objective.Reached(*best.Value) {
		return end(tuning.StudySucceeded, "GoalReached",
			fmt.Sprintf("trial %s reached the goal: %s = %g", best.Name, sp.Objective.Metric, *best.Value))
	}
	if len(st.Trials) >= sp.MaxTrials && running == 0 {
		return end(tuning.StudySucceeded, "MaxTrialsReached", fmt.Sprintf("all %d trials ran", sp.MaxTrials))
	}
	n := min(sp.ParallelTrials-running, sp.MaxTrials-len(st.Trials))
	if n <= 0 {
		return false
	}
	sugs, err := e.suggester.Suggest(ctx, tuning.Request{Space: sp.Space, History: st.Observations(), N: n, Seed: sp.Seed})
	if err != nil {
		if ctx.Err() != nil {
			// The caller went away (or the runner closes): nothing is
			// decided; the next step asks again.
			return false
		}
		return end(tuning.StudyFailed, "AlgorithmFailed", fmt.Sprintf("algorithm %s: %v", sp.Algorithm.Name, err))
	}
	if len(sugs) == 0 && running == 0 {
		return end(tuning.StudySucceeded, "SearchSpaceExhausted",
			fmt.Sprintf("algorithm %s has no more points to try after %d trials", sp.Algorithm.Name, len(st.Trials)))
	}
	now := time.Now().UTC()
	for _, s := range sugs[:min(len(sugs), n)] {
		i := len(st.Trials) + 1
		name := tuning.TrialName(sp.Name, i)
		t := tuning.Trial{Name: name, Index: i, Point: s.Point, Assignments: sp.Space.Assignments(s.Point),
			Labels: s.Labels, State: tuning.Created, Created: now}
		if sp.Template.Job != nil {
			t.Job = name
		}
		st.Trials = append(st.Trials, t)
	}
	return len(sugs) > 0
}

// Ask starts the next trial of a study without a job template.
func (r *Runner) Ask(ctx context.Context, name string) (tuning.Trial, bool, error) {
	e, err := r.get(name)
	if err != nil {
		return tuning.Trial{}, false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.study.Spec.Template.Job != nil {
		return tuning.Trial{}, false, ferry.Errorf(ferry.NotSupported, "tuning: study %q runs its trials as jobs; ask for trials of a study without a job template", name)
	}
	if e.study.State != tuning.StudyRunning {
		return tuning.Trial{}, false, nil
	}
	changed := r.settle(ctx, e)
	for i := range e.study.Trials {
		t := &e.study.Trials[i]
		if t.State != tuning.Created {
			continue
		}
		t.State, t.Started = tuning.Running, time.Now().UTC()
		if r.opts.Tracker != nil {
			id, err := r.trialRun(ctx, e, t)
			if err != nil {
				t.State, t.Started = tuning.Created, time.Time{}
				return tuning.Trial{}, false, err
			}
			t.RunID = id
		}
		if err := r.changed(e, jobs.Modified); err != nil {
			return tuning.Trial{}, false, err
		}
		return *t, true, nil
	}
	if changed {
		if err := r.changed(e, jobs.Modified); err != nil {
			return tuning.Trial{}, false, err
		}
	}
	return tuning.Trial{}, false, nil
}

// Tell records a report of an asked trial.
func (r *Runner) Tell(ctx context.Context, name, trial string, rep tuning.Report) (tuning.Decision, error) {
	e, err := r.get(name)
	if err != nil {
		return tuning.Decision{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var t *tuning.Trial
	for i := range e.study.Trials {
		if e.study.Trials[i].Name == trial {
			t = &e.study.Trials[i]
		}
	}
	if t == nil {
		return tuning.Decision{}, ferry.Errorf(ferry.NotFound, "tuning: study %q has no trial %q", name, trial)
	}
	if e.study.Spec.Template.Job != nil {
		return tuning.Decision{}, ferry.Errorf(ferry.NotSupported, "tuning: trial %q runs as a job; its job reports its metrics", trial)
	}
	if t.State.Finished() {
		// Stopped meanwhile (the study stopped or ended): the caller stops.
		return tuning.Decision{Stop: true, Trial: *t}, nil
	}
	if t.State != tuning.Running {
		return tuning.Decision{}, ferry.Errorf(ferry.Invalid, "tuning: trial %q is %s: ask for it before reporting", trial, t.State)
	}
	o := e.study.Spec.Objective
	var ms []storage.Metric
	now := time.Now()
	for k, v := range rep.Metrics {
		ms = append(ms, storage.Metric{Key: k, Value: v, Step: rep.Step, Timestamp: now.UnixMilli()})
		if k == o.Metric {
			t.Reports = append(t.Reports, tuning.Step{Step: rep.Step, Loss: v})
		} else {
			if t.Metrics == nil {
				t.Metrics = map[string]float64{}
			}
			t.Metrics[k] = v
		}
	}
	if r.opts.Tracker != nil && t.RunID != "" && len(ms) > 0 {
		if _, err := jobs.LogMetrics(ctx, r.opts.Tracker, t.RunID, ms); err != nil {
			return tuning.Decision{}, fmt.Errorf("tuning: trial %s: log metrics: %w", trial, err)
		}
	}
	stop := false
	switch {
	case rep.Failed:
		t.State, t.Message, t.Finished = tuning.Failed, rep.Message, time.Now().UTC()
		r.endRun(ctx, t, storage.RunFailed)
	case rep.Final:
		t.Finished = time.Now().UTC()
		if v := result(o, t); v != nil {
			t.State, t.Value = tuning.Succeeded, v
		} else {
			t.State = tuning.MetricsUnavailable
			t.Message = fmt.Sprintf("the trial ended without reporting %s", o.Metric)
		}
		r.endRun(ctx, t, storage.RunFinished)
	default:
		if rule, ok := stops(o, t, r.rules(ctx, e)); ok {
			earlyStop(o, t, rule)
			r.endRun(ctx, t, storage.RunFinished)
			stop = true
		}
	}
	r.settle(ctx, e)
	if err := r.changed(e, jobs.Modified); err != nil {
		return tuning.Decision{}, err
	}
	return tuning.Decision{Stop: stop, Trial: *t}, nil
}

// studyRun creates the study's tracking run.
func (r *Runner) studyRun(ctx context.Context, st *tuning.Study) (string, error) {
	sp := st.Spec
	expID, err := storage.EnsureExperiment(ctx, r.opts.Tracker, sp.Experiment)
	if err != nil {
		return "", fmt.Errorf("tuning: tracking experiment of study %s: %w", sp.Name, err)
	}
	tags := map[string]string{tuning.LabelStudy: sp.Name}
	for k, v := range sp.Labels {
		tags[k] = v
	}
	run, err := r.opts.Tracker.CreateRun(ctx, storage.RunSpec{ExperimentID: expID, Name: sp.Name,
		SourceNotebook: sp.Labels["ferry.notebook"], Tags: tags, StartTime: st.Created})
	if err != nil {
		return "", fmt.Errorf("tuning: tracking run of study %s: %w", sp.Name, err)
	}
	params := []storage.Param{
		{Key: "study.algorithm", Value: sp.Algorithm.Name},
		{Key: "study.objective", Value: string(sp.Objective.Direction) + " " + sp.Objective.Metric},
		{Key: "study.maxTrials", Value: strconv.Itoa(sp.MaxTrials)},
		{Key: "study.parallelTrials", Value: strconv.Itoa(sp.ParallelTrials)},
	}
	if sp.Early != nil {
		params = append(params, storage.Param{Key: "study.earlyStopping", Value: sp.Early.Name})
	}
	if err := r.opts.Tracker.LogBatch(ctx, run.ID, nil, params, nil); err != nil {
		_ = r.opts.Tracker.DeleteRun(context.WithoutCancel(ctx), run.ID)
		return "", fmt.Errorf("tuning: tracking run of study %s: %w", sp.Name, err)
	}
	return run.ID, nil
}

// trialRun creates an asked trial's run, a child of the study's.
func (r *Runner) trialRun(ctx context.Context, e *entry, t *tuning.Trial) (string, error) {
	sp := e.study.Spec
	expID, err := storage.EnsureExperiment(ctx, r.opts.Tracker, sp.Experiment)
	if err != nil {
		return "", fmt.Errorf("tuning: tracking experiment of study %s: %w", sp.Name, err)
	}
	run, err := r.opts.Tracker.CreateRun(ctx, storage.RunSpec{ExperimentID: expID, Name: t.Name, ParentRunID: e.study.RunID,
		Tags: map[string]string{tuning.LabelStudy: sp.Name, tuning.LabelTrial: t.Name}})
	if err != nil {
		return "", fmt.Errorf("tuning: tracking run of trial %s: %w", t.Name, err)
	}
	t.RunID = run.ID
	r.logParams(ctx, e, t)
	return run.ID, nil
}

// logParams logs the trial's assignments as its run's parameters.
func (r *Runner) logParams(ctx context.Context, e *entry, t *tuning.Trial) {
	if r.opts.Tracker == nil || t.RunID == "" {
		return
	}
	ps := make([]storage.Param, 0, len(t.Assignments))
	for _, a := range t.Assignments {
		ps = append(ps, storage.Param{Key: a.Name, Value: a.Value})
	}
	tags := []storage.Tag{{Key: tuning.LabelStudy, Value: e.study.Spec.Name}, {Key: tuning.LabelTrial, Value: t.Name}}
	if err := r.opts.Tracker.LogBatch(ctx, t.RunID, nil, ps, tags); err != nil {
		r.opts.Logger.Warn("runner: trial parameters", "trial", t.Name, "err", err)
	}
}

// endRun ends an asked trial's run (a job's run is its backend's).
func (r *Runner) endRun(ctx context.Context, t *tuning.Trial, status storage.RunStatus) {
	if r.opts.Tracker == nil || t.RunID == "" || t.Job != "" {
		return
	}
	if _, err := r.opts.Tracker.UpdateRun(ctx, t.RunID, storage.RunUpdate{Status: status}); err != nil {
		r.opts.Logger.Warn("runner: end trial run", "trial", t.Name, "err", err)
	}
	r.tagRun(ctx, t)
}

// tagRun tags a trial's run with the trial's final state (a job's run
// says only how its job ended: an early-stopped trial's job was killed).
func (r *Runner) tagRun(ctx context.Context, t *tuning.Trial) {
	if r.opts.Tracker == nil || t.RunID == "" || !t.State.Finished() {
		return
	}
	if err := r.opts.Tracker.SetTag(ctx, t.RunID, storage.Tag{Key: TagTrialState, Value: string(t.State)}); err != nil {
		r.opts.Logger.Warn("runner: tag trial run", "trial", t.Name, "err", err)
	}
}

// TagTrialState is the tag of a trial's run with its final state.
const TagTrialState = "ferry.trial.state"

// endStudyRun records the best trial on the study's run and ends it.
func (r *Runner) endStudyRun(ctx context.Context, e *entry) {
	st := &e.study
	if r.opts.Tracker == nil || st.RunID == "" {
		return
	}
	if best, ok := st.Best(); ok {
		m := storage.Metric{Key: "best." + st.Spec.Objective.Metric, Value: *best.Value, Timestamp: time.Now().UnixMilli()}
		_ = r.opts.Tracker.LogMetric(ctx, st.RunID, m)
		_ = r.opts.Tracker.SetTag(ctx, st.RunID, storage.Tag{Key: "ferry.study.best", Value: best.Name})
	}
	status := storage.RunFinished
	if st.State == tuning.StudyFailed {
		status = storage.RunFailed
	}
	if _, err := r.opts.Tracker.UpdateRun(ctx, st.RunID, storage.RunUpdate{Status: status}); err != nil {
		r.opts.Logger.Warn("runner: end study run", "study", st.Spec.Name, "err", err)
	}
}
