// Package train implements the training-job magics of the Go kernel:
//
//	%%train [flags] [-- COMMAND ARGS...]   submit the cell as a training script and monitor the job
//	%jobs [--kind K] [--status S]          list jobs as a table
//	%job show|logs|cancel|delete NAME      one job
//
// %%train writes the cell's text to train.py in the job's working directory
// and runs it (by default with /usr/bin/python3, Debian's interpreter with
// python3-torch and python3-xgboost) as a job of the chosen kind with the
// replicas its flags ask for: `%%train --kind pytorch --workers 2` is a
// PyTorchJob with a Master and one Worker, each a process given the
// operator's environment (MASTER_ADDR, WORLD_SIZE, RANK, ...). While the job
// runs the cell shows a live monitor (widgets.JobMonitor: status, replica
// states, the primary replica's log tail and a chart of the metrics it
// prints, as `loss=0.25` or JSON lines); when it ends the cell's result is a
// summary: status, duration, final metrics and the tracking run, which holds
// the metric histories (%runs lists it). Interrupting the cell stops the
// monitor, not the job: `%job cancel NAME` stops it.
//
// The magics parse their flags, build the job spec and show what
// jobs/jobsclient returns: they use the process's jobs session
// (jobsclient.Default): the control plane of `ferry lab` when the kernel
// runs under it ($FERRY_API_URL), whose backend supervises the jobs;
// otherwise a local backend in the kernel process over the data directory's
// jobs/ (state and logs on disk, so jobs still outlive the kernel and the
// next session re-attaches them), with the embedded tracking store. The
// monitor loop (jobsclient.Monitor) writes to the widget, which implements
// jobsclient.Sink.
package train
