// Package tuning holds the contracts of Ferry's hyperparameter tuning: the
// search space, the study (Katib's Experiment) and its trials, the
// Suggester interface every search algorithm implements, and the
// EarlyStopper interface of early-stopping rules.
//
// The model is Katib v1beta1 (kubeflow.org/v1beta1 Experiment, Suggestion,
// Trial; the Suggestion and EarlyStopping gRPC services of
// shared/specs/katib-v0.19.0-api.proto):
//
//   - A Param is a Katib ParameterSpec: a name, a type (double, int,
//     discrete, categorical) and a feasible space (min, max and step for
//     numbers, a list for the others, and a distribution: uniform,
//     logUniform, normal, logNormal). Space.Validate applies Katib's
//     validation rules and names the fix.
//   - A Point is one value of every parameter of a space, as numbers: the
//     value itself for double, int and discrete parameters, the index into
//     the list for categorical ones. Space.Assignments turns it into
//     Katib's parameter assignments (name = string value) and
//     Space.ParseAssignments back.
//   - Algorithms see the unit cube: Space.ToUnit and Space.FromUnit map a
//     point to [0,1]^d and back, through the log of a log-scaled
//     parameter, rounding ints to their step and categories to an index,
//     so that an algorithm that works on the cube handles every type.
//   - A Suggester proposes points from the history of a study
//     (Observations: the point, its state and its loss). Suggesters are
//     functions of that history and of a seed, like Katib's suggestion
//     services, which are sent the whole experiment on every call: the
//     runner keeps no algorithm state of its own, so a study restarted
//     from its stored trials asks for the same next trials.
//   - Losses are minimised: Observation.Loss is the objective metric for a
//     study that minimises, its negation for one that maximises.
//
// Algorithms live in subpackages, one family each (tuning/search: random,
// grid, Sobol; tuning/bayesopt; tuning/tpe; tuning/cmaes;
// tuning/hyperband), early stopping in tuning/earlystop, and
// tuning/algorithms names them all, as Katib's algorithm names, and
// validates their settings.
package tuning
