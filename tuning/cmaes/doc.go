// Package cmaes implements CMA-ES, Katib's "cmaes" algorithm (Katib v0.19
// runs it on Optuna's CmaEsSampler; settings random_state, sigma and
// restart_strategy none or ipop, and at least two numeric parameters).
//
// The evolution strategy is the standard (mu/mu_w, lambda)-CMA-ES of
// Hansen's tutorial ("The CMA Evolution Strategy: A Tutorial",
// arXiv:1604.00772): population lambda = 4 + floor(3 ln d), log-linear
// positive recombination weights, cumulative step-size adaptation and rank-1
// plus rank-mu covariance updates, in the unit cube of the numeric
// parameters (int and discrete ones through their cells), starting from
// its centre with sigma 1/6 (Optuna's sigma0 of a sixth of the range). A
// candidate outside the cube is redrawn up to 10 d times, then clipped.
// IPOP (Auger and Hansen, CEC 2005) restarts from the centre with twice
// the population once the strategy stops making progress (the stopping
// tests of the cmaes library Optuna uses: tolfun, tolx, tolxup, no effect
// coordinate or axis, condition number). Categorical parameters are drawn
// at random, as Optuna samples parameters outside the CMA-ES space.
//
// The algorithm keeps no state: each suggestion's Labels carry its restart
// and generation, and Suggest rebuilds the strategy by replaying the
// history generation by generation (a generation is told once lambda of
// its trials have results; later results of it are ignored, as in
// Optuna). The j-th candidate of a generation is drawn from a generator
// seeded by the seed, the restart, the generation and j, so the same
// history gives the same suggestions.
package cmaes
