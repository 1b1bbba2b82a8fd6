package algorithms

import (
	"context"
	"strings"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
)

func TestNames(t *testing.T) {
	got := strings.Join(Names(), ",")
	if want := "bayesianoptimization,cmaes,grid,hyperband,multivariate-tpe,random,sobol,tpe"; got != want {
		t.Errorf("Names() = %s, want %s", got, want)
	}
}

func TestNew(t *testing.T) {
	space := tuning.Space{tuning.Float("lr", 0.1, 0.5).By(0.1), tuning.IntRange("epochs", 1, 9), tuning.Choice("opt", "sgd", "adam")}
	settings := map[string]tuning.Settings{"hyperband": {"resource_name": "epochs"}}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			a, err := New(name, space, settings[name])
			if err != nil {
				t.Fatalf("New(%q) = %v", name, err)
			}
			out, err := a.Suggest(context.Background(), tuning.Request{Space: space, N: 3, Seed: 1})
			if err != nil || len(out) != 3 {
				t.Fatalf("Suggest = %d suggestions, %v; want 3", len(out), err)
			}
			for _, s := range out {
				if _, err := space.ParseAssignments(space.Assignments(s.Point)); err != nil {
					t.Errorf("suggested %v: %v", s.Point, err)
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	space := tuning.Space{tuning.Float("x", 0, 1)}
	tests := []struct {
		name string
		algo string
		s    tuning.Settings
		want string
	}{
		{"unknown algorithm", "hyperopt", nil, `unknown algorithm "hyperopt": use one of bayesianoptimization, cmaes, grid, hyperband, multivariate-tpe, random, sobol, tpe`},
		{"grid over a continuum", "grid", nil, "give it a step"},
		{"unknown setting", "random", tuning.Settings{"sigma": "1"}, `unknown setting "sigma"`},
		{"bad setting", "bayesianoptimization", tuning.Settings{"acq_func": "gp_hedge"}, "use EI, LCB or PI"},
		{"cmaes in one dimension", "cmaes", nil, "at least two"},
		{"hyperband without a resource", "hyperband", nil, "resource_name is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.algo, space, tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) || ferry.ErrorCode(err) != ferry.Invalid {
				t.Errorf("New(%q) = %v, want an Invalid error containing %q", tt.algo, err, tt.want)
			}
		})
	}
}
