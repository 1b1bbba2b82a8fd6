package tpe

import "math"

const logSqrt2Pi = 0.9189385332046727 // log(sqrt(2 pi))

// logNdtr returns log Phi(x), the log of the standard normal CDF, accurate
// far into the lower tail.
func logNdtr(x float64) float64 {
	switch {
	case x > 5:
		return math.Log1p(-0.5 * math.Erfc(x/math.Sqrt2))
	case x > -20:
		return math.Log(0.5 * math.Erfc(-x/math.Sqrt2))
	}
	// Asymptotic series of the Mills ratio.
	x2 := x * x
	return -0.5*x2 - math.Log(-x) - logSqrt2Pi + math.Log(1-1/x2+3/(x2*x2)-15/(x2*x2*x2))
}

// logGaussMass returns log(Phi(b) - Phi(a)) for a <= b.
func logGaussMass(a, b float64) float64 {
	if a >= b {
		return math.Inf(-1)
	}
	switch {
	case b <= 0:
		lb := logNdtr(b)
		return lb + math.Log1p(-math.Exp(logNdtr(a)-lb))
	case a >= 0:
		la := logNdtr(-a)
		return la + math.Log1p(-math.Exp(logNdtr(-b)-la))
	}
	return math.Log1p(-0.5*math.Erfc(-a/math.Sqrt2) - 0.5*math.Erfc(b/math.Sqrt2))
}

// truncNormLogPDF returns the log density at x of a normal (mu, sigma)
// truncated to [lo, hi].
func truncNormLogPDF(x, mu, sigma, lo, hi float64) float64 {
	z := (x - mu) / sigma
	return -0.5*z*z - logSqrt2Pi - math.Log(sigma) - logGaussMass((lo-mu)/sigma, (hi-mu)/sigma)
}

// truncNormSample maps u in [0, 1) to a draw of a normal (mu, sigma)
// truncated to [lo, hi] (by the inverse CDF).
func truncNormSample(u, mu, sigma, lo, hi float64) float64 {
	a, b := (lo-mu)/sigma, (hi-mu)/sigma
	phi := func(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
	var z float64
	if a >= 0 {
		// Both bounds in the upper tail: sample the mirror image.
		pa, pb := phi(-b), phi(-a)
		z = -(-math.Sqrt2 * math.Erfcinv(2*(pa+u*(pb-pa))))
	} else {
		pa, pb := phi(a), phi(b)
		z = -math.Sqrt2 * math.Erfcinv(2*(pa+u*(pb-pa)))
	}
	if math.IsNaN(z) {
		z = 0
	}
	return math.Min(math.Max(mu+sigma*z, lo), hi)
}
