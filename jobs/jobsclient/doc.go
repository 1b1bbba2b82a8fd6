// Package jobsclient is the client side of Ferry's training jobs: what the
// %%train magics (magics/train) and `ferry jobs` share.
//
//   - Session, Connect and Default: the process's jobs backend, chosen by
//     the environment (controlplane): the control plane of `ferry lab`
//     through the jobs/jobsapi client, whose server supervises the jobs;
//     otherwise a local backend (jobs/local) over the data directory's
//     jobs/, with the tracking session's store.
//   - Monitor: follows a job until it ends, writing its status, progress,
//     log lines and parsed metrics to a Sink (widgets.JobMonitor in a
//     notebook; nothing for the CLI), and returns its last state and final
//     metrics.
//   - Summary, JobsTable, Describe and ListFilter: the tables the magics
//     show and the CLI prints, and the filter flags both accept.
//
// It imports no magic and no widget: the notebook's presentation stays in
// magics/train and widgets.
package jobsclient
