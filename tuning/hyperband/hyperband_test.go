package hyperband_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/hyperband"
)

var space = tuning.Space{tuning.Float("lr", 1e-4, 1).Log(), tuning.IntRange("epochs", 1, 27), tuning.Choice("opt", "sgd", "adam")}

func TestRungs(t *testing.T) {
	h, err := hyperband.New(space, tuning.Settings{"resource_name": "epochs", "eta": "3", "r_l": "27"})
	if err != nil {
		t.Fatal(err)
	}
	// Katib's brackets for eta 3, r_l 27 (Li et al.'s, but rung sizes
	// rounded up).
	want := [][]string{
		{"27@1", "9@3", "3@9", "1@27"},
		{"12@3", "4@9", "2@27"},
		{"6@9", "2@27"},
		{"4@27"},
	}
	if h.Brackets() != len(want) {
		t.Fatalf("Brackets() = %d, want %d", h.Brackets(), len(want))
	}
	for k, w := range want {
		s := h.Brackets() - 1 - k
		var got []string
		for i := 0; i <= s; i++ {
			n, r := h.Rung(s, i)
			got = append(got, fmt.Sprintf("%d@%v", n, r))
		}
		if !slices.Equal(got, w) {
			t.Errorf("bracket %d: rungs %v, want %v", s, got, w)
		}
	}
}

// TestStudy runs a whole study, 10 trials at a time, with a loss that
// favours small lr, and checks lineage, promotions and the end.
func TestStudy(t *testing.T) {
	h, err := hyperband.New(space, tuning.Settings{"resource_name": "epochs"})
	if err != nil {
		t.Fatal(err)
	}
	loss := func(p tuning.Point) float64 { return p[0] + 1/p[1] }
	var hist []tuning.Observation
	ctx := context.Background()
	waits := 0
	for i := 0; i < 1000 && !h.Done(tuning.Request{Space: space, History: hist}); i++ {
		got, err := h.Suggest(ctx, tuning.Request{Space: space, History: hist, N: 10, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			waits++
		}
		for _, s := range got {
			if _, err := space.ParseAssignments(space.Assignments(s.Point)); err != nil {
				t.Fatal(err)
			}
			hist = append(hist, tuning.Observation{Point: s.Point, Labels: s.Labels, State: tuning.Running})
		}
		// Finish the oldest running trials, 7 at a time: rungs wait.
		done := 0
		for j := range hist {
			if hist[j].State == tuning.Running && done < 7 {
				hist[j].State, hist[j].Loss = tuning.Succeeded, loss(hist[j].Point)
				done++
			}
		}
	}
	if !h.Done(tuning.Request{Space: space, History: hist}) {
		t.Fatal("the study never ended")
	}
	if got, want := len(hist), 27+9+3+1+12+4+2+6+2+4; got != want {
		t.Errorf("%d trials, want %d", got, want)
	}
	if waits == 0 {
		t.Error("Suggest never waited for a rung")
	}
	// Every promotion continues one of the best of the previous rung, with
	// the same configuration and a larger resource.
	for _, o := range hist {
		ps, ok := o.Labels[hyperband.LabelParent]
		if !ok {
			continue
		}
		p, _ := strconv.Atoi(ps)
		parent := hist[p]
		if parent.Labels[hyperband.LabelBracket] != o.Labels[hyperband.LabelBracket] {
			t.Errorf("trial promoted across brackets: %v from %v", o.Labels, parent.Labels)
		}
		if parent.Point[0] != o.Point[0] || parent.Point[2] != o.Point[2] || parent.Point[1] >= o.Point[1] {
			t.Errorf("promotion %v of %v", o.Point, parent.Point)
		}
		var rung []float64
		for _, q := range hist {
			if q.Labels[hyperband.LabelBracket] == parent.Labels[hyperband.LabelBracket] && q.Labels[hyperband.LabelRung] == parent.Labels[hyperband.LabelRung] {
				rung = append(rung, q.Loss)
			}
		}
		slices.Sort(rung)
		var promoted int
		for _, q := range hist {
			if q.Labels[hyperband.LabelBracket] == o.Labels[hyperband.LabelBracket] && q.Labels[hyperband.LabelRung] == o.Labels[hyperband.LabelRung] {
				promoted++
			}
		}
		if parent.Loss > rung[promoted-1] {
			t.Errorf("promoted a trial with loss %v; the rung's %d best are %v", parent.Loss, promoted, rung[:promoted])
		}
	}
	got, _ := h.Suggest(ctx, tuning.Request{Space: space, History: hist, N: 10})
	if len(got) != 0 {
		t.Errorf("%d suggestions after the end", len(got))
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		s    tuning.Settings
		want string
	}{
		{tuning.Settings{}, "resource_name is required"},
		{tuning.Settings{"resource_name": "lr2"}, "want one of lr, epochs"},
		{tuning.Settings{"resource_name": "epochs", "eta": "1"}, "eta"},
		{tuning.Settings{"resource_name": "epochs", "r_l": "81"}, "no larger than epochs's max 27"},
		{tuning.Settings{"resource_name": "epochs", "r_l": "20"}, ""},
		{tuning.Settings{"resource_name": "lr"}, ""},
		{tuning.Settings{"resource_name": "epochs", "s_max": "3"}, `unknown setting "s_max"`},
	}
	sp := tuning.Space{tuning.IntRange("epochs", 2, 27)}
	if _, err := hyperband.New(sp, tuning.Settings{"resource_name": "epochs"}); err == nil || !strings.Contains(err.Error(), "resource 1 (bracket 3, rung 0) is not a value of epochs") {
		t.Errorf("New with min 2 = %v, want an error naming resource 1", err)
	}
	for _, tt := range tests {
		_, err := hyperband.New(space, tt.s)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("New(%v): %v", tt.s, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("New(%v) = %v, want an error with %q", tt.s, err, tt.want)
		}
	}
}
