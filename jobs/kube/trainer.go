package kube

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
)

// The APIs of Options.API.
const (
	// APIV1 is the Kubeflow Training Operator's kubeflow.org/v1 kinds.
	APIV1 = "v1"
	// APITrainerV2 is Kubeflow Trainer v2's TrainJob
	// (trainer.kubeflow.org/v1alpha1).
	APITrainerV2 = "trainer-v2"
)

// Group and Version of Kubeflow Trainer v2's TrainJob.
const (
	TrainerGroup   = "trainer.kubeflow.org"
	TrainerVersion = "v1alpha1"
)

// DefaultTrainerRuntime is the ClusterTrainingRuntime of TrainJobs when
// Options.TrainerRuntime is empty: Kubeflow Trainer's PyTorch runtime.
const DefaultTrainerRuntime = "torch-distributed"

// Labels that JobSet puts on the pods of a TrainJob, and the replicated
// job of the trainer's nodes in Kubeflow Trainer's runtimes.
const (
	LabelJobSetName        = "jobset.sigs.k8s.io/jobset-name"
	LabelReplicatedJobName = "jobset.sigs.k8s.io/replicatedjob-name"
	LabelCompletionIndex   = "batch.kubernetes.io/job-completion-index"
	TrainerNodeJob         = "node"
)

// trainJobInfo is the custom resource of the trainer-v2 API. Its jobs are
// PyTorch jobs; the trainer's container is named "node".
var trainJobInfo = kindInfo{
	kind: jobs.PyTorch, crdKind: "TrainJob", resource: "trainjobs", container: TrainerNodeJob,
	group: TrainerGroup, version: TrainerVersion,
}

// s3EnvKeys are the keys of the S3 Secret, which a TrainJob's trainer
// reads one by one (it has no envFrom).
var s3EnvKeys = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
	"AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
}

// validateTrainJob checks what a TrainJob can express: a PyTorch job whose
// nodes all run the same command with the same resources (a Master, if
// any, is node 0), without files, working directory or run policy other
// than a deadline.
func validateTrainJob(spec *jobs.Spec) error {
	if spec.Kind != jobs.PyTorch {
		return ferry.Errorf(ferry.NotSupported,
			"kube: API %s runs %s jobs only (TrainJob on a torch runtime); submit a %s job with API %s (the training operator's %s)",
			APITrainerV2, jobs.PyTorch, spec.Kind, APIV1, crdKindOf(spec.Kind))
	}
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	for _, t := range spec.ReplicaTypes() {
		r := spec.Replicas[t]
		if len(r.Command) > 0 || len(r.Args) > 0 || r.Resources != nil || r.RestartPolicy != "" {
			add("replicas[%s]: a TrainJob runs the same command with the same resources and restart policy on every node: set command, args and resources on the job, not on a replica", t)
		}
	}
	if len(spec.Files) > 0 {
		add("files: a TrainJob has no volume of Ferry's: put the script in the image or in object storage, or use API %s", APIV1)
	}
	if spec.WorkingDir != "" {
		add("workingDir: a TrainJob's trainer has no working directory: cd in the command, or use API %s", APIV1)
	}
	rp := spec.RunPolicy
	if rp.BackoffLimit != nil || rp.TTLSecondsAfterFinished != nil || rp.CleanPodPolicy != "" ||
		(rp.RestartPolicy != "" && rp.RestartPolicy != jobs.RestartNever) {
		add("runPolicy: a TrainJob takes these from its runtime; only activeDeadlineSeconds can be set (Trainer v2.1 and later)")
	}
	if len(errs) == 0 {
		return nil
	}
	return &ferry.Error{Code: ferry.Invalid, Message: "job spec: " + strings.Join(errs, "; "), Err: jobs.ErrInvalidSpec}
}

func crdKindOf(k jobs.Kind) string {
	if ki, ok := infoFor(k); ok {
		return ki.crdKind
	}
	return string(k)
}

// toTrainJob returns the TrainJob of spec: the runtime of o, and a trainer
// with the image, command, args and env, numNodes (Master plus Workers),
// numProcPerNode and the resources per node.
func toTrainJob(spec *jobs.Spec, o objectOptions) (*unstructured.Unstructured, error) {
	annotations, err := o.annotations(spec)
	if err != nil {
		return nil, err
	}
	trainer := map[string]any{
		"image":    cmp.Or(spec.Image, o.image),
		"numNodes": int64(spec.ReplicaCount(jobs.Master) + spec.ReplicaCount(jobs.Worker)),
	}
	if len(spec.Command) > 0 {
		trainer["command"] = toAny(spec.Command)
	}
	if len(spec.Args) > 0 {
		trainer["args"] = toAny(spec.Args)
	}
	var env []any
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		env = append(env, map[string]any{"name": k, "value": spec.Env[k]})
	}
	if o.s3Secret != "" {
		for _, k := range s3EnvKeys {
			if _, ok := spec.Env[k]; ok {
				continue // the spec's own wins, as over envFrom
			}
			env = append(env, map[string]any{"name": k, "valueFrom": map[string]any{
				"secretKeyRef": map[string]any{"name": o.s3Secret, "key": k, "optional": true},
			}})
		}
	}
	if len(env) > 0 {
		trainer["env"] = env
	}
	if spec.NprocPerNode > 0 {
		trainer["numProcPerNode"] = int64(spec.NprocPerNode)
	}
	if res := resourcesOf(spec.Resources); res != nil {
		trainer["resourcesPerNode"] = res
	}
	objSpec := map[string]any{
		"runtimeRef": map[string]any{"name": o.runtime, "apiGroup": TrainerGroup, "kind": o.runtimeKind},
		"trainer":    trainer,
	}
	if d := spec.RunPolicy.ActiveDeadlineSeconds; d != nil {
		objSpec["activeDeadlineSeconds"] = *d
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": TrainerGroup + "/" + TrainerVersion,
		"kind":       trainJobInfo.crdKind,
		"metadata": map[string]any{
			"name":        spec.Name,
			"namespace":   o.namespace,
			"labels":      objectLabels(spec),
			"annotations": annotations,
		},
		"spec": objSpec,
	}}, nil
}

// specFromTrainJob reads the spec of a TrainJob Ferry did not create: a
// PyTorch job of numNodes Workers (1 when unset: the runtime's).
func specFromTrainJob(u *unstructured.Unstructured) jobs.Spec {
	s := jobs.Spec{Name: u.GetName(), Kind: jobs.PyTorch}
	n, ok, _ := unstructured.NestedInt64(u.Object, "spec", "trainer", "numNodes")
	if !ok || n < 1 {
		n = 1
	}
	s.Replicas = map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: int(n)}}
	s.Image, _, _ = unstructured.NestedString(u.Object, "spec", "trainer", "image")
	s.Command, _, _ = unstructured.NestedStringSlice(u.Object, "spec", "trainer", "command")
	s.Args, _, _ = unstructured.NestedStringSlice(u.Object, "spec", "trainer", "args")
	if p, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "trainer", "numProcPerNode"); ok {
		s.NprocPerNode, _ = strconv.Atoi(fmt.Sprint(p))
	}
	if d, ok, _ := unstructured.NestedInt64(u.Object, "spec", "activeDeadlineSeconds"); ok {
		s.RunPolicy.ActiveDeadlineSeconds = &d
	}
	return s
}

// statusFromTrainJob reads a TrainJob's status. Its conditions Created
// (Trainer v2.0), Suspended, Complete and Failed become Created,
// Suspended, Succeeded and Failed; a TrainJob has no Running condition, so
// the job is Running (since its Created condition, else its creation) while
// one of its replicated jobs has active or ready pods and it has not ended.
// The replicated jobs' counts (jobsStatus) become ReplicaStatuses by the
// replicated job's name ("node", "dataset-initializer", ...). The start
// time is that of Created (or creation), the completion time that of
// Complete or Failed.
func statusFromTrainJob(st map[string]any, created time.Time) jobs.Status {
	var s jobs.Status
	conds, _, _ := unstructured.NestedSlice(st, "conditions")
	start := created
	for _, c := range conds {
		m, _ := c.(map[string]any)
		typ, _ := m["type"].(string)
		status, _ := m["status"].(string)
		reason, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		at := parseTime(m["lastTransitionTime"])
		t := jobs.ConditionType(typ)
		switch typ {
		case "Complete":
			t = jobs.Succeeded
		case "Created":
			if status == "True" && !at.IsZero() {
				start = at
			}
		}
		s.Conditions = append(s.Conditions, jobs.Condition{
			Type: t, Status: status == "True", Reason: reason, Message: msg,
			LastUpdateTime: at, LastTransitionTime: at,
		})
		if (t == jobs.Succeeded || t == jobs.Failed) && status == "True" {
			s.CompletionTime = at
		}
	}
	active := false
	jss, _, _ := unstructured.NestedSlice(st, "jobsStatus")
	for _, v := range jss {
		m, _ := v.(map[string]any)
		name, _ := m["name"].(string)
		n := func(k string) int { x, _, _ := unstructured.NestedInt64(m, k); return int(x) }
		if name == "" {
			continue
		}
		if s.ReplicaStatuses == nil {
			s.ReplicaStatuses = map[jobs.ReplicaType]jobs.ReplicaStatus{}
		}
		s.ReplicaStatuses[jobs.ReplicaType(name)] = jobs.ReplicaStatus{Active: n("active"), Succeeded: n("succeeded"), Failed: n("failed")}
		if n("active") > 0 || n("ready") > 0 {
			active = true
		}
	}
	if active || !s.CompletionTime.IsZero() {
		s.StartTime = start
	}
	if active && !s.Finished() {
		// After the conditions, so that it is the phase.
		s.Conditions = append(s.Conditions, jobs.Condition{Type: jobs.Running, Status: true, Reason: "TrainJobRunning",
			Message: "the TrainJob's jobs have active pods", LastUpdateTime: start, LastTransitionTime: start})
	}
	return s
}
