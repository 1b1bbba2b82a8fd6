// Package search holds the model-free search algorithms of Katib v0.19
// (shared/specs/katib-v0.19.0-api.proto; Katib's algorithm names):
//
//   - Random ("random", Katib's hyperopt service): independent draws
//     from the space's distributions; setting random_state.
//   - Grid ("grid", Katib's chocolate service): every combination of the
//     parameters' values (a double by its step), in a fixed order; no
//     settings.
//   - Sobol ("sobol", Katib's goptuna service): the Sobol low-discrepancy
//     sequence (I. M. Sobol', USSR Comput. Math. Math. Phys. 7(4), 1967)
//     with the direction numbers of S. Joe and F. Y. Kuo, "Constructing
//     Sobol sequences with better two-dimensional projections", SIAM J.
//     Sci. Comput. 30, 2008 (new-joe-kuo-6.21201), optionally scrambled
//     by a random linear matrix scramble and digital shift (J. Matoušek,
//     "On the L2-discrepancy for anchored boxes", J. Complexity 14, 1998;
//     as scipy.stats.qmc.Sobol does); settings scramble and random_state.
//
// Every algorithm is a function of the request: its randomness comes from
// the study's seed (or random_state) and the length of the history, so the
// same request gets the same suggestions. None suggests a point that is
// already in the history.
package search
