package earlystop_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/earlystop"
)

func curve(losses ...float64) []tuning.Step {
	var c []tuning.Step
	for i, l := range losses {
		c = append(c, tuning.Step{Step: int64(i + 1), Loss: l})
	}
	return c
}

func TestRules(t *testing.T) {
	done := func(loss float64, c ...float64) tuning.Observation {
		return tuning.Observation{State: tuning.Succeeded, Loss: loss, Curve: curve(c...)}
	}
	a := done(1, 8, 6, 4, 2, 1)          // first 4: 5
	b := done(0.5, 3, 2, 1, 1, 0.5, 0.5) // 1.75
	c := done(9, 10, 10, 10)             // 10 (only 3 reports)
	d := done(4)                         // no curve: 4
	run := tuning.Observation{State: tuning.Running, Curve: curve(100, 100)}
	failed := tuning.Observation{State: tuning.Failed, Loss: -100, Curve: curve(-100)}
	stopped := tuning.Observation{State: tuning.EarlyStopped, Loss: 50, Curve: curve(60, 50)}
	tests := []struct {
		name    string
		s       tuning.Settings
		history []tuning.Observation
		want    []tuning.StopRule
	}{
		{"too few", nil, []tuning.Observation{a, b, run, failed, stopped}, nil},
		{"three", nil, []tuning.Observation{a, b, run, c, failed, stopped}, []tuning.StopRule{{Threshold: 5, StartStep: 4}}},
		{"four, even median", nil, []tuning.Observation{a, b, c, d}, []tuning.StopRule{{Threshold: 4.5, StartStep: 4}}},
		{"start_step 2", tuning.Settings{"start_step": "2", "min_trials_required": "2"}, []tuning.Observation{a, b}, []tuning.StopRule{{Threshold: (7 + 2.5) / 2, StartStep: 2}}},
		{"one required", tuning.Settings{"min_trials_required": "1"}, []tuning.Observation{d}, []tuning.StopRule{{Threshold: 4, StartStep: 4}}},
	}
	for _, tt := range tests {
		m, err := earlystop.NewMedianStop(tt.s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Rules(context.Background(), tt.history)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Rules = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		s    tuning.Settings
		want string
	}{
		{tuning.Settings{"min_trials_required": "0"}, "min_trials_required"},
		{tuning.Settings{"start_step": "0"}, "start_step"},
		{tuning.Settings{"start_step": "x"}, "whole number"},
		{tuning.Settings{"min_trials": "3"}, `unknown setting "min_trials"`},
	}
	for _, tt := range tests {
		if _, err := earlystop.NewMedianStop(tt.s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewMedianStop(%v) = %v, want an error with %q", tt.s, err, tt.want)
		}
	}
}
