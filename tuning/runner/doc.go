// Package runner is Ferry's own study runner: the tuning.Backend that the
// control plane owns, so studies outlive the kernels that started them.
//
// A study whose template is a training job runs each trial as a job of a
// jobs.Backend (jobs/local on the embedded default, jobs/kube on a
// cluster): the runner asks the study's algorithm for points (at most
// ParallelTrials trials at once, MaxTrials in all), submits one job per
// trial with the trial's values in place of ${trialParameters.NAME},
// reads the objective metric from the job's tracking run as the job
// reports it (the job backends parse metric lines of its output, as
// Katib's StdOut metrics collector does; a finished job's trial is
// judged once the backend has ended the job's run, so its last metrics are
// in), applies the study's
// early-stopping rules to every report (a trial they catch is cancelled
// and marked EarlyStopped), and ends the study when MaxTrials trials have
// finished, the goal is reached, MaxFailedTrials trials failed or the
// algorithm has no more points.
//
// A study without a job template is run by its caller: Ask hands out the
// next trial, Tell records its reports and answers whether an
// early-stopping rule stops it (what an in-kernel Go objective uses).
//
// Every change is written to Options.Dir/<study>/study.json (atomically)
// before it takes effect outside: a trial is recorded before its job is
// submitted, and job names are the trials' names, so a runner opened again
// over the same directory after a crash or a restart of the lab re-attaches
// the trials' jobs (they keep running meanwhile) and submits the jobs that
// were recorded but not submitted; no trial is lost or run twice.
// Algorithms are functions of the history, so the next suggestions are
// those the first runner would have made.
//
// Each study has a tracking run, and each trial a child run of it: the
// job's run for a job trial (through jobs.LabelParentRun), a run of the
// runner's for an asked trial; trial runs hold the assignments as
// parameters and the reports as metrics, so `%runs compare` works on them.
package runner
