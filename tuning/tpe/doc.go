// Package tpe implements the Tree-structured Parzen Estimator, Katib's
// "tpe" and "multivariate-tpe" algorithms.
//
// Katib v0.19 runs both on Optuna's TPESampler (with constant_liar on, and
// multivariate on for "multivariate-tpe"); this package follows Optuna
// 3.1's sampler and its defaults (Bergstra et al., "Algorithms for
// Hyper-Parameter Optimization", NeurIPS 2011; Falkner et al., "BOHB",
// ICML 2018, for the multivariate kernel bandwidth):
//
//   - the first n_startup_trials finished trials (default 10) are drawn at
//     random from the space's distributions;
//   - after that the finished trials are split by loss: the best
//     gamma(n) = min(ceil(0.1 n), 25) are "below", the rest, with the
//     pending trials as the worst (Optuna's constant liar), are "above";
//   - each group gets a Parzen estimator: a mixture of Gaussians, one per
//     trial plus a prior one (centred, as wide as the range), truncated to
//     the parameter's range, in log space for log-scaled parameters and
//     widened by half a step for int and discrete parameters (whose
//     densities are then the masses of the step's cell). Bandwidths follow
//     Optuna: the larger gap to a sorted neighbour (without the endpoints
//     for the outermost kernels), clipped to [range/min(100, 1+k), range]
//     (the "magic clip"); in multivariate mode every kernel has
//     0.2 k^(-1/(d+4)) of the range. Categorical parameters get, per
//     trial, a distribution with the trial's choice weighted up by one over
//     prior_weight/(k+1) on every choice. Older trials weigh less once a
//     group holds 25 or more (Optuna's default_weights ramp);
//   - densities are Optuna 3.1's: a continuous kernel's truncated normal
//     density lacks its 1/sigma factor (Optuna 3.2 added it; 3.1's form
//     does better on Branin and Hartmann-6);
//   - n_ei_candidates (default 24) points are drawn from the "below"
//     estimator and the one with the largest log l(x) - log g(x), the
//     expected-improvement criterion, is suggested. Univariate TPE does
//     this per parameter; multivariate TPE jointly.
//
// A batch is suggested one point at a time, each added to the history as
// pending before the next, so parallel suggestions spread. In a finite
// space no point already in the study is suggested again.
package tpe
