// Package tuningclient is the client side of tuning that the kernel's
// magics, Go cells and the CLI share: the process's session (the control
// plane's tuning API, or a runner of its own over the local data
// directory), Study.Optimize for objectives written as Go functions in a
// cell (Optuna's ask-and-tell, each trial asked of the study and its
// reports told back, so median stop can end it early), the monitor loop
// that feeds a Sink (the notebook's widgets.StudyMonitor), and the tables
// and Vega-Lite charts of a study: its trials, the best value so far, and
// parallel coordinates of parameters against the objective.
package tuningclient
