// Package katibgrpc serves Ferry's tuning algorithms to Katib: a Server
// implements the Suggestion and EarlyStopping gRPC services of Katib
// v0.19 (package api.v1.beta1 of pkg/apis/manager/v1beta1/api.proto, the
// shared spec katib-v0.19.0-api.proto), so a Katib installation can name
// Ferry's algorithms as custom algorithms in its katib-config (suggestion
// container on port 6789, early stopping on 6788, readiness probe
// "manager.v1beta1.Suggestion").
//
// The conversions follow Katib's own services
// (pkg/suggestion/v1beta1/internal/search_space.py and trial.py, the
// medianstop service, and the controller's suggestionclient that builds
// the requests):
//
//   - parameter specs become a tuning.Space: double and int parameters
//     read feasibleSpace min, max, step and distribution, discrete and
//     categorical ones the list only; the space is validated.
//   - trials become Observations: the state is the trial's condition (the
//     controller sends the latest; FAILED and UNKNOWN are Failed); a
//     trial that succeeded or stopped early has as loss its objective
//     metric's value, negated when the objective is MAXIMIZE. The
//     controller has already reduced each metric's log to one value by
//     the trial's metric strategy (min, max or latest; Katib's default is
//     min for a minimised objective, max for a maximised one), so the
//     value is used as sent. A missing or non-finite value makes the trial
//     MetricsUnavailable. Labels are the trial's labels; the point is
//     parsed from its parameter assignments. Trials are sorted by start
//     time, then name, so a request's answer does not depend on the order
//     Katib lists them in.
//   - current_request_number is Request.N; the seed is the random_state
//     setting (Katib's name; taken out of the settings the algorithm
//     sees), else a hash of the experiment's name.
//   - the reply holds each suggestion's assignments and labels. An
//     algorithm with fewer trials left than asked for gets OutOfRange
//     (Katib's controller refuses a reply of another length).
//   - validation problems are InvalidArgument with the message, which
//     Katib's controller shows on the Experiment.
//   - stop rules become Katib EarlyStoppingRules on the objective metric:
//     GREATER than the threshold when minimising, LESS than its negation
//     when maximising, with the rule's start step. Katib's metrics
//     collector compares the best value so far with the rule at report
//     start_step. When the request names Katib's DB manager, the curves of
//     finished trials are read from it, as medianstop does.
//   - SetTrialStatus: Katib's medianstop patches the Trial resource to
//     EarlyStopped. The server has no cluster access of its own: it calls
//     Server.OnEarlyStopped when set (katibkube.MarkEarlyStopped does what
//     medianstop does), else logs and records the trial and succeeds
//     (Katib's metrics collector exits with an error when the call fails,
//     after it has already stopped the training; the Trial then keeps the
//     condition its job gives it).
//
// Serve runs both services and the gRPC health service on a listener
// until its context ends.
package katibgrpc
