package local

import (
	"context"
	"fmt"
	"time"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
)

// createRun creates the job's tracking run (see jobs.CreateRun).
func (b *Backend) createRun(ctx context.Context, j *jobs.Job) (string, error) {
	id, err := jobs.CreateRun(ctx, b.opts.Tracker, &j.Spec, jobs.RunInfo{Backend: BackendName, UID: j.UID, Start: j.CreationTime})
	if err != nil {
		return "", fmt.Errorf("local %w", err)
	}
	return id, nil
}

// logMetrics writes metrics to the run, in batches.
func (b *Backend) logMetrics(runID string, ms []storage.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), jobs.TrackerTimeout)
	defer cancel()
	if _, err := jobs.LogMetrics(ctx, b.opts.Tracker, runID, ms); err != nil {
		b.log.Warn("logging job metrics", "run", runID, "err", err)
	}
}

// endRun sets the run's terminal status.
func (b *Backend) endRun(runID string, status storage.RunStatus, end time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), jobs.TrackerTimeout)
	defer cancel()
	if _, err := b.opts.Tracker.UpdateRun(ctx, runID, storage.RunUpdate{Status: status, EndTime: end}); err != nil {
		b.log.Warn("ending job run", "run", runID, "err", err)
	}
}
