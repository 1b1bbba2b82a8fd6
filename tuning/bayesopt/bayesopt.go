package bayesopt

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/search"
)

// Label is the label BayesOpt puts on its suggestions: "init" for the
// initial design, "gp" for those of the model.
const Label = "bayesopt"

// BayesOpt is Katib's "bayesianoptimization": Gaussian-process Bayesian
// optimisation. See the package documentation.
type BayesOpt struct {
	nInit     int
	acq       string // EI, LCB or PI
	optimizer string // auto, sampling or lbfgs
	state     int64
	xi, kappa float64
}

var _ tuning.Suggester = (*BayesOpt)(nil)

// New returns Bayesian optimisation over space with Katib's (scikit-
// optimize's) settings:
//
//   - base_estimator: GP (the only one; skopt's RF, ET and GBRT are
//     refused).
//   - n_initial_points: trials drawn from a scrambled Sobol sequence before
//     the model takes over; default 10.
//   - acq_func: EI (default), LCB (or UCB: the same bound, for a loss) or
//     PI. skopt's gp_hedge and the per-second EIps and PIps are refused.
//   - acq_optimizer: lbfgs (candidates, then L-BFGS from the best few),
//     sampling (candidates only) or auto (lbfgs).
//   - random_state: a seed that replaces the study's.
//   - xi: the improvement EI and PI ask for, in the losses' units (as
//     skopt's); default 0 for EI (Jones et al.'s expected improvement, as
//     BoTorch's: the posterior variance alone drives exploration, and a
//     margin in the losses' units stops the search short of the optimum's
//     last digits), 0.01 for PI (which with no margin only exploits).
//   - kappa: LCB's multiple of the standard deviation; default 1.96.
func New(space tuning.Space, s tuning.Settings) (*BayesOpt, error) {
	const algo = "bayesianoptimization"
	r := tuning.NewReader(algo, s)
	if v, ok := s["base_estimator"]; ok && v != "" && !strings.EqualFold(v, "GP") {
		r.Fail("base_estimator", "only GP (a Gaussian process) is supported: set GP or leave it out")
	}
	r.String("base_estimator", "GP", "GP", "gp")
	a := &BayesOpt{}
	a.nInit = r.Int("n_initial_points", 10, 1, 1<<20)
	acq := s["acq_func"]
	switch strings.ToUpper(acq) {
	case "", "EI":
		a.acq = "EI"
	case "LCB", "UCB":
		a.acq = "LCB"
	case "PI":
		a.acq = "PI"
	case "GP_HEDGE", "EIPS", "PIPS":
		r.Fail("acq_func", "not supported (skopt's gp_hedge portfolio and the per-second EIps and PIps need state or timings Ferry does not keep): use EI, LCB or PI")
	default:
		r.Fail("acq_func", "want one of EI, LCB (or UCB), PI")
	}
	r.String("acq_func", "", acq) // mark it read
	a.optimizer = r.String("acq_optimizer", "auto", "auto", "sampling", "lbfgs")
	a.state = int64(r.Int("random_state", -1, 0, math.MaxInt32))
	xi := 0.0
	if a.acq == "PI" {
		xi = 0.01
	}
	a.xi = r.Float("xi", xi, 0, 100)
	a.kappa = r.Float("kappa", 1.96, 0, 1000)
	if err := r.Finish(); err != nil {
		return nil, err
	}
	if err := space.Validate(); err != nil {
		return nil, err
	}
	if len(space) > search.MaxSobolDim {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: %s: %d parameters: at most %d are supported: use fewer parameters", algo, len(space), search.MaxSobolDim)
	}
	return a, nil
}

// study is what one Suggest call works with.
type study struct {
	space   tuning.Space
	d       int
	cont    []bool // whether each dimension is continuous (a double)
	taken   map[string]bool
	size    int // number of points of a finite space, else -1
	rng     *rand.Rand
	x       [][]float64 // unit-cube points with a loss
	y       []float64   // their losses, standardised
	sd      float64     // the losses' standard deviation (1 if constant)
	pending [][]float64 // unit-cube points without one yet (fantasised)
}

// finiteLimit bounds the finite spaces whose points are listed once the
// candidates run out.
const finiteLimit = 1 << 20

// Suggest returns req.N points: from the initial design until
// n_initial_points trials exist (or while fewer than two have a loss),
// then from the model.
func (a *BayesOpt) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	if err := req.Space.Validate(); err != nil {
		return nil, err
	}
	if req.N < 0 {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: bayesianoptimization: asked for %d suggestions: ask for 0 or more", req.N)
	}
	seed := req.Seed
	if a.state >= 0 {
		seed = a.state
	}
	st := &study{space: req.Space, d: len(req.Space), taken: map[string]bool{}, size: -1,
		rng: rand.New(rand.NewPCG(uint64(seed), uint64(len(req.History))^0xb0b0))}
	st.cont = make([]bool, st.d)
	st.size = 1
	for i, p := range req.Space {
		st.cont[i] = p.Type == tuning.Double
		if st.cont[i] || st.size < 0 || st.size > finiteLimit/max(p.Count(), 1) {
			st.size = -1
		} else {
			st.size *= p.Count()
		}
	}
	var losses []float64
	for i, o := range req.History {
		if len(o.Point) != st.d {
			return nil, ferry.Errorf(ferry.Invalid, "tuning: bayesianoptimization: trial %d of the history has %d values for a space of %d parameters: give every trial a value for each parameter", i, len(o.Point), st.d)
		}
		st.taken[req.Space.Key(o.Point)] = true
		u := req.Space.ToUnit(o.Point)
		switch {
		case o.State.HasResult() && !math.IsNaN(o.Loss) && !math.IsInf(o.Loss, 0):
			st.x = append(st.x, u)
			losses = append(losses, o.Loss)
		case !o.State.Finished():
			st.pending = append(st.pending, u)
		}
	}
	st.y, st.sd = standardise(losses)

	var init *search.SobolSequence
	var model *model
	var out []tuning.Suggestion
	for j := range req.N {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if st.size >= 0 && len(st.taken) >= st.size {
			break // every point of a finite space is taken
		}
		var u []float64
		label := "gp"
		if len(req.History)+j < a.nInit || len(st.x) < 2 {
			if init == nil {
				var err error
				if init, err = search.NewSobolSequence(st.d, true, uint64(seed)); err != nil {
					return nil, err
				}
			}
			u, label = st.initial(init, uint64(len(req.History)+j)), "init"
		} else {
			if model == nil {
				model = st.fit(req.N - j)
			}
			u = a.next(ctx, st, model)
		}
		if u == nil {
			break
		}
		p := req.Space.FromUnit(u)
		st.taken[req.Space.Key(p)] = true
		if model != nil {
			model.fantasise(st.snap(u))
		} else {
			st.pending = append(st.pending, st.snap(u))
		}
		out = append(out, tuning.Suggestion{Point: p, Labels: map[string]string{Label: label}})
	}
	return out, nil
}

// standardise returns (y - mean)/sd and sd (1 for a constant y).
func standardise(y []float64) ([]float64, float64) {
	if len(y) == 0 {
		return nil, 1
	}
	var mean, ss float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	for _, v := range y {
		ss += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(ss / float64(len(y)))
	if !(sd > 0) {
		sd = 1
	}
	out := make([]float64, len(y))
	for i, v := range y {
		out[i] = (v - mean) / sd
	}
	return out, sd
}

// snap maps u to the unit-cube position of the point it stands for: the
// middle of the cell of an int, discrete or categorical value.
func (st *study) snap(u []float64) []float64 {
	v := make([]float64, len(u))
	st.snapTo(v, u)
	return v
}

func (st *study) snapTo(v, u []float64) {
	for i, p := range st.space {
		x := min(max(u[i], 0), 1)
		if !st.cont[i] {
			x = p.ToUnit(p.FromUnit(x))
		}
		v[i] = x
	}
}

// initial returns the first point of the Sobol sequence from index i on
// that is not taken.
func (st *study) initial(seq *search.SobolSequence, i uint64) []float64 {
	u := make([]float64, st.d)
	for k := range uint64(1 << 14) {
		seq.Point(i+k, u)
		if !st.taken[st.space.Key(st.space.FromUnit(u))] {
			return u
		}
	}
	return st.leftover()
}

// leftover returns a random untaken point of a finite space, or nil.
func (st *study) leftover() []float64 {
	if st.size < 0 {
		u := make([]float64, st.d)
		for range 1000 {
			for k := range u {
				u[k] = st.rng.Float64()
			}
			if !st.taken[st.space.Key(st.space.FromUnit(u))] {
				return u
			}
		}
		return nil
	}
	var left []tuning.Point
	values := make([][]float64, st.d)
	for i, p := range st.space {
		values[i], _ = search.GridValues(p)
	}
	idx := make([]int, st.d)
	for range st.size {
		p := make(tuning.Point, st.d)
		for i := range p {
			p[i] = values[i][idx[i]]
		}
		if !st.taken[st.space.Key(p)] {
			left = append(left, p)
		}
		for i := st.d - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < len(values[i]) {
				break
			}
			idx[i] = 0
		}
	}
	if len(left) == 0 {
		return nil
	}
	return st.space.ToUnit(left[st.rng.IntN(len(left))])
}

// model is the GP of a study with its fantasised points.
type model struct {
	gp         *gp
	best       float64 // the least standardised loss observed or fantasised
	fantasised bool    // whether the posterior holds fantasised points
}

// batchMargin is the least improvement, in standard deviations of the
// losses, that EI and PI ask for while the model holds fantasised points
// (pending trials, or earlier points of the batch). The kriging believer
// takes a fantasy's predicted loss as certain, so with no margin the
// acquisition's optimum can sit right next to a fantasy, where the mean is
// as good and the variance is not quite zero; the margin makes the points
// of a batch spread out.
const batchMargin = 0.05

// maxFitPoints bounds the points the hyperparameters are fitted on (the
// fit costs O(n³) per step): above it, the best half of them and an even
// spread of the rest.
const maxFitPoints = 40

// fitBudget is the fit's budget per start, in evaluations times n³.
const fitBudget = 2e6

// fit fits the hyperparameters to the study's losses and returns the
// posterior with the pending points fantasised and room for more.
func (st *study) fit(more int) *model {
	x, y := st.x, st.y
	if len(x) > maxFitPoints {
		x, y = subset(x, y, maxFitPoints)
	}
	f := newFitter(x, y)
	n := float64(len(x))
	// Each evaluation of the likelihood costs O(n³): the budget keeps the
	// fit's cost about constant above 23 points (31 evaluations per start
	// at 40 points, where L-BFGS has usually converged from either start).
	evals := int(min(max(fitBudget/(n*n*n), 30), 150))
	starts := []hyper{defaultHyper(st.d, 0.5, 1e-4), defaultHyper(st.d, 0.15, 1e-2)}
	h, _ := f.fit(starts, evals)
	size := len(st.x) + len(st.pending) + more
	g, ok := newGP(h, st.x, st.y, size)
	for !ok { // more noise until the matrix is positive definite
		h.logNoise += 2
		g, ok = newGP(h, st.x, st.y, size)
	}
	m := &model{gp: g, best: slices.Min(st.y)}
	for _, u := range st.pending {
		m.fantasise(u)
	}
	return m
}

func defaultHyper(d int, length, noise float64) hyper {
	h := hyper{logLen: make([]float64, d), logNoise: math.Log(noise)}
	for k := range h.logLen {
		h.logLen[k] = math.Log(length)
	}
	return h
}

// subset returns m of the points: the best m/2 and an even spread of the
// others, in their original order.
func subset(x [][]float64, y []float64, m int) ([][]float64, []float64) {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(y[a], y[b]) })
	keep := append([]int(nil), idx[:m/2]...)
	rest := idx[m/2:]
	for k := range m - m/2 {
		keep = append(keep, rest[k*len(rest)/(m-m/2)])
	}
	slices.Sort(keep)
	xs, ys := make([][]float64, m), make([]float64, m)
	for k, i := range keep {
		xs[k], ys[k] = x[i], y[i]
	}
	return xs, ys
}

// fantasise adds u to the model with its posterior mean as its loss (the
// kriging believer: D. Ginsbourger, R. Le Riche, L. Carraro, "Kriging is
// well-suited to parallelize optimization", 2010), the incumbent included:
// the next suggestions of a batch move away from it.
func (m *model) fantasise(u []float64) {
	ks := make([]float64, 2*len(m.gp.x))
	mu, _ := m.gp.predict(u, ks, nil, nil)
	m.best = min(m.best, mu)
	m.fantasised = true
	if len(m.gp.x) == m.gp.cap || !m.gp.add(u, mu) {
		return // a point on top of another: nothing to learn
	}
	m.gp.solve()
}

// Candidates for the acquisition's optimum: a scrambled Sobol set over
// the cube, and points around the best observed ones (at two scales); then
// L-BFGS from the best few of each kind.
const (
	sobolCandidates = 512
	localCandidates = 16 // around each of the best few points
	localCentres    = 4
	globalStarts    = 4
	localStarts     = 2
	lbfgsEvals      = 20
)

type candidate struct {
	u []float64 // snapped
	a float64
}

func byValue(x, y candidate) int { return cmp.Compare(x.a, y.a) }

// next returns the point that optimises the acquisition and is not taken.
func (a *BayesOpt) next(ctx context.Context, st *study, m *model) []float64 {
	xi := a.xi / st.sd
	if m.fantasised {
		xi = max(xi, batchMargin)
	}
	var acq acquisition
	switch a.acq {
	case "LCB":
		acq = lcb(a.kappa)
	case "PI":
		acq = pi(m.best, xi)
	default:
		acq = ei(m.best, xi)
	}
	g := m.gp
	d := st.d
	value := func(u, ks []float64) float64 {
		mu, v := g.predict(u, ks, nil, nil)
		val, _, _ := acq(mu, math.Sqrt(math.Max(v, 1e-12)))
		return val
	}
	var global, local []candidate
	seq, _ := search.NewSobolSequence(d, true, st.rng.Uint64())
	for i := range uint64(sobolCandidates) {
		u := make([]float64, d)
		seq.Point(i, u)
		st.snapTo(u, u)
		global = append(global, candidate{u: u})
	}
	order := make([]int, len(st.x))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return cmp.Compare(st.y[i], st.y[j]) })
	for _, i := range order[:min(localCentres, len(order))] {
		for k := range localCandidates {
			sd := 0.1
			if k%2 == 1 {
				sd = 0.01
			}
			u := make([]float64, d)
			for c := range u {
				u[c] = st.x[i][c] + sd*st.rng.NormFloat64()
			}
			st.snapTo(u, u)
			local = append(local, candidate{u: u})
		}
	}
	score := func(cs []candidate) {
		parallel(len(cs), func(lo, hi int) {
			ks := make([]float64, 2*g.cap)
			for i := lo; i < hi; i++ {
				cs[i].a = value(cs[i].u, ks)
			}
		})
	}
	score(global)
	score(local)
	slices.SortStableFunc(global, byValue)
	slices.SortStableFunc(local, byValue)
	cands := append(append([]candidate(nil), global...), local...)

	if a.optimizer != "sampling" && ctx.Err() == nil {
		// The starts: the best few untaken candidates of each kind.
		var starts []candidate
		pick := func(from []candidate, n int) {
			for i := 0; i < len(from) && n > 0; i++ {
				if !st.taken[st.space.Key(st.space.FromUnit(from[i].u))] {
					starts = append(starts, from[i])
					n--
				}
			}
		}
		pick(global, globalStarts)
		pick(local, localStarts)
		parallel(len(starts), func(lo, hi int) {
			ks := make([]float64, 2*g.cap)
			dmu, dvar := make([]float64, d), make([]float64, d)
			us := make([]float64, d)
			f := func(z, grad []float64) float64 {
				st.snapTo(us, z)
				mu, v := g.predict(us, ks, dmu, dvar)
				v = math.Max(v, 1e-12)
				sigma := math.Sqrt(v)
				val, dam, das := acq(mu, sigma)
				for k := range grad {
					grad[k] = 0
					if st.cont[k] {
						grad[k] = dam*dmu[k] + das*dvar[k]/(2*sigma)
					}
					// a pull back into the cube
					if t := z[k] - min(max(z[k], 0), 1); t != 0 {
						val += 1e3 * t * t
						grad[k] += 2e3 * t
					}
				}
				return val
			}
			for i := lo; i < hi; i++ {
				z, _ := minimize(f, starts[i].u, lbfgsEvals, 1e-6)
				u := st.snap(z)
				starts[i] = candidate{u: u, a: value(u, ks)}
			}
		})
		cands = append(cands, starts...)
	}
	slices.SortStableFunc(cands, byValue)
	for _, c := range cands {
		if !st.taken[st.space.Key(st.space.FromUnit(c.u))] {
			return c.u
		}
	}
	return st.leftover()
}
