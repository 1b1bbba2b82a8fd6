// Package kube runs Ferry jobs on a Kubernetes cluster as the custom
// resources of the Kubeflow Training Operator v1 (kubeflow.org/v1):
// PyTorchJob, TFJob, XGBoostJob, MPIJob, PaddleJob, JAXJob, and MXJob where
// the cluster still serves it (operator v1.8; v1.9 removed it); or, with
// Options.API "trainer-v2", as Kubeflow Trainer v2 TrainJobs. It talks to
// the API server with client-go's dynamic client, so it needs no typed
// Kubeflow module, and it works against any operator release whose schema
// accepts the fields below.
//
// # Connecting
//
// New loads the configuration as kubectl does: Options.Kubeconfig, else the
// files in $KUBECONFIG, else ~/.kube/config, else the in-cluster service
// account of the pod it runs in (notebookd in a Kubeflow notebook pod). The
// namespace is Options.Namespace, else the kubeconfig context's (the pod's
// in a cluster), else "default". New asks the server once which
// kubeflow.org/v1 kinds it serves; Submit of another kind fails with a
// NotSupported error naming the CRD to install.
//
// # From spec to custom resource
//
// A jobs.Spec becomes one object named as the job, with one replica spec
// per role (pytorchReplicaSpecs.Master, tfReplicaSpecs.PS, ...). Each
// replica spec has the role's replicas and restart policy (Never,
// OnFailure, Always, ExitCode, as the operator's), and a pod template with
// one container named as the operator expects (pytorch, tensorflow,
// xgboost, mpi, paddle, mxnet, jax): the image, command and args, the env
// sorted by name, cpu and memory requests (memory also as the limit) and
// `gpu` as an nvidia.com/gpu limit. The run policy maps to runPolicy
// (backoffLimit, activeDeadlineSeconds, ttlSecondsAfterFinished,
// cleanPodPolicy); NprocPerNode to a PyTorchJob's nprocPerNode,
// SlotsPerWorker to an MPIJob's slotsPerWorker; an MXJob gets jobMode
// MXTrain. An MPI Launcher runs the command under `mpirun -np
// WORKERS*SLOTS` (unless it starts with mpirun); MPI Workers without a
// command of their own get the operator's, which keeps them up for mpirun.
//
// Spec.Files go into a ConfigMap NAME-files owned by the job and mounted in
// every replica at Spec.WorkingDir, or at /ferry/work (then the working
// directory). Options.S3 goes into a Secret (ferry-s3-credentials), created
// or updated on Submit, that every container reads with envFrom:
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL,
// AWS_SESSION_TOKEN, AWS_REGION. Spec.Labels that are valid Kubernetes
// labels become the object's labels (kubectl get pytorchjobs -l ...); the
// whole spec is kept in the annotation ferryml.github.io/spec, so Get
// returns it as submitted. Objects Ferry did not create are read back from
// their replica specs as far as they map.
//
// Object returns the same object without submitting it, for embedding a
// job in another resource (the trial template of a Katib Experiment,
// tuning/katib): its files are mounted from a ConfigMap the caller
// creates with FilesData.
//
// # Validation
//
// Submit refuses an invalid spec before any request: jobs.Spec.Validate
// (replica roles of the kind, which the operator's schema does not check,
// replica counts, quantities, restart policies, command), plus an image,
// quantities as the API server parses them, names short enough for the
// pods and services the operator derives (NAME-ROLE-INDEX, at most 63
// characters), environment variable names and the size of the files. The
// object is created with fieldValidation=Strict, so a field the schema does
// not know is an error, not silently dropped.
//
// # Status, Watch, logs
//
// The status comes from the object's .status (conditions Created, Running,
// Restarting, Succeeded, Failed with the operator's reasons,
// replicaStatuses, startTime, completionTime) and the state of each replica
// from its pod. Until the operator has seen a job, its status has no
// condition. Watch runs shared informers (one list and one watch per kind,
// and one for the pods labelled training.kubeflow.org/job-name): it never
// polls nor reads objects one by one. List is one paged request per kind.
//
// Logs reads a replica's pod, found by the operator's labels
// training.kubeflow.org/job-name, replica-type and replica-index, through
// the API server; with Follow it first waits (with a watch) for the pod to
// exist and start.
//
// # Cancel and Delete
//
// Cancel marks the object (annotation ferryml.github.io/cancelled) and
// deletes it with Options.Propagation: Background (the default) removes it
// at once and leaves its pods to the garbage collector; Foreground keeps it,
// with a deletionTimestamp, until its pods are gone. A cancelled job reads
// Failed with reason JobCancelled while it is being deleted and in the
// Deleted event of Watch; afterwards Get reports NotFound. Delete deletes
// the object the same way, and the ConfigMap of its files.
//
// # Tracking runs and metrics
//
// With Options.Tracker every job is one tracking run, as with the local
// backend: Submit creates the run (in Spec.Experiment, tagged
// ferry.job.name, ferry.job.uid, ferry.job.kind, ferry.job.backend and the
// spec's labels, with the job's shape as parameters) and keeps its id in
// the annotation ferryml.github.io/run-id, so Job.RunID and any later
// backend find it. From New until Close the backend's informers drive the
// runs: while a job runs, its primary replica's log (Master-0, Chief-0,
// Launcher-0 or Worker-0, Spec.PrimaryReplica) is followed through the pod
// log API, and its lines in Katib's StdOut format and its JSON lines
// (jobs.MetricParser, Spec.Metrics) are logged to the run in batches, each
// metric at the time the kubelet gives its line (timestamps=true); when
// the job ends, the log is read once more for what the follower had not
// reached and the run ends FINISHED (Succeeded), FAILED, or KILLED
// (cancelled, or deleted while it ran). Nothing polls: the job's state comes
// from the informer, the pod's start from a watch.
//
// Metrics are not counted twice when a backend restarts: every pass parses
// the log from its start with a fresh parser, so each point gets the step
// it had, and skips per metric key as many points as the run already holds
// (read from the tracking store when the job's goroutine starts). Nothing
// is written to the job's object while it runs. A run whose job was
// deleted while no backend watched stays RUNNING. Give a Tracker to one
// backend per namespace.
//
// # Kubeflow Trainer v2
//
// With Options.API "trainer-v2" the backend serves TrainJobs
// (trainer.kubeflow.org/v1alpha1) instead of the v1 kinds. A PyTorch spec
// becomes a TrainJob on the runtime Options.TrainerRuntime (default the
// ClusterTrainingRuntime torch-distributed; Options.TrainerRuntimeKind
// TrainingRuntime for one in the namespace) with one trainer for all nodes:
// the image, command, args, env (and Options.S3's Secret, key by key),
// numNodes = Masters + Workers, numProcPerNode = NprocPerNode, the
// resources as resourcesPerNode, and activeDeadlineSeconds (Trainer v2.1
// and later). Other kinds, files, a working directory, per-replica
// commands, resources or restart policies, and run policies other than the
// deadline are refused before any request. The status maps Created,
// Complete and Failed to Created, Succeeded and Failed; a TrainJob has no
// Running condition, so the job reads Running while one of its replicated
// jobs (jobsStatus, also the ReplicaStatuses by replicated job name) has
// active or ready pods. Pods are found by JobSet's labels
// (jobset.sigs.k8s.io/jobset-name, replicatedjob-name "node",
// batch.kubernetes.io/job-completion-index): node 0 is Master-0 when the
// spec has a Master, the others Worker-0, Worker-1, ....
package kube
