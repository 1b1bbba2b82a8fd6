package tpe

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/internal/taken"
)

// TPE is the Tree-structured Parzen Estimator (Katib's "tpe", or
// "multivariate-tpe" from NewMultivariate).
type TPE struct {
	space        tuning.Space
	dims         []dim
	nStartup     int
	nCandidates  int
	gamma        float64 // fraction of finished trials in "below"; 0: Optuna's 0.1
	seed         int64
	seeded       bool // random_state set: it replaces the study's seed
	constantLiar bool
	opts         options
}

var _ tuning.Suggester = (*TPE)(nil)

// New returns univariate TPE (Katib's "tpe") over space. Its settings:
//
//   - n_startup_trials: finished trials drawn at random before TPE models
//     the history (default 10);
//   - n_ei_candidates (or hyperopt's n_EI_candidates): points drawn from
//     the good trials' estimator per suggestion (default 24);
//   - gamma: the fraction of finished trials counted as good, at most 25
//     of them (default Optuna's 0.1);
//   - prior_weight: the weight of the prior component (default 1);
//   - consider_endpoints: whether the outermost kernels' bandwidths see
//     the range's ends (default false);
//   - constant_liar: whether pending trials count as the worst ones
//     (default true, as Katib sets it);
//   - random_state: a seed that replaces the study's.
func New(space tuning.Space, s tuning.Settings) (*TPE, error) {
	return newTPE("tpe", space, s, false)
}

// NewMultivariate returns multivariate TPE (Katib's "multivariate-tpe"):
// one joint Parzen estimator over all the parameters. It takes New's
// settings.
func NewMultivariate(space tuning.Space, s tuning.Settings) (*TPE, error) {
	return newTPE("multivariate-tpe", space, s, true)
}

func newTPE(name string, space tuning.Space, s tuning.Settings, multivariate bool) (*TPE, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	r := tuning.NewReader(name, s)
	t := &TPE{space: space}
	t.nStartup = r.Int("n_startup_trials", 10, 0, 1_000_000)
	t.nCandidates = r.Int("n_ei_candidates", 24, 1, 100_000)
	if _, ok := s["n_EI_candidates"]; ok {
		if _, both := s["n_ei_candidates"]; both {
			r.Fail("n_EI_candidates", "set n_ei_candidates or n_EI_candidates, not both")
		}
		t.nCandidates = r.Int("n_EI_candidates", 24, 1, 100_000)
	}
	t.gamma = r.Float("gamma", 0, 0, 1)
	if v, ok := s["gamma"]; ok && v != "" && t.gamma == 0 {
		r.Fail("gamma", "want a fraction in (0, 1]: the share of finished trials taken as good (Optuna's default is 0.1)")
	}
	t.opts.priorWeight = r.Float("prior_weight", 1, 0, math.MaxFloat64)
	if v, ok := s["prior_weight"]; ok && v != "" && t.opts.priorWeight == 0 {
		r.Fail("prior_weight", "want a positive number (default 1)")
	}
	t.opts.considerEndpoints = r.String("consider_endpoints", "false", "true", "false") == "true"
	t.constantLiar = r.String("constant_liar", "true", "true", "false") == "true"
	if _, ok := s["random_state"]; ok {
		t.seed = int64(r.Int("random_state", 0, 0, math.MaxInt32))
		t.seeded = true
	}
	if err := r.Finish(); err != nil {
		return nil, err
	}
	t.opts.magicClip = true
	t.opts.multivariate = multivariate
	for _, p := range space {
		t.dims = append(t.dims, newDim(p))
	}
	return t, nil
}

// Suggest returns req.N points: random ones until n_startup_trials trials
// have finished, then TPE's, each added to the history as pending before
// the next.
func (t *TPE) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	if len(req.Space) != len(t.space) {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: tpe: the request's space has %d parameters, the algorithm's %d: build the algorithm with the study's space", len(req.Space), len(t.space))
	}
	seed := req.Seed
	if t.seeded {
		seed = t.seed
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(len(req.History))^0x7470655f74706521))
	used := taken.New(t.space, req.History)
	hist := slices.Clone(req.History)
	var out []tuning.Suggestion
	for len(out) < req.N {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, ok := t.next(rng, hist, used)
		if !ok {
			break
		}
		used.Add(p)
		hist = append(hist, tuning.Observation{Point: p, State: tuning.Running})
		out = append(out, tuning.Suggestion{Point: p})
	}
	return out, nil
}

// scored is an observation in Optuna's order: finished ones by loss, then
// early-stopped ones by the last step they reached (later first) and loss,
// then pending ones.
type scored struct {
	idx  int
	rank float64 // -Inf for a finished trial, -step for an early-stopped one, +Inf for a pending one
	loss float64
}

func (t *TPE) next(rng *rand.Rand, hist []tuning.Observation, used *taken.Set) (tuning.Point, bool) {
	var obs []scored
	n := 0
	for i, o := range hist {
		if len(o.Point) != len(t.space) {
			continue
		}
		switch {
		case o.State == tuning.Succeeded:
			obs = append(obs, scored{i, math.Inf(-1), lossOf(o)})
			n++
		case o.State == tuning.EarlyStopped:
			step := float64(len(o.Curve))
			if len(o.Curve) > 0 {
				step = float64(o.Curve[len(o.Curve)-1].Step)
			}
			obs = append(obs, scored{i, -step, lossOf(o)})
			n++
		case !o.State.Finished() && t.constantLiar:
			obs = append(obs, scored{i, math.Inf(1), math.Inf(1)})
		}
	}
	if n < t.nStartup {
		return used.Random(rng)
	}
	nBelow := min(int(math.Ceil(0.1*float64(n))), 25)
	if t.gamma > 0 {
		nBelow = min(int(math.Ceil(t.gamma*float64(n))), 25)
	}
	sorted := slices.Clone(obs)
	slices.SortStableFunc(sorted, func(a, b scored) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		return cmp.Compare(a.loss, b.loss)
	})
	nBelow = min(nBelow, len(sorted))
	isBelow := map[int]bool{}
	for _, s := range sorted[:nBelow] {
		isBelow[s.idx] = true
	}
	// Both groups in trial order (the weights favour newer trials).
	var below, above [][]float64
	for _, s := range obs {
		x := make([]float64, len(t.dims))
		for j, d := range t.dims {
			if d.cat > 0 {
				x[j] = hist[s.idx].Point[j]
			} else {
				x[j] = d.to(hist[s.idx].Point[j])
			}
		}
		if isBelow[s.idx] {
			below = append(below, x)
		} else {
			above = append(above, x)
		}
	}
	if t.opts.multivariate {
		return t.jointly(rng, below, above, used)
	}
	return t.perParam(rng, below, above, used)
}

func lossOf(o tuning.Observation) float64 {
	if math.IsNaN(o.Loss) {
		return math.Inf(1)
	}
	return o.Loss
}

// jointly draws candidates from the joint "below" estimator and returns
// the best one not taken.
func (t *TPE) jointly(rng *rand.Rand, below, above [][]float64, used *taken.Set) (tuning.Point, bool) {
	l := newParzen(t.dims, below, t.opts)
	g := newParzen(t.dims, above, t.opts)
	cands := l.sample(rng, t.nCandidates)
	type cand struct {
		p     tuning.Point
		score float64
	}
	cs := make([]cand, len(cands))
	for i, x := range cands {
		cs[i] = cand{t.point(x), l.logPDF(x) - g.logPDF(x)}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Compare(b.score, a.score) })
	for _, c := range cs {
		if !used.Has(c.p) {
			return c.p, true
		}
	}
	return used.Random(rng)
}

// perParam runs TPE on each parameter alone (Optuna's independent
// sampling) and returns the point of the per-parameter winners, or, when
// it is taken, the first of their runners-up that is not.
func (t *TPE) perParam(rng *rand.Rand, below, above [][]float64, used *taken.Set) (tuning.Point, bool) {
	ranked := make([][]float64, len(t.dims)) // per dim: candidate axis values, best first
	column := func(obs [][]float64, j int) [][]float64 {
		out := make([][]float64, len(obs))
		for i, x := range obs {
			out[i] = []float64{x[j]}
		}
		return out
	}
	for j, d := range t.dims {
		ds := []dim{d}
		l := newParzen(ds, column(below, j), t.opts)
		g := newParzen(ds, column(above, j), t.opts)
		cands := l.sample(rng, t.nCandidates)
		type cand struct{ x, score float64 }
		cs := make([]cand, len(cands))
		for i, x := range cands {
			cs[i] = cand{x[0], l.logPDF(x) - g.logPDF(x)}
		}
		slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Compare(b.score, a.score) })
		for _, c := range cs {
			ranked[j] = append(ranked[j], c.x)
		}
	}
	x := make([]float64, len(t.dims))
	for j := range x {
		x[j] = ranked[j][0]
	}
	if p := t.point(x); !used.Has(p) {
		return p, true
	}
	for r := 1; r < t.nCandidates; r++ {
		for j := range t.dims {
			y := slices.Clone(x)
			y[j] = ranked[j][r]
			if p := t.point(y); !used.Has(p) {
				return p, true
			}
		}
	}
	return used.Random(rng)
}

// point maps axis values to a point of the space.
func (t *TPE) point(x []float64) tuning.Point {
	p := make(tuning.Point, len(x))
	for j, d := range t.dims {
		if d.cat > 0 {
			p[j] = x[j]
		} else {
			p[j] = d.from(x[j])
		}
	}
	return p
}
