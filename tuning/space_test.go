package tuning_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
)

func TestParamValidate(t *testing.T) {
	tests := []struct {
		name string
		p    tuning.Param
		want string // "" for valid
	}{
		{"double", tuning.Float("lr", 1e-4, 0.1).Log(), ""},
		{"int", tuning.IntRange("depth", 2, 10).By(2), ""},
		{"categorical", tuning.Choice("opt", "sgd", "adam"), ""},
		{"discrete", tuning.Numbers("batch", 16, 32, 64), ""},
		{"normal", tuning.Param{Name: "x", Type: tuning.Double, Min: -1, Max: 1, Distribution: tuning.Normal}, ""},
		{"empty range", tuning.Float("lr", 1, 1), "is empty"},
		{"inverted range", tuning.Float("lr", 1, 0), "inverted"},
		{"log of zero", tuning.Float("lr", 0, 1).Log(), "min > 0"},
		{"int not whole", tuning.Param{Name: "n", Type: tuning.Int, Min: 0.5, Max: 3}, "whole"},
		{"step too big", tuning.IntRange("n", 1, 3).By(5), "larger than the range"},
		{"no values", tuning.Choice("opt"), "needs a list"},
		{"duplicate", tuning.Choice("opt", "a", "a"), "listed twice"},
		{"discrete not numbers", tuning.Param{Name: "b", Type: tuning.Discrete, Values: []string{"1", "x"}}, "not a number"},
		{"discrete same number", tuning.Param{Name: "b", Type: tuning.Discrete, Values: []string{"1", "1.0"}}, "same number"},
		{"list on double", tuning.Param{Name: "b", Type: tuning.Double, Min: 0, Max: 1, Values: []string{"1"}}, "not a list"},
		{"unknown type", tuning.Param{Name: "b", Type: "float"}, "unknown type"},
		{"unknown distribution", tuning.Param{Name: "b", Type: tuning.Double, Max: 1, Distribution: "beta"}, "unknown distribution"},
		{"distribution on categorical", tuning.Param{Name: "b", Type: tuning.Categorical, Values: []string{"a"}, Distribution: tuning.LogUniform}, "double and int"},
		{"no name", tuning.Float("", 0, 1), "no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if got := ferry.ErrorCode(err); got != ferry.Invalid {
				t.Errorf("code = %q, want %q", got, ferry.Invalid)
			}
		})
	}
}

func TestSpaceValidate(t *testing.T) {
	if err := (tuning.Space{}).Validate(); err == nil {
		t.Error("empty space: Validate() = nil, want an error")
	}
	dup := tuning.Space{tuning.Float("x", 0, 1), tuning.Float("x", 0, 2)}
	if err := dup.Validate(); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Errorf("duplicate names: Validate() = %v, want 'defined twice'", err)
	}
}

// Every value a parameter takes survives ToUnit then FromUnit, and
// FromUnit only gives values the parameter takes.
func TestUnitRoundTrip(t *testing.T) {
	space := tuning.Space{
		tuning.Float("lr", 1e-5, 1).Log(),
		tuning.IntRange("depth", 2, 12).By(2),
		tuning.IntRange("trees", 10, 1000).Log(),
		tuning.Choice("opt", "sgd", "adam", "rmsprop"),
		tuning.Numbers("batch", 64, 16, 32),
		{Name: "mom", Type: tuning.Double, Min: 0.5, Max: 0.99, Distribution: tuning.Normal},
		{Name: "wd", Type: tuning.Double, Min: 1e-6, Max: 1e-2, Distribution: tuning.LogNormal},
	}
	if err := space.Validate(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		p := space.Sample(rng)
		as := space.Assignments(p)
		q, err := space.ParseAssignments(as)
		if err != nil {
			t.Fatalf("ParseAssignments(%v): %v", as, err)
		}
		back := space.FromUnit(space.ToUnit(p))
		for i, prm := range space {
			if q[i] != p[i] {
				t.Fatalf("%s: parsed %v, want %v", prm.Name, q[i], p[i])
			}
			if prm.Numeric() && prm.Type != tuning.Double && back[i] != p[i] ||
				prm.Type == tuning.Double && math.Abs(back[i]-p[i]) > 1e-9*math.Abs(p[i]) ||
				prm.Type == tuning.Categorical && back[i] != p[i] {
				t.Fatalf("%s: FromUnit(ToUnit(%v)) = %v", prm.Name, p[i], back[i])
			}
		}
		if p[1] != math.Trunc(p[1]) || int(p[1])%2 != 0 || p[1] < 2 || p[1] > 12 {
			t.Fatalf("depth = %v, want an even number in [2, 12]", p[1])
		}
	}
	// Cells are equal: the ints 2, 4, ..., 12 each get a sixth of [0, 1].
	if got := space[1].FromUnit(0.17); got != 4 {
		t.Errorf("depth FromUnit(0.17) = %v, want 4", got)
	}
	if got, want := space[4].Format(space[4].FromUnit(0)), "16"; got != want {
		t.Errorf("batch at 0 = %q, want %q (discrete values are ordered)", got, want)
	}
}

func TestParseAssignmentsErrors(t *testing.T) {
	space := tuning.Space{tuning.IntRange("n", 1, 5), tuning.Choice("c", "a", "b")}
	for _, as := range [][]tuning.Assignment{
		{{Name: "n", Value: "7"}, {Name: "c", Value: "a"}},
		{{Name: "n", Value: "2.5"}, {Name: "c", Value: "a"}},
		{{Name: "n", Value: "2"}, {Name: "c", Value: "z"}},
		{{Name: "n", Value: "2"}},
		{{Name: "n", Value: "2"}, {Name: "c", Value: "a"}, {Name: "x", Value: "1"}},
	} {
		if _, err := space.ParseAssignments(as); err == nil {
			t.Errorf("ParseAssignments(%v) = nil error, want one", as)
		}
	}
}

func TestReader(t *testing.T) {
	r := tuning.NewReader("tpe", tuning.Settings{"n_startup_trials": "5", "gamma": "2"})
	if got := r.Int("n_startup_trials", 10, 1, 1000); got != 5 {
		t.Errorf("n_startup_trials = %d, want 5", got)
	}
	r.Float("gamma", 0.25, 0, 1)
	if err := r.Finish(); err == nil || !strings.Contains(err.Error(), "gamma") {
		t.Errorf("Finish() = %v, want an error about gamma", err)
	}
	r = tuning.NewReader("tpe", tuning.Settings{"nope": "1"})
	r.Int("n_startup_trials", 10, 1, 1000)
	if err := r.Finish(); err == nil || !strings.Contains(err.Error(), `unknown setting "nope"`) {
		t.Errorf("Finish() = %v, want unknown setting", err)
	}
}

func TestParseParam(t *testing.T) {
	tests := []struct {
		in   string
		want tuning.Param
		err  string
	}{
		{"lr=double:0.0001:0.1:log", tuning.Float("lr", 0.0001, 0.1).Log(), ""},
		{"depth=int:2:10", tuning.IntRange("depth", 2, 10), ""},
		{"trees=int:50:500:50", tuning.IntRange("trees", 50, 500).By(50), ""},
		{"booster=categorical:gbtree, dart", tuning.Choice("booster", "gbtree", "dart"), ""},
		{"batch=discrete:16,32,64", tuning.Param{Name: "batch", Type: tuning.Discrete, Values: []string{"16", "32", "64"}}, ""},
		{"lr=double:0.1:0.0001", tuning.Param{}, "inverted"},
		{"lr=double:0.1", tuning.Param{}, "MIN:MAX"},
		{"lr=float:0:1", tuning.Param{}, "unknown type"},
		{"lr", tuning.Param{}, "NAME=TYPE:SPEC"},
		{"lr=double:a:1", tuning.Param{}, "not a number"},
	}
	for _, tt := range tests {
		got, err := tuning.ParseParam(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseParam(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseParam(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseParam(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseParam(f *testing.F) {
	for _, s := range []string{"lr=double:0.0001:0.1:log", "depth=int:2:10:2", "b=categorical:a,b", "n=discrete:1,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := tuning.ParseParam(s)
		if err != nil {
			return
		}
		// A parsed parameter is valid and maps the cube into itself.
		if err := p.Validate(); err != nil {
			t.Fatalf("ParseParam(%q) = %+v, which is invalid: %v", s, p, err)
		}
		for _, u := range []float64{0, 0.3, 1} {
			if _, err := p.Parse(p.Format(p.FromUnit(u))); err != nil {
				t.Fatalf("ParseParam(%q): value at %v does not parse back: %v", s, u, err)
			}
		}
	})
}
