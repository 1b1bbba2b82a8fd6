// Package bayesopt is Katib v0.19's "bayesianoptimization" (Katib's
// scikit-optimize service, skopt.Optimizer with a GP): Gaussian-process
// Bayesian optimisation (C. E. Rasmussen and C. K. I. Williams, Gaussian
// Processes for Machine Learning, MIT Press 2006; D. R. Jones, M. Schonlau,
// W. J. Welch, "Efficient global optimization of expensive black-box
// functions", J. Global Optim. 13, 1998).
//
// Every call works from the history alone (nothing is kept between
// calls):
//
//   - Points are mapped to the unit cube (tuning.Space.ToUnit) and the
//     losses of the Succeeded and EarlyStopped trials standardised; Failed
//     trials (and others without a loss) are ignored.
//   - The model is a GP with an ARD Matérn-5/2 kernel, a signal variance
//     and a noise variance, fitted by maximising the log marginal
//     likelihood (with a weak log-normal prior on the length scales) by
//     L-BFGS with analytic gradients from two starts, on Cholesky
//     factors. Above 40 observations the hyperparameters are fitted on 40
//     of them (the best half and a spread of the rest); the posterior uses
//     them all.
//   - The first n_initial_points trials come from a scrambled Sobol
//     sequence (tuning/search).
//   - The acquisition (EI by default, LCB or PI, as logs where they
//     underflow; EI asks for no margin over the best loss, as Jones et
//     al.'s and BoTorch's, except while the model holds fantasised points,
//     see below) is minimised over 512 scrambled-Sobol candidates and
//     64 around the best observed points, then by L-BFGS from the best few
//     of each kind. Int, discrete and categorical values are rounded inside
//     the acquisition (transform, then evaluate), and a point already in
//     the history is never suggested.
//   - Batches and pending trials (Created, Running) use the kriging
//     believer: each is added to the posterior with its predicted mean as
//     its loss, and EI and PI then ask for an improvement of at least
//     0.05 standard deviations, so later suggestions move away from it.
//
// Categorical parameters are modelled by the position of their index in
// the cube, which imposes an order the values do not have; a study with
// many categorical parameters does better with tpe.
package bayesopt
