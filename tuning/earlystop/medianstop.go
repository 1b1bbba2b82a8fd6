package earlystop

import (
	"context"
	"math"
	"slices"

	"github.com/ferryml/ferry/tuning"
)

// MedianStop is Katib's median stopping rule ("medianstop").
type MedianStop struct {
	minTrials int
	startStep int
}

var _ tuning.EarlyStopper = (*MedianStop)(nil)

// NewMedianStop returns the median stopping rule. Its settings, Katib's:
//
//   - min_trials_required: succeeded trials needed before any trial is
//     stopped (default 3, at least 1);
//   - start_step: the report from which the rule applies, counting from 1
//     (default 4, at least 1); it is also how many of a succeeded trial's
//     first reports its average takes.
func NewMedianStop(s tuning.Settings) (*MedianStop, error) {
	r := tuning.NewReader("medianstop", s)
	m := &MedianStop{
		minTrials: r.Int("min_trials_required", 3, 1, math.MaxInt32),
		startStep: r.Int("start_step", 4, 1, math.MaxInt32),
	}
	if err := r.Finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// Rules returns no rule while fewer than min_trials_required trials have
// succeeded; then one: stop from report start_step on at a loss above the
// median of the succeeded trials' averages. A succeeded trial's average is
// that of its first start_step reported losses (Katib's), or its final loss
// when it reported none.
//
// Katib's service computes the arithmetic mean of those averages despite
// its name; Rules takes their median, as the median stopping rule does.
func (m *MedianStop) Rules(ctx context.Context, history []tuning.Observation) ([]tuning.StopRule, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var avgs []float64
	for _, o := range history {
		if o.State != tuning.Succeeded {
			continue
		}
		avg := o.Loss
		if len(o.Curve) > 0 {
			first := o.Curve[:min(len(o.Curve), m.startStep)]
			sum := 0.0
			for _, s := range first {
				sum += s.Loss
			}
			avg = sum / float64(len(first))
		}
		if !math.IsNaN(avg) {
			avgs = append(avgs, avg)
		}
	}
	if len(avgs) < m.minTrials || len(avgs) == 0 {
		return nil, nil
	}
	return []tuning.StopRule{{Threshold: median(avgs), StartStep: m.startStep}}, nil
}

func median(x []float64) float64 {
	y := slices.Clone(x)
	slices.Sort(y)
	n := len(y)
	if n%2 == 1 {
		return y[n/2]
	}
	return (y[n/2-1] + y[n/2]) / 2
}
