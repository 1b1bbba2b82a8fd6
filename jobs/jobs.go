package jobs

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is the framework of a job; it fixes the replica roles a spec may use
// and the environment each replica gets.
type Kind string

// Kinds, one per Kubeflow training operator custom resource.
const (
	PyTorch    Kind = "pytorch"    // PyTorchJob
	TensorFlow Kind = "tensorflow" // TFJob
	XGBoost    Kind = "xgboost"    // XGBoostJob
	MPI        Kind = "mpi"        // MPIJob
	Paddle     Kind = "paddle"     // PaddleJob
	MXNet      Kind = "mxnet"      // MXJob
	JAX        Kind = "jax"        // JAXJob
)

// Kinds lists every Kind in a stable order.
var Kinds = []Kind{PyTorch, TensorFlow, XGBoost, MPI, Paddle, MXNet, JAX}

// ReplicaType is the role of a group of replicas, spelled as in the
// operators' replica specs ("Master", "Worker", ...).
type ReplicaType string

// Replica types.
const (
	Master    ReplicaType = "Master"
	Worker    ReplicaType = "Worker"
	Chief     ReplicaType = "Chief"
	PS        ReplicaType = "PS"
	Evaluator ReplicaType = "Evaluator"
	Launcher  ReplicaType = "Launcher"
	Scheduler ReplicaType = "Scheduler"
	Server    ReplicaType = "Server"
)

// roleRule says how many replicas a role of a kind may have.
type roleRule struct {
	typ      ReplicaType
	required bool // the role must be present
	max      int  // 0: no limit
}

// roles lists the roles of each kind in the order their replicas rank.
var roles = map[Kind][]roleRule{
	PyTorch:    {{Master, false, 1}, {Worker, false, 0}},
	TensorFlow: {{Chief, false, 1}, {PS, false, 0}, {Worker, false, 0}, {Evaluator, false, 1}},
	XGBoost:    {{Master, true, 1}, {Worker, false, 0}},
	MPI:        {{Launcher, true, 1}, {Worker, true, 0}},
	Paddle:     {{Master, false, 1}, {Worker, false, 0}},
	MXNet:      {{Scheduler, true, 1}, {Server, true, 0}, {Worker, true, 0}},
	JAX:        {{Worker, true, 0}},
}

// Roles returns the replica types of kind in rank order (nil for an
// unknown kind).
func Roles(kind Kind) []ReplicaType {
	var out []ReplicaType
	for _, r := range roles[kind] {
		out = append(out, r.typ)
	}
	return out
}

// ParseReplicaType returns the role of kind named s, ignoring case
// ("worker", "ps"), and false when kind has no such role.
func ParseReplicaType(kind Kind, s string) (ReplicaType, bool) {
	for _, r := range roles[kind] {
		if strings.EqualFold(string(r.typ), s) {
			return r.typ, true
		}
	}
	return "", false
}

// RestartPolicy says when a replica that exited is started again.
type RestartPolicy string

// Restart policies, as in the operators' replica specs.
const (
	// RestartNever leaves a replica that exited as it is (the default).
	RestartNever RestartPolicy = "Never"
	// RestartOnFailure restarts a replica that exited with a non-zero code,
	// up to RunPolicy.BackoffLimit restarts of the job.
	RestartOnFailure RestartPolicy = "OnFailure"
	// RestartAlways restarts a replica whenever it exits with a non-zero
	// code, as OnFailure does; a replica that exits 0 has finished (a
	// training replica restarted after success would never let the job
	// succeed).
	RestartAlways RestartPolicy = "Always"
	// RestartExitCode restarts a replica only for a retryable exit code,
	// 128 and above (killed by a signal, e.g. 137 out of memory); codes 1 to
	// 127 are permanent errors that fail the job at once.
	RestartExitCode RestartPolicy = "ExitCode"
)

// CleanPodPolicy says which replicas are stopped when the job ends.
type CleanPodPolicy string

// Clean-pod policies.
const (
	// CleanRunning stops replicas still running when the job ends (the
	// default), e.g. the parameter servers of a TFJob.
	CleanRunning CleanPodPolicy = "Running"
	// CleanAll stops all replicas and, on Kubernetes, deletes their pods.
	CleanAll CleanPodPolicy = "All"
	// CleanNone leaves replicas running when the job ends; Delete stops them.
	CleanNone CleanPodPolicy = "None"
)

// Resources a replica asks for. CPU and Memory are Kubernetes quantities
// ("500m", "2", "512Mi", "4G"); empty means no request.
type Resources struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
	// GPU is the number of GPUs (nvidia.com/gpu on Kubernetes; locally the
	// devices in CUDA_VISIBLE_DEVICES).
	GPU int `json:"gpu,omitempty"`
}

// ReplicaSpec describes the replicas of one role. Fields left zero take the
// job's values.
type ReplicaSpec struct {
	// Replicas is the number of replicas of the role, at least 1.
	Replicas int `json:"replicas"`
	// Command and Args replace the job's for this role when set, e.g. a
	// parameter server that runs another program.
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Resources replace the job's for this role when set.
	Resources *Resources `json:"resources,omitempty"`
	// RestartPolicy replaces RunPolicy.RestartPolicy for this role.
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`
}

// RunPolicy holds the policies of the whole job, as the operators' runPolicy.
type RunPolicy struct {
	// RestartPolicy of every replica unless its ReplicaSpec says otherwise;
	// empty means Never.
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`
	// BackoffLimit is the number of restarts, all replicas together, after
	// which the job fails. Nil leaves it to the backend (the local backend
	// allows 6, as a Kubernetes Job does).
	BackoffLimit *int `json:"backoffLimit,omitempty"`
	// ActiveDeadlineSeconds bounds the time from the job's start; a job
	// still running then is stopped and fails with reason DeadlineExceeded.
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
	// TTLSecondsAfterFinished deletes the job (record and logs) that long
	// after it ended; nil keeps it until Delete.
	TTLSecondsAfterFinished *int64 `json:"ttlSecondsAfterFinished,omitempty"`
	// CleanPodPolicy says which replicas are stopped when the job ends;
	// empty means Running.
	CleanPodPolicy CleanPodPolicy `json:"cleanPodPolicy,omitempty"`
}

// MetricsSpec says how metrics are collected from the output of the job's
// primary replica (see Spec.PrimaryReplica), as a Katib metrics collector of
// type StdOut does.
type MetricsSpec struct {
	// Disabled turns collection off.
	Disabled bool `json:"disabled,omitempty"`
	// Names keeps only these metrics; empty keeps all.
	Names []string `json:"names,omitempty"`
	// Filters are regular expressions with two groups, the name and the
	// value, as Katib's metricsFormat; empty means DefaultMetricsFilter.
	// JSON lines are parsed either way.
	Filters []string `json:"filters,omitempty"`
}

// Spec describes a job to submit.
type Spec struct {
	// Name identifies the job in its backend: lower-case letters, digits
	// and '-', starting with a letter, at most 63 characters (a Kubernetes
	// object name that its pods' names can extend).
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Replicas maps each role to its replicas.
	Replicas map[ReplicaType]ReplicaSpec `json:"replicas"`
	// Image is the container image on Kubernetes; the local backend ignores it.
	Image string `json:"image,omitempty"`
	// Command and Args every replica runs (Command is required, here or in
	// each ReplicaSpec). For MPI, the command of each rank: the launcher
	// runs it under mpirun unless Command already starts with mpirun.
	Command []string `json:"command"`
	Args    []string `json:"args,omitempty"`
	// Env is added to every replica's environment; the backend's variables
	// (MASTER_ADDR, TF_CONFIG, ...) win over these.
	Env map[string]string `json:"env,omitempty"`
	// WorkingDir is the replicas' working directory. Locally it defaults to
	// a directory of the job's own; on Kubernetes to the image's.
	WorkingDir string `json:"workingDir,omitempty"`
	// Files are written, before any replica starts, under the working
	// directory by relative path: the notebook's training script, e.g.
	// {"train.py": cellText} with Command ["python3", "train.py"].
	Files map[string]string `json:"files,omitempty"`
	// Resources of each replica unless its ReplicaSpec says otherwise.
	Resources Resources `json:"resources,omitzero"`
	RunPolicy RunPolicy `json:"runPolicy,omitzero"`
	// SlotsPerWorker is the number of MPI ranks per Worker (default 1).
	SlotsPerWorker int `json:"slotsPerWorker,omitempty"`
	// NprocPerNode is the number of processes per PyTorch replica that the
	// replica's command starts itself (torchrun); default 1.
	NprocPerNode int `json:"nprocPerNode,omitempty"`
	// Metrics configures metric collection.
	Metrics MetricsSpec `json:"metrics,omitzero"`
	// Experiment is the name of the tracking experiment of the job's run;
	// empty means the Default experiment.
	Experiment string `json:"experiment,omitempty"`
	// Labels are free key/value labels (the notebook that submitted the
	// job, a tuning trial's id); they become tags of the tracking run.
	Labels map[string]string `json:"labels,omitempty"`
}

// ReplicaCount returns the number of replicas of role t (0 when absent).
func (s *Spec) ReplicaCount(t ReplicaType) int { return s.Replicas[t].Replicas }

// TotalReplicas returns the number of replicas of all roles.
func (s *Spec) TotalReplicas() int {
	n := 0
	for _, r := range s.Replicas {
		n += r.Replicas
	}
	return n
}

// ReplicaTypes returns the roles the spec uses, in the kind's rank order.
func (s *Spec) ReplicaTypes() []ReplicaType {
	var out []ReplicaType
	for _, t := range Roles(s.Kind) {
		if _, ok := s.Replicas[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// PrimaryReplica returns the replica whose output carries the job's
// metrics and whose end decides success: the Master of PyTorch, XGBoost and
// Paddle jobs (Worker 0 without one), the Chief of a TFJob (Worker 0 without
// one), the Launcher of an MPIJob, Worker 0 of MXNet and JAX jobs.
func (s *Spec) PrimaryReplica() (ReplicaType, int) {
	switch s.Kind {
	case MPI:
		return Launcher, 0
	case TensorFlow:
		if s.ReplicaCount(Chief) > 0 {
			return Chief, 0
		}
	case PyTorch, XGBoost, Paddle:
		if s.ReplicaCount(Master) > 0 {
			return Master, 0
		}
	}
	return Worker, 0
}

// CommandFor returns the command line of role t: the role's Command and
// Args where set, else the job's.
func (s *Spec) CommandFor(t ReplicaType) []string {
	r := s.Replicas[t]
	cmd, args := s.Command, s.Args
	if len(r.Command) > 0 {
		cmd, args = r.Command, r.Args
	} else if len(r.Args) > 0 {
		args = r.Args
	}
	return append(slices.Clone(cmd), args...)
}

// ResourcesFor returns the resources of role t.
func (s *Spec) ResourcesFor(t ReplicaType) Resources {
	if r := s.Replicas[t].Resources; r != nil {
		return *r
	}
	return s.Resources
}

// RestartPolicyFor returns the restart policy of role t (Never by default).
func (s *Spec) RestartPolicyFor(t ReplicaType) RestartPolicy {
	if p := s.Replicas[t].RestartPolicy; p != "" {
		return p
	}
	if p := s.RunPolicy.RestartPolicy; p != "" {
		return p
	}
	return RestartNever
}

// ConditionType is the type of a job condition.
type ConditionType string

// Condition types, as the operators' JobConditionType.
const (
	Created    ConditionType = "Created"
	Running    ConditionType = "Running"
	Restarting ConditionType = "Restarting"
	Succeeded  ConditionType = "Succeeded"
	Failed     ConditionType = "Failed"
)

// Condition reasons the backends set, besides the operators' own
// ("PyTorchJobRunning", ...) that a Kubernetes backend passes through.
const (
	ReasonCreated              = "JobCreated"
	ReasonRunning              = "JobRunning"
	ReasonRestarting           = "JobRestarting"
	ReasonSucceeded            = "JobSucceeded"
	ReasonFailed               = "JobFailed"
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
	// ReasonCancelled marks a job stopped by Cancel; its run is KILLED.
	ReasonCancelled = "JobCancelled"
)

// Condition is one observation of a job's state. The newest condition with
// Status true says where the job is; a job has at most one condition of
// each type.
type Condition struct {
	Type   ConditionType `json:"type"`
	Status bool          `json:"status"`
	// Reason is a CamelCase word for programs; Message is for people, and
	// for a failure it holds the failing replica's exit code and last lines.
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastUpdateTime     time.Time `json:"lastUpdateTime"`
	LastTransitionTime time.Time `json:"lastTransitionTime"`
}

// ReplicaPhase is the state of one replica.
type ReplicaPhase string

// Replica phases, as pod phases.
const (
	ReplicaPending   ReplicaPhase = "Pending"
	ReplicaRunning   ReplicaPhase = "Running"
	ReplicaSucceeded ReplicaPhase = "Succeeded"
	ReplicaFailed    ReplicaPhase = "Failed"
)

// ReplicaState is the state of one replica (one process locally, one pod on
// Kubernetes).
type ReplicaState struct {
	Type  ReplicaType  `json:"type"`
	Index int          `json:"index"`
	Phase ReplicaPhase `json:"phase"`
	// Restarts counts how often the replica was started again.
	Restarts int `json:"restarts"`
	// ExitCode is the last exit code, nil before the replica first exited.
	// A replica killed by signal N exits with 128+N.
	ExitCode *int `json:"exitCode,omitempty"`
	// Name is the process ("pid 1234") or pod name.
	Name      string    `json:"name,omitempty"`
	StartTime time.Time `json:"startTime,omitzero"`
	EndTime   time.Time `json:"endTime,omitzero"`
	// Message says why the replica is in its phase when that is not plain.
	Message string `json:"message,omitempty"`
}

// ID returns the replica's name within its job, e.g. "Worker-1".
func (r ReplicaState) ID() string { return ReplicaID(r.Type, r.Index) }

// ReplicaID returns the name of replica index of role t within a job,
// e.g. "Worker-1".
func ReplicaID(t ReplicaType, index int) string { return string(t) + "-" + strconv.Itoa(index) }

// ReplicaStatus counts the replicas of one role by state, as the operators'
// replicaStatuses.
type ReplicaStatus struct {
	Active    int `json:"active"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
}

// Status is the observed state of a job.
type Status struct {
	Conditions      []Condition                   `json:"conditions"`
	ReplicaStatuses map[ReplicaType]ReplicaStatus `json:"replicaStatuses,omitempty"`
	// Replicas holds each replica's state, in rank order.
	Replicas       []ReplicaState `json:"replicas,omitempty"`
	StartTime      time.Time      `json:"startTime,omitzero"`
	CompletionTime time.Time      `json:"completionTime,omitzero"`
}

// Condition returns the condition of type t, if the status has one.
func (s *Status) Condition(t ConditionType) (Condition, bool) {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return Condition{}, false
}

// Phase returns the type of the newest condition whose status is true, ""
// when there is none.
func (s *Status) Phase() ConditionType {
	var best Condition
	for _, c := range s.Conditions {
		if c.Status && !c.LastTransitionTime.Before(best.LastTransitionTime) {
			best = c
		}
	}
	return best.Type
}

// Finished reports whether the job has ended, Succeeded or Failed.
func (s *Status) Finished() bool {
	for _, c := range s.Conditions {
		if c.Status && (c.Type == Succeeded || c.Type == Failed) {
			return true
		}
	}
	return false
}

// SetCondition records a condition of type t with status true at now: a new
// one, or an update of the one of that type (LastTransitionTime changes only
// when its status flips). Running and Restarting exclude each other, as in
// the operators: setting one sets the other false; a terminal condition sets
// both false.
func (s *Status) SetCondition(t ConditionType, reason, message string, now time.Time) {
	for i := range s.Conditions {
		c := &s.Conditions[i]
		other := (t == Running && c.Type == Restarting) || (t == Restarting && c.Type == Running) ||
			((t == Succeeded || t == Failed) && (c.Type == Running || c.Type == Restarting))
		if other && c.Status {
			c.Status = false
			c.LastUpdateTime, c.LastTransitionTime = now, now
		}
	}
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if c.Type == t {
			if !c.Status {
				c.LastTransitionTime = now
			}
			c.Status, c.Reason, c.Message, c.LastUpdateTime = true, reason, message, now
			return
		}
	}
	s.Conditions = append(s.Conditions, Condition{Type: t, Status: true, Reason: reason, Message: message,
		LastUpdateTime: now, LastTransitionTime: now})
}

// Job is a submitted job: its spec and status and the records that link it
// to the rest of Ferry.
type Job struct {
	// UID is unique over all jobs ever submitted, also those of the same name.
	UID  string `json:"uid"`
	Spec Spec   `json:"spec"`
	// Backend is the name of the backend that runs the job ("local", "kube").
	Backend      string    `json:"backend"`
	CreationTime time.Time `json:"creationTime"`
	Status       Status    `json:"status"`
	// RunID is the id of the job's tracking run, "" without a tracking store.
	RunID string `json:"runId,omitempty"`
}

// Name returns the job's name.
func (j *Job) Name() string { return j.Spec.Name }

// EventType says what happened to a job in a watch.
type EventType string

// Event types, as in a Kubernetes watch.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
)

// Event is one change seen by Watch: the job as it is after the change (as
// it was last, for Deleted).
type Event struct {
	Type EventType `json:"type"`
	Job  Job       `json:"job"`
}

// LogOptions select the log of one replica.
type LogOptions struct {
	// Replica and Index pick the replica; an empty Replica means the job's
	// primary replica (Spec.PrimaryReplica).
	Replica ReplicaType
	Index   int
	// Follow keeps the reader open and returns new output as it is written,
	// until the replica ends (EOF) or the context is done.
	Follow bool
	// TailLines starts at the last TailLines lines; 0 means the whole log.
	TailLines int
}

// ListOptions filter List.
type ListOptions struct {
	// Kind keeps jobs of this kind only; empty keeps all.
	Kind Kind
	// Labels keeps jobs that have all these labels.
	Labels map[string]string
}

// Matches reports whether j passes the filter.
func (o ListOptions) Matches(j *Job) bool {
	if o.Kind != "" && j.Spec.Kind != o.Kind {
		return false
	}
	for k, v := range o.Labels {
		if got, ok := j.Spec.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Backend runs jobs. Its methods are safe for concurrent use. Errors carry a
// ferry.Code: Invalid for a spec that fails Validate, AlreadyExists for a
// taken name, NotFound for an unknown job.
type Backend interface {
	// Submit validates spec and starts the job. It returns once the job is
	// recorded; replicas start in the background. The local backend sets
	// condition Created before it returns; on Kubernetes the operator sets
	// it, so it may arrive later (Watch reports it).
	Submit(ctx context.Context, spec Spec) (Job, error)
	// Get returns the job named name.
	Get(ctx context.Context, name string) (Job, error)
	// List returns the jobs that match opts, oldest first.
	List(ctx context.Context, opts ListOptions) ([]Job, error)
	// Watch sends an Added event for each existing job (only the job named
	// name unless name is ""), then an event for every change until ctx is
	// done, when it closes the channel. A slow receiver misses intermediate
	// states of a job, never its latest one.
	Watch(ctx context.Context, name string) (<-chan Event, error)
	// Logs returns the output (stdout and stderr) of one replica.
	Logs(ctx context.Context, name string, opts LogOptions) (io.ReadCloser, error)
	// Cancel stops every replica of the job; the job ends Failed with
	// reason JobCancelled and its run KILLED. Cancelling a finished job does
	// nothing. On Kubernetes cancelling deletes the object (the operator's
	// way), so afterwards Get answers NotFound; Watch reports the final
	// state in its Deleted event.
	Cancel(ctx context.Context, name string) error
	// Delete cancels the job if it runs, then removes its record and logs.
	Delete(ctx context.Context, name string) error
}

// DefaultReplicas are the replicas of a job of kind with n processes, as
// %%train --workers N and %%tune --workers N make them: pytorch, xgboost:
// a Master and n-1 Workers; mpi: a Launcher and n Workers (ranks); mxnet: a
// Scheduler, a Server and n Workers; the others: n Workers.
func DefaultReplicas(kind Kind, n int) map[ReplicaType]ReplicaSpec {
	r := map[ReplicaType]ReplicaSpec{}
	switch kind {
	case PyTorch, XGBoost:
		r[Master] = ReplicaSpec{Replicas: 1}
		if n > 1 {
			r[Worker] = ReplicaSpec{Replicas: n - 1}
		}
	case MPI:
		r[Launcher] = ReplicaSpec{Replicas: 1}
		r[Worker] = ReplicaSpec{Replicas: n}
	case MXNet:
		r[Scheduler] = ReplicaSpec{Replicas: 1}
		r[Server] = ReplicaSpec{Replicas: 1}
		r[Worker] = ReplicaSpec{Replicas: n}
	default: // tensorflow, paddle, jax: collective workers
		r[Worker] = ReplicaSpec{Replicas: n}
	}
	return r
}
