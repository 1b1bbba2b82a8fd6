package bayesopt

import "math"

// The acquisition functions, as values to minimise in standardised units:
// minus the log of expected improvement or of the probability of
// improvement (logs keep them informative far from the incumbent, where
// they underflow), or the lower confidence bound μ - κσ.

const (
	invSqrt2Pi = 0.3989422804014327
	logSqrt2Pi = 0.9189385332046728
)

// millsRatio returns (1-Φ(t))/φ(t) for t ≥ 5 by its continued fraction.
func millsRatio(t float64) float64 {
	r := 0.0
	for k := 40; k >= 1; k-- {
		r = float64(k) / (t + r)
	}
	return 1 / (t + r)
}

// logH returns log h(z), h(z) = zΦ(z) + φ(z) (the expected improvement of
// a standard normal over -z), and Φ(z)/h(z), the derivative of log h.
func logH(z float64) (lh, dlh float64) {
	if z > -5 {
		cdf := 0.5 * math.Erfc(-z/math.Sqrt2)
		pdf := invSqrt2Pi * math.Exp(-0.5*z*z)
		h := z*cdf + pdf
		return math.Log(h), cdf / h
	}
	t := -z
	r := millsRatio(t) // Φ(z) = φ(z) r
	q := 1 - t*r       // h(z) = φ(z) q
	return -0.5*z*z - logSqrt2Pi + math.Log(q), r / q
}

// logPhi returns log Φ(z) and φ(z)/Φ(z).
func logPhi(z float64) (lp, dlp float64) {
	if z > -5 {
		cdf := 0.5 * math.Erfc(-z/math.Sqrt2)
		return math.Log(cdf), invSqrt2Pi * math.Exp(-0.5*z*z) / cdf
	}
	r := millsRatio(-z)
	return -0.5*z*z - logSqrt2Pi + math.Log(r), 1 / r
}

// acquisition is an acquisition function of the posterior mean and
// variance: it returns the value to minimise and its derivatives with
// respect to μ and σ.
type acquisition func(mu, sigma float64) (a, dmu, dsigma float64)

// ei is minus the log expected improvement over best by at least xi.
func ei(best, xi float64) acquisition {
	return func(mu, sigma float64) (float64, float64, float64) {
		z := (best - mu - xi) / sigma
		lh, dlh := logH(z)
		// log EI = log σ + log h(z); dz/dμ = -1/σ, dz/dσ = -z/σ.
		return -(math.Log(sigma) + lh), dlh / sigma, -(1/sigma - dlh*z/sigma)
	}
}

// pi is minus the log probability of improving on best by at least xi.
func pi(best, xi float64) acquisition {
	return func(mu, sigma float64) (float64, float64, float64) {
		z := (best - mu - xi) / sigma
		lp, dlp := logPhi(z)
		return -lp, dlp / sigma, dlp * z / sigma
	}
}

// lcb is the lower confidence bound μ - κσ.
func lcb(kappa float64) acquisition {
	return func(mu, sigma float64) (float64, float64, float64) {
		return mu - kappa*sigma, 1, -kappa
	}
}
