package bayesopt

import (
	"math"

	"gonum.org/v1/gonum/floats"
)

// minimize minimises f (which returns its value and writes its gradient
// into g) from x0 by L-BFGS (J. Nocedal, "Updating quasi-Newton matrices
// with limited storage", Math. Comp. 35, 1980) with a backtracking Armijo
// line search, within maxEvals evaluations of f. It returns the best point
// found and its value.
//
// (gonum's optimize.LBFGS would do, but the optimize package pulls in a
// module of its own through its linear-programming subpackage, and a
// small loop with no allocation per step suits the few-millisecond budget
// of a suggestion.)
func minimize(f func(x, g []float64) float64, x0 []float64, maxEvals int, gtol float64) ([]float64, float64) {
	const m = 6
	n := len(x0)
	x := append([]float64(nil), x0...)
	g := make([]float64, n)
	fx := f(x, g)
	evals := 1
	if math.IsInf(fx, 0) || math.IsNaN(fx) {
		return x, fx
	}
	s := make([][]float64, 0, m)
	y := make([][]float64, 0, m)
	rho := make([]float64, 0, m)
	alpha := make([]float64, m)
	d := make([]float64, n)
	xn := make([]float64, n)
	gn := make([]float64, n)
	for evals < maxEvals {
		if floats.Norm(g, math.Inf(1)) < gtol {
			break
		}
		// Two-loop recursion: d = -H g.
		copy(d, g)
		for i := len(s) - 1; i >= 0; i-- {
			alpha[i] = rho[i] * floats.Dot(s[i], d)
			floats.AddScaled(d, -alpha[i], y[i])
		}
		if k := len(s) - 1; k >= 0 {
			floats.Scale(floats.Dot(s[k], y[k])/floats.Dot(y[k], y[k]), d)
		} else {
			floats.Scale(1/math.Max(floats.Norm(g, 2), 1e-12), d) // first step: unit length
		}
		for i := range s {
			b := rho[i] * floats.Dot(y[i], d)
			floats.AddScaled(d, alpha[i]-b, s[i])
		}
		floats.Scale(-1, d)
		slope := floats.Dot(d, g)
		if slope >= 0 { // not a descent direction: restart from steepest descent
			s, y, rho = s[:0], y[:0], rho[:0]
			copy(d, g)
			floats.Scale(-1/math.Max(floats.Norm(g, 2), 1e-12), d)
			slope = floats.Dot(d, g)
		}
		step, ok := 1.0, false
		var fn float64
		for evals < maxEvals {
			floats.AddScaledTo(xn, x, step, d)
			fn = f(xn, gn)
			evals++
			if fn <= fx+1e-4*step*slope {
				ok = true
				break
			}
			step *= 0.3
			if step < 1e-10 {
				break
			}
		}
		if !ok {
			break
		}
		// Curvature pair.
		var si, yi []float64
		if len(s) == m {
			si, yi = s[0], y[0]
			s, y, rho = s[1:], y[1:], rho[1:]
		} else {
			si, yi = make([]float64, n), make([]float64, n)
		}
		floats.SubTo(si, xn, x)
		floats.SubTo(yi, gn, g)
		if sy := floats.Dot(si, yi); sy > 1e-12 {
			s, y, rho = append(s, si), append(y, yi), append(rho, 1/sy)
		}
		improved := fx - fn
		copy(x, xn)
		copy(g, gn)
		fx = fn
		if improved <= 1e-9*(1+math.Abs(fx)) {
			break
		}
	}
	return x, fx
}
