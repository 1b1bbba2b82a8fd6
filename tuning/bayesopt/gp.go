package bayesopt

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/floats"
)

// sqrt5 appears throughout the Matérn-5/2 kernel.
var sqrt5 = math.Sqrt(5)

// hyper are a GP's hyperparameters, as logs: the length scales (one per
// dimension), the signal variance and the noise variance.
type hyper struct {
	logLen    []float64
	logSignal float64
	logNoise  float64
}

// Bounds of the hyperparameters (the inputs are in the unit cube and the
// targets standardised): the optimiser works on an unbounded variable
// mapped into [lo, hi] by a logistic function.
const (
	minLogLen, maxLogLen       = -4.6, 2.3  // 0.01 .. 10
	minLogSignal, maxLogSignal = -3.0, 3.0  // 0.05 .. 20
	minLogNoise, maxLogNoise   = -23.0, 0.0 // 1e-10 .. 1
	jitter                     = 1e-9
)

// matern52 returns k(r)/s² and, for the gradients, (5/3)(1+√5r)e^{-√5r}
// (the derivative of k/s² with respect to r², times -2).
func matern52(r2 float64) (k, dk float64) {
	r := math.Sqrt(r2)
	e := math.Exp(-sqrt5 * r)
	return (1 + sqrt5*r + 5.0/3*r2) * e, 5.0 / 3 * (1 + sqrt5*r) * e
}

// gp is a Gaussian process posterior: a Cholesky factor of the kernel
// matrix of its points (row-major, lower, with room for more points) and
// the weights alpha = K⁻¹y.
type gp struct {
	d      int
	h      hyper
	invLen []float64 // 1/ℓ² per dimension
	signal float64
	noise  float64
	x      [][]float64
	y      []float64
	l      []float64 // stride cap
	cap    int
	alpha  []float64
}

// newGP returns the posterior of (x, y) under h, with room for cap points,
// or false if the kernel matrix is not positive definite.
func newGP(h hyper, x [][]float64, y []float64, cap int) (*gp, bool) {
	d := len(h.logLen)
	g := &gp{d: d, h: h, invLen: make([]float64, d), signal: math.Exp(h.logSignal), noise: math.Exp(h.logNoise) + jitter, cap: max(cap, len(x))}
	for k, ll := range h.logLen {
		g.invLen[k] = math.Exp(-2 * ll)
	}
	g.l = make([]float64, g.cap*g.cap)
	for i := range x {
		if !g.add(x[i], y[i]) {
			return nil, false
		}
	}
	g.solve()
	return g, true
}

// kern returns k(a, b).
func (g *gp) kern(a, b []float64) float64 {
	var r2 float64
	for k, il := range g.invLen {
		t := a[k] - b[k]
		r2 += t * t * il
	}
	k, _ := matern52(r2)
	return g.signal * k
}

// add appends a point to the factor (without updating alpha).
func (g *gp) add(x []float64, y float64) bool {
	n := len(g.x)
	if n == g.cap {
		return false
	}
	row := g.l[n*g.cap : n*g.cap+n+1]
	for j := range n {
		row[j] = g.kern(x, g.x[j])
	}
	for j := range n {
		lj := g.l[j*g.cap : j*g.cap+j+1]
		row[j] = (row[j] - floats.Dot(lj[:j], row[:j])) / lj[j]
	}
	dd := g.signal + g.noise - floats.Dot(row[:n], row[:n])
	if !(dd > 0) {
		return false
	}
	row[n] = math.Sqrt(dd)
	g.x = append(g.x, x)
	g.y = append(g.y, y)
	return true
}

// solve computes alpha = K⁻¹y.
func (g *gp) solve() {
	g.alpha = append(g.alpha[:0], g.y...)
	g.forward(g.alpha)
	g.backward(g.alpha)
}

// forward solves L v = b in place.
func (g *gp) forward(b []float64) {
	for i := range b {
		li := g.l[i*g.cap : i*g.cap+i+1]
		b[i] = (b[i] - floats.Dot(li[:i], b[:i])) / li[i]
	}
}

// backward solves Lᵀ w = b in place.
func (g *gp) backward(b []float64) {
	for i := len(b) - 1; i >= 0; i-- {
		li := g.l[i*g.cap : i*g.cap+i+1]
		b[i] /= li[i]
		if i > 0 {
			floats.AddScaled(b[:i], -b[i], li[:i])
		}
	}
}

// predict returns the posterior mean and variance at x, and with dmu and
// dvar not nil their gradients with respect to x. ks is scratch of length
// 2n at least. It may run concurrently with itself.
func (g *gp) predict(x []float64, ks, dmu, dvar []float64) (mu, v float64) {
	n := len(g.x)
	var dks []float64
	if dmu != nil {
		dks = ks[n : 2*n] // (5/3)(1+√5r)e^{-√5r}·s² per point
	}
	ks = ks[:n]
	for i, xi := range g.x {
		var r2 float64
		for k, il := range g.invLen {
			t := x[k] - xi[k]
			r2 += t * t * il
		}
		k, dk := matern52(r2)
		ks[i] = g.signal * k
		if dks != nil {
			dks[i] = g.signal * dk
		}
	}
	mu = floats.Dot(ks, g.alpha)
	if dmu == nil {
		g.forward(ks)
		return mu, math.Max(g.signal+g.noise-floats.Dot(ks, ks), 1e-12) - g.noise
	}
	g.forward(ks)
	v = math.Max(g.signal+g.noise-floats.Dot(ks, ks), 1e-12) - g.noise
	g.backward(ks) // ks = K⁻¹k*
	for k := range dmu {
		dmu[k], dvar[k] = 0, 0
	}
	// dk*_i/dx_k = -dks_i (x_k - X_ik)/ℓ_k²
	for i, xi := range g.x {
		a, w := dks[i]*g.alpha[i], dks[i]*ks[i]
		for k, il := range g.invLen {
			t := (x[k] - xi[k]) * il
			dmu[k] -= a * t
			dvar[k] += 2 * w * t // dvar = -2 wᵀ dk*
		}
	}
	return mu, v
}

// The prior on each log length scale: normal around log 0.5 with standard
// deviation 1.5, weak enough for data to override, but a guard against
// degenerate fits with few points.
const priorLogLenMean, priorLogLenSD = -0.7, 1.5

// fitter computes the log marginal likelihood of a data set and its
// gradient with respect to the hyperparameters.
type fitter struct {
	n, d int
	dist [][]float64 // per dimension, squared differences of the pairs i>j (packed)
	y    []float64
	k    []float64 // n×n kernel matrix, then its Cholesky factor
	m    []float64 // n×n: (L⁻¹)ᵀ, then K⁻¹
	r2   []float64 // packed scaled squared distances
	kf   []float64 // packed signal kernel values / s²
	dk   []float64 // packed dk values
	a    []float64
}

func newFitter(x [][]float64, y []float64) *fitter {
	n, d := len(x), len(x[0])
	np := n * (n - 1) / 2
	f := &fitter{n: n, d: d, y: y, dist: make([][]float64, d), k: make([]float64, n*n), m: make([]float64, n*n),
		r2: make([]float64, np), kf: make([]float64, np), dk: make([]float64, np), a: make([]float64, n)}
	for k := range d {
		f.dist[k] = make([]float64, np)
	}
	p := 0
	for i := 1; i < n; i++ {
		for j := range i {
			for k := range d {
				t := x[i][k] - x[j][k]
				f.dist[k][p] = t * t
			}
			p++
		}
	}
	return f
}

// logistic maps an unbounded z into [lo, hi]; dlogistic is its derivative.
func logistic(z, lo, hi float64) (v, dv float64) {
	s := 1 / (1 + math.Exp(-z))
	return lo + (hi-lo)*s, (hi - lo) * s * (1 - s)
}

func logit(v, lo, hi float64) float64 {
	s := (v - lo) / (hi - lo)
	s = math.Min(math.Max(s, 1e-6), 1-1e-6)
	return math.Log(s / (1 - s))
}

// params maps the optimiser's variables to hyperparameters.
func (f *fitter) params(z []float64) (h hyper, dh []float64) {
	h.logLen = make([]float64, f.d)
	dh = make([]float64, f.d+2)
	for k := range f.d {
		h.logLen[k], dh[k] = logistic(z[k], minLogLen, maxLogLen)
	}
	h.logSignal, dh[f.d] = logistic(z[f.d], minLogSignal, maxLogSignal)
	h.logNoise, dh[f.d+1] = logistic(z[f.d+1], minLogNoise, maxLogNoise)
	return h, dh
}

func (f *fitter) unparams(h hyper) []float64 {
	z := make([]float64, f.d+2)
	for k := range f.d {
		z[k] = logit(h.logLen[k], minLogLen, maxLogLen)
	}
	z[f.d] = logit(h.logSignal, minLogSignal, maxLogSignal)
	z[f.d+1] = logit(h.logNoise, minLogNoise, maxLogNoise)
	return z
}

// negLogPosterior returns minus the log marginal likelihood plus the
// length scales' prior at z, and its gradient in grad (if not nil); +Inf
// where the kernel matrix is not positive definite.
func (f *fitter) negLogPosterior(z, grad []float64) float64 {
	n, d := f.n, f.d
	h, dh := f.params(z)
	s2 := math.Exp(h.logSignal)
	noise := math.Exp(h.logNoise) + jitter
	il := make([]float64, d)
	for k := range d {
		il[k] = math.Exp(-2 * h.logLen[k])
	}
	clear(f.r2)
	for k := range d {
		floats.AddScaled(f.r2, il[k], f.dist[k])
	}
	for p, r2 := range f.r2 {
		f.kf[p], f.dk[p] = matern52(r2)
	}
	// Kernel matrix (lower triangle) and its Cholesky factor, in place.
	K := f.k
	p := 0
	for i := range n {
		row := K[i*n : i*n+i+1]
		for j := range i {
			row[j] = s2 * f.kf[p]
			p++
		}
		row[i] = s2 + noise
	}
	logDet := 0.0
	for i := range n {
		li := K[i*n : i*n+i+1]
		for j := range i {
			lj := K[j*n : j*n+j+1]
			li[j] = (li[j] - floats.Dot(li[:j], lj[:j])) / lj[j]
		}
		dd := li[i] - floats.Dot(li[:i], li[:i])
		if !(dd > 0) {
			return math.Inf(1)
		}
		li[i] = math.Sqrt(dd)
		logDet += 2 * math.Log(li[i])
	}
	a := f.a
	copy(a, f.y)
	for i := range n {
		li := K[i*n : i*n+i+1]
		a[i] = (a[i] - floats.Dot(li[:i], a[:i])) / li[i]
	}
	fit := floats.Dot(a, a)
	for i := n - 1; i >= 0; i-- {
		li := K[i*n : i*n+i+1]
		a[i] /= li[i]
		if i > 0 {
			floats.AddScaled(a[:i], -a[i], li[:i])
		}
	}
	nlp := 0.5*fit + 0.5*logDet + 0.5*float64(n)*math.Log(2*math.Pi)
	for k := range d {
		t := (h.logLen[k] - priorLogLenMean) / priorLogLenSD
		nlp += 0.5 * t * t
	}
	if grad == nil {
		return nlp
	}
	// M = (L⁻¹)ᵀ, upper, row-major: M[j][i] = (L⁻¹)_ij.
	M := f.m
	for j := range n {
		mj := M[j*n : (j+1)*n]
		mj[j] = 1 / K[j*n+j]
		for i := j + 1; i < n; i++ {
			li := K[i*n : i*n+i]
			mj[i] = -floats.Dot(li[j:i], mj[j:i]) / K[i*n+i]
		}
	}
	// W = ααᵀ - K⁻¹, with K⁻¹_ij = Σ_{k≥max(i,j)} M[i][k] M[j][k]; the
	// gradient is ½ tr(W ∂K) = ½ Σ_ij W_ij ∂K_ij.
	gl := make([]float64, d)
	var gs, gn float64
	p = 0
	for i := range n {
		mi := M[i*n : (i+1)*n]
		for j := range i {
			w := a[i]*a[j] - floats.Dot(mi[i:], M[j*n+i:(j+1)*n])
			// pairs count twice (ij and ji), times ½
			gs += w * s2 * f.kf[p]
			c := w * s2 * f.dk[p]
			for k := range d {
				gl[k] += c * f.dist[k][p] * il[k]
			}
			p++
		}
		wii := a[i]*a[i] - floats.Dot(mi[i:], mi[i:])
		gs += 0.5 * wii * s2
		gn += 0.5 * wii * noise
	}
	// The gradient of -log p with respect to the log parameters, then
	// through the logistic maps.
	for k := range d {
		g := -gl[k] + (h.logLen[k]-priorLogLenMean)/(priorLogLenSD*priorLogLenSD)
		grad[k] = g * dh[k]
	}
	grad[d] = -gs * dh[d]
	grad[d+1] = -gn * dh[d+1]
	return nlp
}

// clone returns a fitter of the same data with scratch of its own.
func (f *fitter) clone() *fitter {
	c := *f
	np := len(f.r2)
	c.k, c.m = make([]float64, f.n*f.n), make([]float64, f.n*f.n)
	c.r2, c.kf, c.dk, c.a = make([]float64, np), make([]float64, np), make([]float64, np), make([]float64, f.n)
	return &c
}

// fit maximises the log posterior of the hyperparameters from each start
// (concurrently), within maxEvals evaluations each, and returns the best.
func (f *fitter) fit(starts []hyper, maxEvals int) (hyper, float64) {
	xs := make([][]float64, len(starts))
	vs := make([]float64, len(starts))
	parallel(len(starts), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := f
			if i > 0 {
				g = f.clone()
			}
			xs[i], vs[i] = minimize(g.negLogPosterior, f.unparams(starts[i]), maxEvals, 1e-4)
		}
	})
	best := 0
	for i, v := range vs {
		if v < vs[best] {
			best = i
		}
	}
	h, _ := f.params(xs[best])
	return h, vs[best]
}

// parallel calls f on [0, n) split in as many ranges as there are
// processors to use (at most 4), concurrently, and waits.
func parallel(n int, f func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), 4, n)
	if w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		wg.Go(func() { f(n*i/w, n*(i+1)/w) })
	}
	wg.Wait()
}
