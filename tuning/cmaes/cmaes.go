package cmaes

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/internal/taken"
)

// The labels of CMA-ES's suggestions.
const (
	LabelRestart    = "cmaes/restart"
	LabelGeneration = "cmaes/generation"
)

// CMAES is Katib's "cmaes".
type CMAES struct {
	space   tuning.Space
	num     []int // indices of the numeric parameters
	cat     []int // indices of the categorical ones
	sigma0  float64
	ipop    bool
	seed    int64
	seeded  bool
	lambda0 int
}

var _ tuning.Suggester = (*CMAES)(nil)

// New returns CMA-ES over space, which needs at least two numeric (double,
// int or discrete) parameters. Its settings, Katib's:
//
//   - sigma: the initial step size in the unit cube (default 1/6);
//   - restart_strategy: none (default) or ipop;
//   - random_state: a seed that replaces the study's.
func New(space tuning.Space, s tuning.Settings) (*CMAES, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	r := tuning.NewReader("cmaes", s)
	c := &CMAES{space: space}
	c.sigma0 = r.Float("sigma", 1.0/6, 0, 1)
	if v, ok := s["sigma"]; ok && v != "" && c.sigma0 == 0 {
		r.Fail("sigma", "want a positive step size in the unit cube (default 1/6)")
	}
	c.ipop = r.String("restart_strategy", "none", "none", "None", "ipop") == "ipop"
	if _, ok := s["random_state"]; ok {
		c.seed = int64(r.Int("random_state", 0, 0, math.MaxInt32))
		c.seeded = true
	}
	if err := r.Finish(); err != nil {
		return nil, err
	}
	for i, p := range space {
		if p.Numeric() {
			c.num = append(c.num, i)
		} else {
			c.cat = append(c.cat, i)
		}
	}
	if len(c.num) < 2 {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: cmaes: the space has %d numeric parameters; CMA-ES needs at least two (double, int or discrete), as Katib requires: use tpe or random for fewer", len(c.num))
	}
	c.lambda0 = 4 + int(math.Floor(3*math.Log(float64(len(c.num)))))
	return c, nil
}

// Suggest rebuilds the strategy from the history and returns req.N
// candidates of its current generation.
func (c *CMAES) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	if len(req.Space) != len(c.space) {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: cmaes: the request's space has %d parameters, the algorithm's %d: build the algorithm with the study's space", len(req.Space), len(c.space))
	}
	seed := req.Seed
	if c.seeded {
		seed = c.seed
	}
	type key struct{ k, g int }
	members := map[key][]int{}
	for idx, o := range req.History {
		k, err1 := strconv.Atoi(o.Labels[LabelRestart])
		g, err2 := strconv.Atoi(o.Labels[LabelGeneration])
		if err1 == nil && err2 == nil && len(o.Point) == len(c.space) {
			members[key{k, g}] = append(members[key{k, g}], idx)
		}
	}
	k, g, lambda := 0, 0, c.lambda0
	st := newState(len(c.num), lambda, c.sigma0)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var xs [][]float64
		var ys []float64
		for _, j := range members[key{k, g}] {
			o := req.History[j]
			if !o.State.HasResult() || len(xs) == lambda {
				continue
			}
			x := make([]float64, len(c.num))
			for d, i := range c.num {
				x[d] = c.space[i].ToUnit(o.Point[i])
			}
			loss := o.Loss
			if math.IsNaN(loss) {
				loss = math.Inf(1)
			}
			xs, ys = append(xs, x), append(ys, loss)
		}
		if len(xs) < lambda {
			break
		}
		st.tell(xs, ys)
		g++
		if c.ipop && st.shouldStop() {
			k, g, lambda = k+1, 0, lambda*2
			st = newState(len(c.num), lambda, c.sigma0)
		}
	}
	used := taken.New(c.space, req.History)
	var out []tuning.Suggestion
	for j := len(members[key{k, g}]); len(out) < req.N; j++ {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(k)<<48|uint64(g)<<24|uint64(j)))
		var p tuning.Point
		for try := 0; try < 32; try++ {
			p = c.point(st.sample(rng), rng)
			if !used.Has(p) {
				break
			}
		}
		if used.Has(p) {
			var ok bool
			if p, ok = used.Random(rng); !ok {
				break
			}
		}
		used.Add(p)
		out = append(out, tuning.Suggestion{Point: p, Labels: map[string]string{
			LabelRestart: strconv.Itoa(k), LabelGeneration: strconv.Itoa(g),
		}})
	}
	return out, nil
}

func (c *CMAES) point(x []float64, rng *rand.Rand) tuning.Point {
	p := make(tuning.Point, len(c.space))
	for d, i := range c.num {
		p[i] = c.space[i].FromUnit(x[d])
	}
	for _, i := range c.cat {
		p[i] = float64(rng.IntN(len(c.space[i].Values)))
	}
	return p
}

// state is the evolution state of Hansen's tutorial.
type state struct {
	n, lambda, mu              int
	w                          []float64
	mueff, cc, cs, c1, cmu, ds float64
	chiN                       float64
	mean, pc, ps               []float64
	sigma, sigma0              float64
	C                          *mat.SymDense
	B                          *mat.Dense
	D                          []float64
	gen                        int
	funhist                    []float64 // best and worst loss of recent generations
	funhistTerm                int
}

func newState(n, lambda int, sigma0 float64) *state {
	st := &state{n: n, lambda: lambda, mu: lambda / 2, sigma: sigma0, sigma0: sigma0}
	st.w = make([]float64, st.mu)
	sum := 0.0
	for i := range st.w {
		st.w[i] = math.Log(float64(lambda+1)/2) - math.Log(float64(i+1))
		sum += st.w[i]
	}
	sq := 0.0
	for i := range st.w {
		st.w[i] /= sum
		sq += st.w[i] * st.w[i]
	}
	st.mueff = 1 / sq
	fn := float64(n)
	st.cc = (4 + st.mueff/fn) / (fn + 4 + 2*st.mueff/fn)
	st.cs = (st.mueff + 2) / (fn + st.mueff + 5)
	st.c1 = 2 / ((fn+1.3)*(fn+1.3) + st.mueff)
	st.cmu = math.Min(1-st.c1, 2*(st.mueff-2+1/st.mueff)/((fn+2)*(fn+2)+st.mueff))
	st.ds = 1 + 2*math.Max(0, math.Sqrt((st.mueff-1)/(fn+1))-1) + st.cs
	st.chiN = math.Sqrt(fn) * (1 - 1/(4*fn) + 1/(21*fn*fn))
	st.mean = make([]float64, n)
	for i := range st.mean {
		st.mean[i] = 0.5
	}
	st.pc, st.ps = make([]float64, n), make([]float64, n)
	st.C = mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		st.C.SetSym(i, i, 1)
	}
	st.funhistTerm = 10 + int(math.Ceil(30*fn/float64(lambda)))
	st.eigen()
	return st
}

func (st *state) eigen() {
	var es mat.EigenSym
	if !es.Factorize(st.C, true) {
		return
	}
	vals := es.Values(nil)
	st.D = make([]float64, st.n)
	for i, v := range vals {
		st.D[i] = math.Sqrt(math.Max(v, 1e-30))
	}
	st.B = mat.NewDense(st.n, st.n, nil)
	es.VectorsTo(st.B)
}

// sample draws a candidate in the unit cube.
func (st *state) sample(rng *rand.Rand) []float64 {
	x := make([]float64, st.n)
	for try := 0; try < 10*st.n; try++ {
		for i := range x {
			x[i] = st.mean[i]
		}
		z := make([]float64, st.n)
		for i := range z {
			z[i] = st.D[i] * rng.NormFloat64()
		}
		inside := true
		for i := range x {
			for j := range z {
				x[i] += st.sigma * st.B.At(i, j) * z[j]
			}
			inside = inside && x[i] >= 0 && x[i] <= 1
		}
		if inside {
			return x
		}
	}
	for i := range x {
		x[i] = math.Min(math.Max(x[i], 0), 1)
	}
	return x
}

// tell updates the state with a generation's candidates and losses.
func (st *state) tell(xs [][]float64, ys []float64) {
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ys[a], ys[b]) })
	st.gen++
	best, worst := ys[order[0]], ys[order[len(order)-1]]
	st.funhist = append(st.funhist, best, worst)
	if len(st.funhist) > 2*st.funhistTerm {
		st.funhist = st.funhist[2:]
	}
	n := st.n
	yw := make([]float64, n)
	ys2 := make([][]float64, st.mu)
	for r := 0; r < st.mu; r++ {
		x := xs[order[r]]
		y := make([]float64, n)
		for i := range y {
			y[i] = (x[i] - st.mean[i]) / st.sigma
			yw[i] += st.w[r] * y[i]
		}
		ys2[r] = y
	}
	for i := range st.mean {
		st.mean[i] += st.sigma * yw[i]
	}
	// C^(-1/2) yw = B D^-1 B' yw.
	bt := make([]float64, n)
	for j := 0; j < n; j++ {
		for i := 0; i < n; i++ {
			bt[j] += st.B.At(i, j) * yw[i]
		}
		bt[j] /= st.D[j]
	}
	cs := math.Sqrt(st.cs * (2 - st.cs) * st.mueff)
	norm := 0.0
	for i := 0; i < n; i++ {
		v := 0.0
		for j := 0; j < n; j++ {
			v += st.B.At(i, j) * bt[j]
		}
		st.ps[i] = (1-st.cs)*st.ps[i] + cs*v
		norm += st.ps[i] * st.ps[i]
	}
	norm = math.Sqrt(norm)
	hs := 0.0
	if norm/math.Sqrt(1-math.Pow(1-st.cs, 2*float64(st.gen))) < (1.4+2/float64(n+1))*st.chiN {
		hs = 1
	}
	cc := math.Sqrt(st.cc * (2 - st.cc) * st.mueff)
	for i := range st.pc {
		st.pc[i] = (1-st.cc)*st.pc[i] + hs*cc*yw[i]
	}
	decay := 1 - st.c1 - st.cmu + (1-hs)*st.c1*st.cc*(2-st.cc)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := decay*st.C.At(i, j) + st.c1*st.pc[i]*st.pc[j]
			for r, y := range ys2 {
				v += st.cmu * st.w[r] * y[i] * y[j]
			}
			st.C.SetSym(i, j, v)
		}
	}
	st.sigma *= math.Exp(math.Min(1, (st.cs/st.ds)*(norm/st.chiN-1)))
	st.eigen()
}

// shouldStop applies the stopping tests of the cmaes library.
func (st *state) shouldStop() bool {
	if st.gen > st.funhistTerm && slices.Max(st.funhist)-slices.Min(st.funhist) < 1e-12 {
		return true
	}
	tolx := 1e-12 * st.sigma0
	small := true
	for i := 0; i < st.n; i++ {
		small = small && st.sigma*st.C.At(i, i) < tolx && st.sigma*st.pc[i] < tolx
	}
	if small {
		return true
	}
	if st.sigma*slices.Max(st.D) > 1e4 {
		return true
	}
	for i := 0; i < st.n; i++ {
		if st.mean[i] == st.mean[i]+0.2*st.sigma*math.Sqrt(st.C.At(i, i)) {
			return true
		}
	}
	a := st.gen % st.n
	same := true
	for i := 0; i < st.n; i++ {
		same = same && st.mean[i] == st.mean[i]+0.1*st.sigma*st.D[a]*st.B.At(i, a)
	}
	if same {
		return true
	}
	return slices.Max(st.D)*slices.Max(st.D)/(slices.Min(st.D)*slices.Min(st.D)) > 1e14
}
