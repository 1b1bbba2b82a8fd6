// Package jobs holds the contracts of Ferry's distributed training jobs: the
// job spec and status, modelled on the Kubeflow Training Operator v1
// (kubeflow.org/v1 TFJob, PyTorchJob, XGBoostJob, MPIJob, PaddleJob, MXJob,
// JAXJob), the Backend interface that runs them, and the parser that turns
// metric lines of a job's output into tracking metrics.
//
// A Spec names a Kind and the replicas of each of the kind's roles (for
// PyTorch a Master and Workers, for TensorFlow a Chief, parameter servers,
// Workers and an Evaluator, ...), the command every replica runs, its
// environment, working files, resources and a RunPolicy. Spec.Validate
// refuses a spec that no backend could run, with an error that names the
// field and the fix; backends call it before they submit anything.
//
// Backends live in one subpackage per technology: jobs/local runs each
// replica as a local process with the environment contract the operators
// give pods; jobs/kube creates the operators' custom resources. The
// control plane owns a Backend, so jobs outlive the kernels that submitted
// them: `ferry lab` (cmd/ferry) opens the backend its flags choose and
// serves it through jobs/jobsapi, registered with the control plane
// (package controlplane) that notebookd mounts behind its authentication.
// jobs/jobsclient is the client side that the magics and the CLI share:
// the process's session (that API, or a local backend), the monitor loop
// and the tables.
//
// Errors are *ferry.Error values with a Code (Invalid, NotFound,
// AlreadyExists, Unavailable), which the control-plane API maps to HTTP
// statuses.
package jobs
