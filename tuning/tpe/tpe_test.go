package tpe_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/tpe"
)

// run minimises f with s for n evaluations, one at a time, and returns the
// best loss and the history.
func run(t *testing.T, s tuning.Suggester, space tuning.Space, f func(tuning.Point) float64, n int, seed int64) (float64, []tuning.Observation) {
	t.Helper()
	var hist []tuning.Observation
	best := math.Inf(1)
	for len(hist) < n {
		ss, err := s.Suggest(context.Background(), tuning.Request{Space: space, History: hist, N: 1, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != 1 {
			t.Fatalf("got %d suggestions, want 1", len(ss))
		}
		y := f(ss[0].Point)
		hist = append(hist, tuning.Observation{Point: ss[0].Point, State: tuning.Succeeded, Loss: y})
		best = math.Min(best, y)
	}
	return best, hist
}

type randomSearch struct{}

func (randomSearch) Suggest(_ context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	rng := rand.New(rand.NewPCG(uint64(req.Seed), uint64(len(req.History))))
	return []tuning.Suggestion{{Point: req.Space.Sample(rng)}}, nil
}

func TestBeatsRandom(t *testing.T) {
	space := tuning.Space{tuning.Float("x", -5, 5), tuning.Float("y", -5, 5)}
	f := func(p tuning.Point) float64 { return (p[0]-1)*(p[0]-1) + (p[1]+2)*(p[1]+2) }
	for _, mk := range []struct {
		name string
		new  func(tuning.Space, tuning.Settings) (*tpe.TPE, error)
	}{{"tpe", tpe.New}, {"multivariate-tpe", tpe.NewMultivariate}} {
		var wins int
		var got, rnd []float64
		for seed := int64(0); seed < 5; seed++ {
			s, err := mk.new(space, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := run(t, s, space, f, 40, seed)
			r, _ := run(t, randomSearch{}, space, f, 40, seed)
			got, rnd = append(got, b), append(rnd, r)
			if b < r {
				wins++
			}
		}
		slices.Sort(got)
		slices.Sort(rnd)
		if wins < 4 || got[2] > rnd[2]/3 {
			t.Errorf("%s: best after 40 evaluations %v, random search %v: want TPE better on at least 4 of 5 seeds and its median a third of random's", mk.name, got, rnd)
		}
	}
}

func TestValidValues(t *testing.T) {
	space := tuning.Space{
		tuning.Float("lr", 1e-5, 1e-1).Log(),
		tuning.IntRange("layers", 1, 8),
		tuning.IntRange("units", 16, 512).Log(),
		tuning.IntRange("batch", 8, 64).By(8),
		tuning.Numbers("dropout", 0, 0.1, 0.25, 0.5),
		tuning.Choice("opt", "sgd", "adam", "rmsprop"),
		{Name: "mom", Type: tuning.Double, Min: 0.5, Max: 0.99, Distribution: tuning.Normal},
	}
	f := func(p tuning.Point) float64 {
		return math.Abs(math.Log10(p[0])+3) + math.Abs(p[1]-4) + p[4] + p[5]
	}
	for _, mk := range []func(tuning.Space, tuning.Settings) (*tpe.TPE, error){tpe.New, tpe.NewMultivariate} {
		s, err := mk(space, tuning.Settings{"n_startup_trials": "5"})
		if err != nil {
			t.Fatal(err)
		}
		_, hist := run(t, s, space, f, 40, 7)
		for _, o := range hist {
			as := space.Assignments(o.Point)
			back, err := space.ParseAssignments(as)
			if err != nil {
				t.Fatalf("suggested %v: %v", as, err)
			}
			if !slices.Equal(back, o.Point) {
				t.Errorf("suggested %v, which reads back as %v", o.Point, back)
			}
		}
	}
}

func TestBatchSpreadsAndDeterministic(t *testing.T) {
	space := tuning.Space{tuning.IntRange("a", 0, 3), tuning.Choice("b", "x", "y")}
	f := func(p tuning.Point) float64 { return p[0] + p[1] }
	s, err := tpe.New(space, tuning.Settings{"n_startup_trials": "2"})
	if err != nil {
		t.Fatal(err)
	}
	_, hist := run(t, s, space, f, 3, 1)
	hist = append(hist, tuning.Observation{Point: tuning.Point{3, 1}, State: tuning.Running})
	req := tuning.Request{Space: space, History: hist, N: 10, Seed: 1}
	got, err := s.Suggest(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// 8 points in all, 4 taken: 4 left.
	if len(got) != 4 {
		t.Fatalf("got %d suggestions, want the 4 points not taken", len(got))
	}
	seen := map[string]bool{}
	for _, o := range hist {
		seen[space.Key(o.Point)] = true
	}
	for _, g := range got {
		k := space.Key(g.Point)
		if seen[k] {
			t.Errorf("suggested %s twice", k)
		}
		seen[k] = true
	}
	again, _ := s.Suggest(context.Background(), req)
	for i := range got {
		if !slices.Equal(got[i].Point, again[i].Point) {
			t.Errorf("suggestion %d: %v then %v for the same request", i, got[i].Point, again[i].Point)
		}
	}
}

func TestSettings(t *testing.T) {
	space := tuning.Space{tuning.Float("x", 0, 1)}
	tests := []struct {
		s    tuning.Settings
		want string // "" for valid
	}{
		{nil, ""},
		{tuning.Settings{"n_startup_trials": "5", "n_ei_candidates": "48", "random_state": "3", "gamma": "0.25", "prior_weight": "2", "consider_endpoints": "true", "constant_liar": "false"}, ""},
		{tuning.Settings{"n_EI_candidates": "12"}, ""},
		{tuning.Settings{"n_startup_trials": "-1"}, "n_startup_trials"},
		{tuning.Settings{"n_ei_candidates": "0"}, "n_ei_candidates"},
		{tuning.Settings{"gamma": "0"}, "fraction in (0, 1]"},
		{tuning.Settings{"gamma": "2"}, "gamma"},
		{tuning.Settings{"prior_weight": "0"}, "positive"},
		{tuning.Settings{"consider_endpoints": "yes"}, "true, false"},
		{tuning.Settings{"n_ei_candidates": "4", "n_EI_candidates": "4"}, "not both"},
		{tuning.Settings{"multivariate": "true"}, `unknown setting "multivariate"`},
	}
	for _, tt := range tests {
		_, err := tpe.New(space, tt.s)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("New(%v): %v", tt.s, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("New(%v) = %v, want an error with %q", tt.s, err, tt.want)
		}
	}
}
