package local

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
)

// Tags of a job's tracking run.
const (
	TagJobName    = "ferry.job.name"
	TagJobUID     = "ferry.job.uid"
	TagJobKind    = "ferry.job.kind"
	TagJobBackend = "ferry.job.backend"
)

// trackerTimeout bounds each call to the tracking store from a supervisor.
const trackerTimeout = 30 * time.Second

// createRun creates the job's tracking run in its experiment (created when
// missing), with the job's labels and identity as tags and its shape as
// parameters.
func (b *Backend) createRun(ctx context.Context, j *jobs.Job) (string, error) {
	tr := b.opts.Tracker
	spec := &j.Spec
	expID := storage.DefaultExperimentID
	if spec.Experiment != "" {
		exp, err := tr.GetExperimentByName(ctx, spec.Experiment)
		if storage.IsNotFound(err) {
			exp, err = tr.CreateExperiment(ctx, spec.Experiment, "", nil)
			if storage.ErrorCode(err) == storage.AlreadyExists {
				exp, err = tr.GetExperimentByName(ctx, spec.Experiment)
			}
		}
		if err != nil {
			return "", fmt.Errorf("local jobs: tracking experiment %q of job %s: %w", spec.Experiment, spec.Name, err)
		}
		expID = exp.ID
	}
	tags := maps.Clone(spec.Labels)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[TagJobName] = spec.Name
	tags[TagJobUID] = j.UID
	tags[TagJobKind] = string(spec.Kind)
	tags[TagJobBackend] = BackendName
	run, err := tr.CreateRun(ctx, storage.RunSpec{
		ExperimentID:   expID,
		Name:           spec.Name,
		SourceNotebook: spec.Labels["ferry.notebook"],
		Tags:           tags,
		StartTime:      j.CreationTime,
		Status:         storage.RunRunning,
	})
	if err != nil {
		return "", fmt.Errorf("local jobs: tracking run of job %s: %w", spec.Name, err)
	}
	params := []storage.Param{{Key: "job.kind", Value: string(spec.Kind)}}
	for _, t := range spec.ReplicaTypes() {
		params = append(params, storage.Param{Key: "job.replicas." + string(t), Value: strconv.Itoa(spec.ReplicaCount(t))})
	}
	if cmd := spec.CommandFor(spec.ReplicaTypes()[0]); len(cmd) > 0 {
		params = append(params, storage.Param{Key: "job.command", Value: truncate(strings.Join(cmd, " "), 500)})
	}
	slices.SortFunc(params, func(a, c storage.Param) int { return strings.Compare(a.Key, c.Key) })
	if err := tr.LogBatch(ctx, run.ID, nil, params, nil); err != nil {
		return "", fmt.Errorf("local jobs: parameters of job %s: %w", spec.Name, err)
	}
	return run.ID, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// logMetrics writes metrics to the run, in batches.
func (b *Backend) logMetrics(runID string, ms []storage.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), trackerTimeout)
	defer cancel()
	for len(ms) > 0 {
		n := min(len(ms), 1000)
		if err := b.opts.Tracker.LogBatch(ctx, runID, ms[:n], nil, nil); err != nil {
			b.log.Warn("logging job metrics", "run", runID, "err", err)
			return
		}
		ms = ms[n:]
	}
}

// endRun sets the run's terminal status.
func (b *Backend) endRun(runID string, status storage.RunStatus, end time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), trackerTimeout)
	defer cancel()
	if _, err := b.opts.Tracker.UpdateRun(ctx, runID, storage.RunUpdate{Status: status, EndTime: end}); err != nil {
		b.log.Warn("ending job run", "run", runID, "err", err)
	}
}
