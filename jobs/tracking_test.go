package jobs_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
)

// batchTracker records the sizes of LogBatch calls and fails the call
// numbered failAt (1-based; 0: none).
type batchTracker struct {
	storage.Tracker
	sizes  []int
	failAt int
}

var errLogBatch = errors.New("log batch failed")

func (b *batchTracker) LogBatch(_ context.Context, _ string, ms []storage.Metric, _ []storage.Param, _ []storage.Tag) error {
	b.sizes = append(b.sizes, len(ms))
	if len(b.sizes) == b.failAt {
		return errLogBatch
	}
	return nil
}

func TestLogMetricsBatches(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, failAt int
		wantSizes []int
		wantN     int
		wantErr   error
	}{
		{"none", 0, 0, nil, 0, nil},
		{"one batch", 1000, 0, []int{1000}, 1000, nil},
		{"three batches", 2500, 0, []int{1000, 1000, 500}, 2500, nil},
		{"stops at the first error", 2500, 2, []int{1000, 1000}, 1000, errLogBatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &batchTracker{failAt: tc.failAt}
			got, err := jobs.LogMetrics(t.Context(), tr, "run-1", make([]storage.Metric, tc.n))
			if got != tc.wantN || !errors.Is(err, tc.wantErr) {
				t.Errorf("LogMetrics = %d, %v; want %d, %v", got, err, tc.wantN, tc.wantErr)
			}
			if !slices.Equal(tr.sizes, tc.wantSizes) {
				t.Errorf("batches %v, want %v", tr.sizes, tc.wantSizes)
			}
		})
	}
}
