// Package tune implements the hyperparameter-tuning magics of the Go
// kernel:
//
//	%%tune [flags] [-- COMMAND ARGS...]   tune the cell's training script: one job per trial
//	%tune list                            the studies, as a table
//	%tune show|watch|stop|resume|delete NAME
//
// %%tune makes a study (tuning.Spec) from its flags: the objective metric
// and direction, the search space (--param NAME=TYPE:SPEC, as
// tuning.ParseParam reads it), the algorithm (Katib's names) and its
// settings, early stopping, and the counts; the trial template is a
// training job that writes the cell to train.py and runs
// `python3 train.py --NAME=VALUE ...` with the trial's values (or COMMAND
// ARGS with ${trialParameters.NAME} in them; the cell may use them too).
// The study runs in the session's tuning backend (tuningclient.Default:
// the control plane of `ferry lab`, whose runner outlives the kernel), and
// the cell shows a live dashboard (widgets.Dashboard): the trials table,
// the best value so far and parallel coordinates of the parameters, with
// Stop and Resume buttons. Interrupting the cell stops watching, not the
// study: %tune stop NAME stops it.
//
// Go objectives are tuned in a Go cell with tuningclient.Open and
// Study.Optimize; the kernel shows the same dashboard for them (NewSink).
package tune
