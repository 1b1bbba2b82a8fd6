package jobs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry/storage"
)

// Tags of a job's tracking run.
const (
	TagJobName    = "ferry.job.name"
	TagJobUID     = "ferry.job.uid"
	TagJobKind    = "ferry.job.kind"
	TagJobBackend = "ferry.job.backend"
)

// LabelParentRun, a label of a job's spec, makes the job's tracking run a
// child of the run it names (in the job's experiment): a tuning trial's run
// under its study's.
const LabelParentRun = "ferry.parent-run"

// TrackerTimeout bounds each call a backend makes to the tracking store on
// a job's behalf.
const TrackerTimeout = 30 * time.Second

// MetricBatch is the most metrics LogMetrics sends in one LogBatch.
const MetricBatch = 1000

// LogMetrics logs ms to the run in batches of at most MetricBatch, each
// call bounded by TrackerTimeout within ctx. It stops at the first error
// and returns how many metrics were logged before it.
func LogMetrics(ctx context.Context, tr storage.Tracker, runID string, ms []storage.Metric) (int, error) {
	logged := 0
	for len(ms) > 0 {
		n := min(len(ms), MetricBatch)
		bctx, cancel := context.WithTimeout(ctx, TrackerTimeout)
		err := tr.LogBatch(bctx, runID, ms[:n], nil, nil)
		cancel()
		if err != nil {
			return logged, err
		}
		logged += n
		ms = ms[n:]
	}
	return logged, nil
}

// RunInfo is what a backend knows of a job when it creates its run.
type RunInfo struct {
	Backend string    // Job.Backend, e.g. "local"
	UID     string    // "" when not known yet (tag it later)
	Start   time.Time // zero: now
	// Params are parameters besides the job's kind, replicas and command.
	Params []storage.Param
}

// CreateRun creates the tracking run of the job of spec in its experiment
// (created when missing; Default without one), with the job's labels and
// identity as tags and its shape as parameters (job.kind,
// job.replicas.ROLE, job.command). It returns the run's id; on an error
// no run is left behind.
func CreateRun(ctx context.Context, tr storage.Tracker, spec *Spec, info RunInfo) (string, error) {
	expID, err := storage.EnsureExperiment(ctx, tr, spec.Experiment)
	if err != nil {
		return "", fmt.Errorf("jobs: tracking experiment %q of job %s: %w", spec.Experiment, spec.Name, err)
	}
	tags := maps.Clone(spec.Labels)
	if tags == nil {
		tags = map[string]string{}
	}
	delete(tags, LabelParentRun)
	tags[TagJobName] = spec.Name
	tags[TagJobKind] = string(spec.Kind)
	tags[TagJobBackend] = info.Backend
	if info.UID != "" {
		tags[TagJobUID] = info.UID
	}
	start := info.Start
	if start.IsZero() {
		start = time.Now()
	}
	run, err := tr.CreateRun(ctx, storage.RunSpec{
		ExperimentID:   expID,
		Name:           spec.Name,
		ParentRunID:    spec.Labels[LabelParentRun],
		SourceNotebook: spec.Labels["ferry.notebook"],
		Tags:           tags,
		StartTime:      start,
		Status:         storage.RunRunning,
	})
	if err != nil {
		return "", fmt.Errorf("jobs: tracking run of job %s: %w", spec.Name, err)
	}
	params := append([]storage.Param{{Key: "job.kind", Value: string(spec.Kind)}}, info.Params...)
	for _, t := range spec.ReplicaTypes() {
		params = append(params, storage.Param{Key: "job.replicas." + string(t), Value: strconv.Itoa(spec.ReplicaCount(t))})
	}
	if cmd := spec.CommandFor(spec.ReplicaTypes()[0]); len(cmd) > 0 {
		params = append(params, storage.Param{Key: "job.command", Value: truncate(strings.Join(cmd, " "), 500)})
	}
	slices.SortFunc(params, func(a, c storage.Param) int { return strings.Compare(a.Key, c.Key) })
	if err := tr.LogBatch(ctx, run.ID, nil, params, nil); err != nil {
		_ = tr.DeleteRun(context.WithoutCancel(ctx), run.ID)
		return "", fmt.Errorf("jobs: parameters of job %s: %w", spec.Name, err)
	}
	return run.ID, nil
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
