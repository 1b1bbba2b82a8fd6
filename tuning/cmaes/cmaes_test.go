package cmaes_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/cmaes"
)

// run minimises f with c, n evaluations, batch trials at a time.
func run(t *testing.T, c *cmaes.CMAES, space tuning.Space, f func(tuning.Point) float64, n, batch int, seed int64) []tuning.Observation {
	t.Helper()
	var hist []tuning.Observation
	for len(hist) < n {
		ss, err := c.Suggest(context.Background(), tuning.Request{Space: space, History: hist, N: batch, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != batch {
			t.Fatalf("got %d suggestions, want %d", len(ss), batch)
		}
		for _, s := range ss {
			hist = append(hist, tuning.Observation{Point: s.Point, Labels: s.Labels, State: tuning.Succeeded, Loss: f(s.Point)})
		}
	}
	return hist
}

func best(hist []tuning.Observation) float64 {
	b := math.Inf(1)
	for _, o := range hist {
		b = math.Min(b, o.Loss)
	}
	return b
}

func TestSphere(t *testing.T) {
	space := tuning.Space{tuning.Float("a", -5, 5), tuning.Float("b", -5, 5), tuning.Float("c", -5, 5), tuning.Float("d", -5, 5)}
	sphere := func(p tuning.Point) float64 {
		s := 0.0
		for i, x := range p {
			s += (x - float64(i)/2) * (x - float64(i)/2)
		}
		return s
	}
	for seed := int64(0); seed < 3; seed++ {
		c, err := cmaes.New(space, nil)
		if err != nil {
			t.Fatal(err)
		}
		hist := run(t, c, space, sphere, 400, 4, seed)
		if b := best(hist); b > 1e-4 {
			t.Errorf("seed %d: best %g after 400 evaluations, want < 1e-4", seed, b)
		}
	}
}

func TestIPOPRestarts(t *testing.T) {
	space := tuning.Space{tuning.IntRange("a", 0, 40), tuning.IntRange("b", 0, 40), tuning.Choice("c", "x", "y")}
	c, err := cmaes.New(space, tuning.Settings{"restart_strategy": "ipop"})
	if err != nil {
		t.Fatal(err)
	}
	// A plateau: the strategy stalls and restarts with a larger population.
	hist := run(t, c, space, func(tuning.Point) float64 { return 1 }, 300, 5, 3)
	restarts := map[string]bool{}
	for _, o := range hist {
		restarts[o.Labels[cmaes.LabelRestart]] = true
		if _, err := space.ParseAssignments(space.Assignments(o.Point)); err != nil {
			t.Fatal(err)
		}
	}
	if !restarts["1"] {
		t.Errorf("restarts %v, want at least one", restarts)
	}
}

func TestDeterministic(t *testing.T) {
	space := tuning.Space{tuning.Float("a", 0, 1), tuning.Float("b", 0, 1)}
	c, _ := cmaes.New(space, nil)
	hist := run(t, c, space, func(p tuning.Point) float64 { return p[0] + p[1] }, 20, 3, 9)
	req := tuning.Request{Space: space, History: hist, N: 4, Seed: 9}
	a, _ := c.Suggest(context.Background(), req)
	b, _ := c.Suggest(context.Background(), req)
	for i := range a {
		if !slices.Equal(a[i].Point, b[i].Point) {
			t.Errorf("suggestion %d: %v then %v", i, a[i].Point, b[i].Point)
		}
	}
	if a[0].Labels[cmaes.LabelGeneration] == "0" {
		t.Errorf("generation %v after 20 trials of population 6", a[0].Labels)
	}
}

func TestSettings(t *testing.T) {
	space := tuning.Space{tuning.Float("a", 0, 1), tuning.Float("b", 0, 1)}
	tests := []struct {
		space tuning.Space
		s     tuning.Settings
		want  string
	}{
		{space, tuning.Settings{"sigma": "0.3", "restart_strategy": "ipop", "random_state": "4"}, ""},
		{space, tuning.Settings{"restart_strategy": "None"}, ""},
		{space, tuning.Settings{"restart_strategy": "bipop"}, "want one of none, None, ipop"},
		{space, tuning.Settings{"sigma": "0"}, "positive step size"},
		{space, tuning.Settings{"sigma0": "0.1"}, `unknown setting "sigma0"`},
		{tuning.Space{tuning.Float("a", 0, 1), tuning.Choice("b", "x", "y")}, nil, "at least two"},
	}
	for _, tt := range tests {
		_, err := cmaes.New(tt.space, tt.s)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("New(%v): %v", tt.s, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("New(%v) = %v, want an error with %q", tt.s, err, tt.want)
		}
	}
}
