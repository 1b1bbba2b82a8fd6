package jobsclient

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsapi"
	"github.com/ferryml/ferry/storage/tracking"
)

// Summary is the one-row table of a finished job: status, duration,
// replicas, tracking run and the final value of each metric (from the
// tracking run when ts is set, else from parsed).
func Summary(ctx context.Context, j jobs.Job, ts *tracking.Session, parsed map[string]float64) display.Table {
	st := &j.Status
	cols := []string{"job", "kind", "status", "duration", "replicas", "run"}
	row := []any{j.Name(), string(j.Spec.Kind), string(st.Phase()), duration(&j), replicaSummary(st), j.RunID}
	final := maps.Clone(parsed)
	if ts != nil && j.RunID != "" {
		if run, err := ts.Tracker.GetRun(ctx, j.RunID); err == nil {
			final = map[string]float64{}
			for k, m := range run.Metrics {
				final[k] = m.Value
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(final)) {
		cols = append(cols, k)
		row = append(row, final[k])
	}
	t := display.Table{Columns: cols, Rows: [][]any{row}}
	if c, ok := st.Condition(jobs.Failed); ok && c.Status {
		t.Caption = c.Reason + ": " + c.Message
	}
	return t
}

func duration(j *jobs.Job) string {
	start := j.Status.StartTime
	if start.IsZero() {
		start = j.CreationTime
	}
	end := j.Status.CompletionTime
	if end.IsZero() {
		end = time.Now()
	}
	if start.IsZero() {
		return ""
	}
	d := end.Sub(start)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// replicaSummary says how many replicas are in each phase, e.g.
// "2 succeeded" or "1 running, 1 pending".
func replicaSummary(st *jobs.Status) string {
	counts := map[jobs.ReplicaPhase]int{}
	for _, r := range st.Replicas {
		counts[r.Phase]++
	}
	var parts []string
	for _, p := range []jobs.ReplicaPhase{jobs.ReplicaRunning, jobs.ReplicaPending, jobs.ReplicaSucceeded, jobs.ReplicaFailed} {
		if counts[p] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[p], strings.ToLower(string(p))))
		}
	}
	return strings.Join(parts, ", ")
}

// JobsTable lists jobs, one row each.
func JobsTable(js []jobs.Job) display.Table {
	t := display.Table{Columns: []string{"name", "kind", "status", "replicas", "created", "duration", "run"}}
	for i := range js {
		j := &js[i]
		phase := string(j.Status.Phase())
		if c, ok := j.Status.Condition(jobs.Failed); ok && c.Status && c.Reason != jobs.ReasonFailed {
			phase += " (" + c.Reason + ")"
		}
		t.Rows = append(t.Rows, []any{j.Name(), string(j.Spec.Kind), phase, replicaSummary(&j.Status), j.CreationTime, duration(j), j.RunID})
	}
	return t
}

// ListFilter reads the filter flags of %jobs and `ferry jobs list`.
func ListFilter(kind, status string, labels []string) (jobs.ListOptions, []jobs.ConditionType, error) {
	var lo jobs.ListOptions
	if kind != "" {
		lo.Kind = jobs.Kind(strings.ToLower(kind))
		if jobs.Roles(lo.Kind) == nil {
			return lo, nil, fmt.Errorf("--kind %s: not a training kind: use one of %v", kind, jobs.Kinds)
		}
	}
	var statuses []jobs.ConditionType
	if status != "" {
		for p := range strings.SplitSeq(status, ",") {
			c, ok := jobsapi.ParseStatus(p)
			if !ok {
				return lo, nil, fmt.Errorf("--status %s: use Created, Running, Restarting, Succeeded or Failed", p)
			}
			statuses = append(statuses, c)
		}
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return lo, nil, fmt.Errorf("--label %s: give KEY=VALUE", l)
		}
		if lo.Labels == nil {
			lo.Labels = map[string]string{}
		}
		lo.Labels[k] = v
	}
	return lo, statuses, nil
}

// PhaseText is the job's phase with the reason and message of its
// condition, e.g. "Failed (JobCancelled) ...".
func PhaseText(j *jobs.Job) string {
	phase := j.Status.Phase()
	for _, c := range j.Status.Conditions {
		if c.Type == phase {
			return fmt.Sprintf("%s (%s) %s", phase, c.Reason, c.Message)
		}
	}
	return string(phase)
}

// Describe is a table of one job's replicas, captioned with its status.
func Describe(j *jobs.Job) display.Table {
	t := display.Table{Columns: []string{"replica", "phase", "restarts", "exit code", "started", "ended", "process", "message"}}
	for _, r := range j.Status.Replicas {
		code := ""
		if r.ExitCode != nil {
			code = strconv.Itoa(*r.ExitCode)
		}
		t.Rows = append(t.Rows, []any{r.ID(), string(r.Phase), r.Restarts, code, r.StartTime, r.EndTime, r.Name, r.Message})
	}
	cmd := strings.Join(j.Spec.Command, " ")
	t.Caption = fmt.Sprintf("%s job %s on %s: %s; duration %s; run %s; command %q", j.Spec.Kind, j.Name(), j.Backend, PhaseText(j), duration(j), j.RunID, cmd)
	return t
}
