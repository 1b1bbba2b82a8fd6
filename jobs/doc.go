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
// give pods; jobs/kube creates the operators' custom resources. The control
// plane in notebookd owns a Backend, so jobs outlive the kernels that
// submitted them.
//
// Errors are *ferry.Error values with a Code (Invalid, NotFound,
// AlreadyExists, Unavailable), which the control-plane API maps to HTTP
// statuses.
package jobs
