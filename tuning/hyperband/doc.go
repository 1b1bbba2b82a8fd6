// Package hyperband implements Hyperband, Katib's "hyperband" algorithm
// (Katib v0.19's pkg/suggestion/v1beta1/hyperband/service.py; Li et al.,
// "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
// Optimization", JMLR 2018).
//
// One parameter of the space, resource_name, is the budget (epochs, steps,
// a fraction of the data); the algorithm sets it. With s_max =
// floor(log_eta(r_l)), brackets s = s_max, ..., 0 run one after the other,
// as in Katib. Bracket s starts n = ceil((s_max+1) eta^s / (s+1)) random
// configurations with resource r = r_l eta^-s (rung 0); rung i holds
// ceil(n eta^-i) of them, the best of rung i-1, run with resource
// r eta^i, up to rung s, where the resource is r_l. For eta = 3 and
// r_l = 27 that is 27 trials at 1, 9 at 3, 3 at 9 and 1 at 27; 12 at 3,
// 4 at 9, 2 at 27; 6 at 9, 2 at 27; 4 at 27. Rung sizes round up, as
// Katib's do (Li et al. round down: 12, 4, 1 in bracket 2).
//
// The algorithm keeps no state: each suggestion carries its bracket, rung
// and (for a promotion) the index in the history of the trial it
// continues in its Labels, and Suggest recovers the brackets from the
// history. A rung is promoted once every trial of the previous one has
// finished; until then Suggest returns nothing, which is not the end:
// Done tells the two apart. Failed trials are not promoted.
package hyperband
