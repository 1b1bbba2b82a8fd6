package bayesopt

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
)

func suggest(t *testing.T, a tuning.Suggester, req tuning.Request) []tuning.Suggestion {
	t.Helper()
	out, err := a.Suggest(context.Background(), req)
	if err != nil {
		t.Fatalf("Suggest: %v", err)
	}
	return out
}

// minimise runs a sequentially for evals evaluations of f and returns the
// best loss and its point.
func minimise(t *testing.T, a tuning.Suggester, space tuning.Space, f func(tuning.Point) float64, evals int, seed int64) (float64, tuning.Point) {
	t.Helper()
	var h []tuning.Observation
	best, bestP := math.Inf(1), tuning.Point(nil)
	for len(h) < evals {
		out := suggest(t, a, tuning.Request{Space: space, History: h, N: 1, Seed: seed})
		if len(out) != 1 {
			t.Fatalf("%d suggestions after %d trials, want 1", len(out), len(h))
		}
		y := f(out[0].Point)
		if y < best {
			best, bestP = y, out[0].Point
		}
		h = append(h, tuning.Observation{Point: out[0].Point, State: tuning.Succeeded, Loss: y, Labels: out[0].Labels})
	}
	return best, bestP
}

func TestFindsQuadraticMinimum(t *testing.T) {
	tests := []struct {
		name  string
		space tuning.Space
		f     func(tuning.Point) float64
		evals int
		tol   float64 // on the loss (minimum 0)
	}{
		{"1-D", tuning.Space{tuning.Float("x", -5, 5)}, func(p tuning.Point) float64 { return (p[0] - 1.3) * (p[0] - 1.3) }, 15, 1e-3},
		{"2-D", tuning.Space{tuning.Float("x", -5, 5), tuning.Float("y", 0, 10)}, func(p tuning.Point) float64 {
			return (p[0]+2)*(p[0]+2) + 3*(p[1]-7)*(p[1]-7)
		}, 20, 1e-2},
		{"2-D log scale", tuning.Space{tuning.Float("lr", 1e-5, 1).Log(), tuning.Float("y", -1, 1)}, func(p tuning.Point) float64 {
			l := math.Log10(p[0]) + 3
			return l*l + p[1]*p[1]
		}, 20, 1e-2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.space, tuning.Settings{"n_initial_points": "5"})
			if err != nil {
				t.Fatal(err)
			}
			for seed := range int64(3) {
				if got, p := minimise(t, a, tt.space, tt.f, tt.evals, seed); got > tt.tol {
					t.Errorf("seed %d: best loss after %d evaluations = %.3g at %v, want ≤ %g", seed, tt.evals, got, p, tt.tol)
				}
			}
		})
	}
}

func TestAcquisitionFunctions(t *testing.T) {
	space := tuning.Space{tuning.Float("x", -5, 5)}
	f := func(p tuning.Point) float64 { return (p[0] - 1.3) * (p[0] - 1.3) }
	for _, s := range []tuning.Settings{
		{"acq_func": "LCB", "n_initial_points": "4"},
		{"acq_func": "PI", "n_initial_points": "4"},
		{"acq_optimizer": "sampling", "n_initial_points": "4"},
	} {
		a, err := New(space, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, p := minimise(t, a, space, f, 15, 1); got > 1e-2 {
			t.Errorf("%v: best loss after 15 evaluations = %.3g at %v, want ≤ 0.01", s, got, p)
		}
	}
}

// Failed trials are left out of the model, early-stopped ones count.
func TestStates(t *testing.T) {
	space := tuning.Space{tuning.Float("x", 0, 1)}
	a, _ := New(space, tuning.Settings{"n_initial_points": "2"})
	h := []tuning.Observation{
		{Point: tuning.Point{0.1}, State: tuning.Succeeded, Loss: 1},
		{Point: tuning.Point{0.9}, State: tuning.EarlyStopped, Loss: 5},
		{Point: tuning.Point{0.5}, State: tuning.Failed},
		{Point: tuning.Point{0.3}, State: tuning.Killed},
	}
	out := suggest(t, a, tuning.Request{Space: space, History: h, N: 1})
	if len(out) != 1 || out[0].Labels[Label] != "gp" {
		t.Fatalf("got %v, want one suggestion of the model", out)
	}
	if x := out[0].Point[0]; x > 0.5 {
		t.Errorf("suggested x = %v, want it away from the early-stopped trial's high loss", x)
	}
}

// Mixed spaces only give values the parameters take, never a taken point,
// and all of a small finite space before they stop.
func TestFiniteSpace(t *testing.T) {
	space := tuning.Space{
		tuning.Choice("opt", "sgd", "adam", "rmsprop"),
		tuning.IntRange("layers", 1, 4),
		tuning.Numbers("batch", 16, 64, 256),
	}
	a, err := New(space, tuning.Settings{"n_initial_points": "4"})
	if err != nil {
		t.Fatal(err)
	}
	f := func(p tuning.Point) float64 { return math.Abs(p[0]-1) + math.Abs(p[1]-3) + math.Abs(math.Log2(p[2])-6) }
	var h []tuning.Observation
	seen := map[string]bool{}
	for len(h) < 40 {
		out := suggest(t, a, tuning.Request{Space: space, History: h, N: 3, Seed: 1})
		if len(out) == 0 {
			break
		}
		for _, s := range out {
			if _, err := space.ParseAssignments(space.Assignments(s.Point)); err != nil {
				t.Fatalf("suggested %v, not a point of the space: %v", s.Point, err)
			}
			k := space.Key(s.Point)
			if seen[k] {
				t.Fatalf("suggested %s twice", k)
			}
			seen[k] = true
			h = append(h, tuning.Observation{Point: s.Point, State: tuning.Succeeded, Loss: f(s.Point)})
		}
	}
	if len(seen) != 36 {
		t.Errorf("%d distinct points before stopping, want all 36", len(seen))
	}
	if !seen["opt=adam,layers=3,batch=64"] {
		t.Error("never suggested the minimum")
	}
}

// A batch spreads out: its points are distinct and apart from each other
// and from the pending trials.
func TestBatchDistinct(t *testing.T) {
	space := tuning.Space{tuning.Float("x", 0, 1), tuning.Float("y", 0, 1)}
	a, err := New(space, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var h []tuning.Observation
	for range 12 {
		p := space.Sample(rng)
		h = append(h, tuning.Observation{Point: p, State: tuning.Succeeded, Loss: (p[0]-0.3)*(p[0]-0.3) + (p[1]-0.6)*(p[1]-0.6)})
	}
	h = append(h, tuning.Observation{Point: tuning.Point{0.3, 0.6}, State: tuning.Running})
	h = append(h, tuning.Observation{Point: tuning.Point{0.9, 0.9}, State: tuning.Failed})
	out := suggest(t, a, tuning.Request{Space: space, History: h, N: 5, Seed: 2})
	if len(out) != 5 {
		t.Fatalf("%d suggestions, want 5", len(out))
	}
	pts := []tuning.Point{{0.3, 0.6}}
	for _, s := range out {
		pts = append(pts, s.Point)
	}
	for i := range pts {
		for j := range i {
			if d := math.Hypot(pts[i][0]-pts[j][0], pts[i][1]-pts[j][1]); d < 1e-3 {
				t.Errorf("points %v and %v are %.2g apart", pts[j], pts[i], d)
			}
		}
	}
}

func TestReproducible(t *testing.T) {
	space := tuning.Space{tuning.Float("x", 0, 1), tuning.IntRange("n", 1, 9)}
	a, _ := New(space, tuning.Settings{"n_initial_points": "3"})
	var h []tuning.Observation
	for i := range 6 {
		p := tuning.Point{float64(i) / 7, float64(1 + i)}
		h = append(h, tuning.Observation{Point: p, State: tuning.Succeeded, Loss: math.Sin(7 * p[0] * p[1])})
	}
	x := suggest(t, a, tuning.Request{Space: space, History: h, N: 2, Seed: 9})
	y := suggest(t, a, tuning.Request{Space: space, History: h, N: 2, Seed: 9})
	for i := range x {
		if space.Key(x[i].Point) != space.Key(y[i].Point) {
			t.Errorf("suggestion %d: %v then %v from the same request", i, x[i].Point, y[i].Point)
		}
	}
}

func TestSettings(t *testing.T) {
	space := tuning.Space{tuning.Float("x", 0, 1)}
	tests := []struct {
		s    tuning.Settings
		want string // "" for valid
	}{
		{tuning.Settings{"base_estimator": "GP", "n_initial_points": "5", "acq_func": "EI", "acq_optimizer": "lbfgs", "random_state": "3", "xi": "0.1", "kappa": "2"}, ""},
		{tuning.Settings{"acq_func": "LCB"}, ""},
		{tuning.Settings{"acq_func": "ucb"}, ""},
		{tuning.Settings{"acq_func": "PI", "acq_optimizer": "sampling"}, ""},
		{tuning.Settings{"base_estimator": "RF"}, "only GP"},
		{tuning.Settings{"acq_func": "gp_hedge"}, "use EI, LCB or PI"},
		{tuning.Settings{"acq_func": "xyz"}, "want one of EI, LCB (or UCB), PI"},
		{tuning.Settings{"acq_optimizer": "newton"}, "want one of auto, sampling, lbfgs"},
		{tuning.Settings{"n_initial_points": "0"}, "n_initial_points"},
		{tuning.Settings{"kappa": "-1"}, "kappa"},
		{tuning.Settings{"n_calls": "10"}, `unknown setting "n_calls"`},
	}
	for _, tt := range tests {
		_, err := New(space, tt.s)
		if tt.want == "" {
			if err != nil {
				t.Errorf("New(%v) = %v, want no error", tt.s, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || ferry.ErrorCode(err) != ferry.Invalid {
			t.Errorf("New(%v) = %v, want an Invalid error containing %q", tt.s, err, tt.want)
		}
	}
}

// The acquisition functions' derivatives agree with finite differences.
func TestAcquisitionGradients(t *testing.T) {
	fs := map[string]acquisition{"ei": ei(0.2, 0.01), "pi": pi(0.2, 0.01), "lcb": lcb(1.96)}
	for name, f := range fs {
		for _, mu := range []float64{-1, 0.1, 0.5, 3, 12} {
			for _, s := range []float64{0.01, 0.3, 2} {
				_, dm, ds := f(mu, s)
				const h = 1e-6
				a1, _, _ := f(mu+h, s)
				a0, _, _ := f(mu-h, s)
				b1, _, _ := f(mu, s+h)
				b0, _, _ := f(mu, s-h)
				if nd := (a1 - a0) / (2 * h); math.Abs(nd-dm) > 1e-4*(1+math.Abs(nd)) {
					t.Errorf("%s(μ=%v, σ=%v): d/dμ = %v, finite difference %v", name, mu, s, dm, nd)
				}
				if nd := (b1 - b0) / (2 * h); math.Abs(nd-ds) > 1e-4*(1+math.Abs(nd)) {
					t.Errorf("%s(μ=%v, σ=%v): d/dσ = %v, finite difference %v", name, mu, s, ds, nd)
				}
			}
		}
	}
}

// The marginal likelihood's gradient and the posterior's agree with finite
// differences.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var x [][]float64
	var y []float64
	for range 15 {
		u := []float64{rng.Float64(), rng.Float64(), rng.Float64()}
		x = append(x, u)
		y = append(y, math.Sin(3*u[0])+u[1]*u[2])
	}
	y, _ = standardise(y)
	f := newFitter(x, y)
	z := []float64{0.3, -0.5, 1, 0.2, -1}
	g := make([]float64, len(z))
	f.negLogPosterior(z, g)
	for k := range z {
		const h = 1e-5
		zp := append([]float64(nil), z...)
		zp[k] += h
		fp := f.negLogPosterior(zp, nil)
		zp[k] -= 2 * h
		fm := f.negLogPosterior(zp, nil)
		if nd := (fp - fm) / (2 * h); math.Abs(nd-g[k]) > 1e-4*(1+math.Abs(nd)) {
			t.Errorf("d/dz[%d] = %v, finite difference %v", k, g[k], nd)
		}
	}
	hp, _ := f.params(z)
	gp, ok := newGP(hp, x, y, 20)
	if !ok {
		t.Fatal("kernel matrix not positive definite")
	}
	u := []float64{0.4, 0.7, 0.1}
	dmu, dvar := make([]float64, 3), make([]float64, 3)
	ks := make([]float64, 40)
	gp.predict(u, ks, dmu, dvar)
	for k := range u {
		const h = 1e-6
		up := append([]float64(nil), u...)
		up[k] += h
		m1, v1 := gp.predict(up, ks, nil, nil)
		up[k] -= 2 * h
		m0, v0 := gp.predict(up, ks, nil, nil)
		if nd := (m1 - m0) / (2 * h); math.Abs(nd-dmu[k]) > 1e-4*(1+math.Abs(nd)) {
			t.Errorf("dμ/dx[%d] = %v, finite difference %v", k, dmu[k], nd)
		}
		if nd := (v1 - v0) / (2 * h); math.Abs(nd-dvar[k]) > 1e-4*(1+math.Abs(nd)) {
			t.Errorf("dσ²/dx[%d] = %v, finite difference %v", k, dvar[k], nd)
		}
	}
}
