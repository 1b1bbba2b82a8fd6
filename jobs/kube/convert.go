package kube

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
)

// Group and Version of the Training Operator v1 custom resources.
const (
	Group   = "kubeflow.org"
	Version = "v1"
)

// Labels and annotations Ferry puts on the objects it creates, and the
// labels the training operator puts on the pods of a job.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "ferry"
	// AnnotationSpec holds the job's jobs.Spec as JSON (without the
	// contents of Files, which are in the ConfigMap), so that Get returns
	// the spec as submitted.
	AnnotationSpec = "ferryml.github.io/spec"
	// AnnotationCancelled holds the time Cancel was called (RFC 3339).
	AnnotationCancelled = "ferryml.github.io/cancelled"
	// AnnotationRunID holds the id of the job's tracking run
	// (Options.Tracker).
	AnnotationRunID = "ferryml.github.io/run-id"

	LabelJobName      = "training.kubeflow.org/job-name"
	LabelReplicaType  = "training.kubeflow.org/replica-type"
	LabelReplicaIndex = "training.kubeflow.org/replica-index"
)

// kindInfo maps a jobs.Kind to its custom resource.
type kindInfo struct {
	kind      jobs.Kind
	crdKind   string // PyTorchJob
	resource  string // pytorchjobs
	specKey   string // pytorchReplicaSpecs
	container string // the container the operator treats as the main one
	group     string // "" means Group
	version   string // "" means Version
}

var kindInfos = []kindInfo{
	{jobs.PyTorch, "PyTorchJob", "pytorchjobs", "pytorchReplicaSpecs", "pytorch", "", ""},
	{jobs.TensorFlow, "TFJob", "tfjobs", "tfReplicaSpecs", "tensorflow", "", ""},
	{jobs.XGBoost, "XGBoostJob", "xgboostjobs", "xgbReplicaSpecs", "xgboost", "", ""},
	{jobs.MPI, "MPIJob", "mpijobs", "mpiReplicaSpecs", "mpi", "", ""},
	{jobs.Paddle, "PaddleJob", "paddlejobs", "paddleReplicaSpecs", "paddle", "", ""},
	{jobs.MXNet, "MXJob", "mxjobs", "mxReplicaSpecs", "mxnet", "", ""},
	{jobs.JAX, "JAXJob", "jaxjobs", "jaxReplicaSpecs", "jax", "", ""},
}

func infoFor(k jobs.Kind) (kindInfo, bool) {
	for _, ki := range kindInfos {
		if ki.kind == k {
			return ki, true
		}
	}
	return kindInfo{}, false
}

func (ki kindInfo) gvr() schema.GroupVersionResource {
	if ki.group != "" {
		return schema.GroupVersionResource{Group: ki.group, Version: ki.version, Resource: ki.resource}
	}
	return schema.GroupVersionResource{Group: Group, Version: Version, Resource: ki.resource}
}

// maxConfigMapBytes bounds the working files of a job (a ConfigMap holds at
// most 1 MiB, keys and metadata included).
const maxConfigMapBytes = 1<<20 - 16<<10

// validate checks what the cluster needs beyond jobs.Spec.Validate: an
// image, quantities as the API server parses them, names of the pods and
// services the operator derives from the job's, the size of the files.
func validate(spec *jobs.Spec, image string) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if spec.Image == "" && image == "" {
		add("image is empty: a Kubernetes job needs a container image, e.g. \"pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime\" (or set kube.Options.Image)")
	}
	checkRes := func(field string, r jobs.Resources) {
		for name, q := range map[string]string{"cpu": r.CPU, "memory": r.Memory} {
			if q == "" {
				continue
			}
			v, err := resource.ParseQuantity(q)
			if err != nil {
				add("%s.%s %q: not a Kubernetes quantity: %v", field, name, q, err)
			} else if v.Sign() <= 0 {
				add("%s.%s %q: give a positive quantity", field, name, q)
			}
		}
	}
	checkRes("resources", spec.Resources)
	for _, t := range spec.ReplicaTypes() {
		r := spec.Replicas[t]
		if r.Resources != nil {
			checkRes(fmt.Sprintf("replicas[%s].resources", t), *r.Resources)
		}
		// The operator names each replica's pod and service
		// NAME-TYPE-INDEX; a service name is a DNS label of at most 63.
		pod := fmt.Sprintf("%s-%s-%d", spec.Name, strings.ToLower(string(t)), r.Replicas-1)
		if len(pod) > validation.DNS1035LabelMaxLength {
			add("name %q: the pod and service of %s-%d would be named %q, longer than 63 characters: shorten the name to at most %d characters",
				spec.Name, t, r.Replicas-1, pod, validation.DNS1035LabelMaxLength-(len(pod)-len(spec.Name)))
		}
	}
	for k := range spec.Env {
		if msgs := validation.IsEnvVarName(k); len(msgs) > 0 {
			add("env %q: %s", k, strings.Join(msgs, "; "))
		}
	}
	size := 0
	for p, c := range spec.Files {
		size += len(p) + len(c)
	}
	if size > maxConfigMapBytes {
		add("files: %d bytes in all, more than a ConfigMap holds (1 MiB): put large files in the image or in object storage", size)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ferry.Error{Code: ferry.Invalid, Message: "job spec: " + strings.Join(errs, "; "), Err: jobs.ErrInvalidSpec}
}

// objectOptions are what toObject needs besides the spec.
type objectOptions struct {
	namespace string
	image     string // default image
	s3Secret  string // name of the Secret with AWS_* variables, "" for none
	filesCM   string // name of the ConfigMap with the files, "" for none
	runID     string // the job's tracking run, "" for none
	// runtime and runtimeKind are the TrainingRuntime of a TrainJob.
	runtime, runtimeKind string
}

// annotations returns the annotations of a job's object.
func (o *objectOptions) annotations(spec *jobs.Spec) (map[string]any, error) {
	saved := *spec
	saved.Files = nil
	specJSON, err := json.Marshal(saved)
	if err != nil {
		return nil, err
	}
	a := map[string]any{AnnotationSpec: string(specJSON)}
	if o.runID != "" {
		a[AnnotationRunID] = o.runID
	}
	return a, nil
}

// objectLabels returns the labels of a job's object: the spec labels that
// are valid Kubernetes labels (kubectl get -l ...; all are kept in the
// spec annotation) and managed-by.
func objectLabels(spec *jobs.Spec) map[string]any {
	labels := map[string]any{LabelManagedBy: ManagedBy}
	for k, v := range spec.Labels {
		if len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(v)) == 0 && k != LabelManagedBy {
			labels[k] = v
		}
	}
	return labels
}

// filesMountDir is where the working files are mounted when the spec names
// no working directory.
const filesMountDir = "/ferry/work"

// toObject returns the custom resource of spec.
func toObject(spec *jobs.Spec, o objectOptions) (*unstructured.Unstructured, error) {
	ki, ok := infoFor(spec.Kind)
	if !ok {
		return nil, fmt.Errorf("kube: kind %q has no custom resource", spec.Kind)
	}
	annotations, err := o.annotations(spec)
	if err != nil {
		return nil, err
	}
	labels := objectLabels(spec)
	image := spec.Image
	if image == "" {
		image = o.image
	}
	replicaSpecs := map[string]any{}
	for _, t := range spec.ReplicaTypes() {
		r := spec.Replicas[t]
		container := map[string]any{"name": ki.container, "image": image}
		cmd, args := spec.Command, spec.Args
		if len(r.Command) > 0 {
			cmd, args = r.Command, r.Args
		} else if len(r.Args) > 0 {
			args = r.Args
		}
		switch {
		case spec.Kind == jobs.MPI && t == jobs.Worker && len(r.Command) == 0:
			// MPI workers only host the ranks mpirun starts through the
			// launcher; the operator gives a worker without a command
			// one that keeps it alive.
			cmd, args = nil, nil
		case spec.Kind == jobs.MPI && t == jobs.Launcher && len(cmd) > 0 && path.Base(cmd[0]) != "mpirun":
			slots := max(spec.SlotsPerWorker, 1)
			np := strconv.Itoa(spec.ReplicaCount(jobs.Worker) * slots)
			line := append(slices.Clone(cmd), args...)
			args = append([]string{"--allow-run-as-root", "-np", np, "-bind-to", "none", "-map-by", "slot"}, line...)
			cmd = []string{"mpirun"}
		}
		if len(cmd) > 0 {
			container["command"] = toAny(cmd)
		}
		if len(args) > 0 {
			container["args"] = toAny(args)
		}
		if len(spec.Env) > 0 {
			var env []any
			for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
				env = append(env, map[string]any{"name": k, "value": spec.Env[k]})
			}
			container["env"] = env
		}
		if o.s3Secret != "" {
			container["envFrom"] = []any{map[string]any{"secretRef": map[string]any{"name": o.s3Secret}}}
		}
		if res := resourcesOf(spec.ResourcesFor(t)); res != nil {
			container["resources"] = res
		}
		wd := spec.WorkingDir
		podSpec := map[string]any{}
		if o.filesCM != "" {
			if wd == "" {
				wd = filesMountDir
			}
			var items []any
			for i, p := range slices.Sorted(maps.Keys(spec.Files)) {
				items = append(items, map[string]any{"key": fileKey(i), "path": path.Clean(p)})
			}
			podSpec["volumes"] = []any{map[string]any{
				"name":      "ferry-files",
				"configMap": map[string]any{"name": o.filesCM, "items": items},
			}}
			container["volumeMounts"] = []any{map[string]any{"name": "ferry-files", "mountPath": wd}}
		}
		if wd != "" {
			container["workingDir"] = wd
		}
		podSpec["containers"] = []any{container}
		rs := map[string]any{
			"replicas":      int64(r.Replicas),
			"restartPolicy": string(spec.RestartPolicyFor(t)),
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{LabelManagedBy: ManagedBy}},
				"spec":     podSpec,
			},
		}
		replicaSpecs[string(t)] = rs
	}
	runPolicy := map[string]any{}
	if p := spec.RunPolicy.CleanPodPolicy; p != "" {
		runPolicy["cleanPodPolicy"] = string(p)
	}
	if b := spec.RunPolicy.BackoffLimit; b != nil {
		runPolicy["backoffLimit"] = int64(*b)
	}
	if d := spec.RunPolicy.ActiveDeadlineSeconds; d != nil {
		runPolicy["activeDeadlineSeconds"] = *d
	}
	if d := spec.RunPolicy.TTLSecondsAfterFinished; d != nil {
		runPolicy["ttlSecondsAfterFinished"] = *d
	}
	objSpec := map[string]any{ki.specKey: replicaSpecs}
	if len(runPolicy) > 0 {
		objSpec["runPolicy"] = runPolicy
	}
	switch spec.Kind {
	case jobs.PyTorch:
		if spec.NprocPerNode > 0 {
			objSpec["nprocPerNode"] = strconv.Itoa(spec.NprocPerNode)
		}
	case jobs.MPI:
		if spec.SlotsPerWorker > 0 {
			objSpec["slotsPerWorker"] = int64(spec.SlotsPerWorker)
		}
	case jobs.MXNet:
		objSpec["jobMode"] = "MXTrain"
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": Group + "/" + Version,
		"kind":       ki.crdKind,
		"metadata": map[string]any{
			"name":        spec.Name,
			"namespace":   o.namespace,
			"labels":      labels,
			"annotations": annotations,
		},
		"spec": objSpec,
	}}, nil
}

// fileKey is the ConfigMap key of the i-th file in path order (paths may
// hold '/', keys may not).
func fileKey(i int) string { return "file-" + strconv.Itoa(i) }

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// resourcesOf returns the container resources: cpu and memory as requests
// (memory also as the limit), gpu as an nvidia.com/gpu limit.
func resourcesOf(r jobs.Resources) map[string]any {
	req, lim := map[string]any{}, map[string]any{}
	if r.CPU != "" {
		req["cpu"] = r.CPU
	}
	if r.Memory != "" {
		req["memory"] = r.Memory
		lim["memory"] = r.Memory
	}
	if r.GPU > 0 {
		lim["nvidia.com/gpu"] = strconv.Itoa(r.GPU)
	}
	out := map[string]any{}
	if len(req) > 0 {
		out["requests"] = req
	}
	if len(lim) > 0 {
		out["limits"] = lim
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// jobFromObject returns the job of a custom resource: its spec from the
// spec annotation (or, for an object Ferry did not create, read from the
// replica specs) and its status from .status.
func jobFromObject(u *unstructured.Unstructured) (jobs.Job, error) {
	ki, ok := kindInfo{}, false
	for _, k := range append(kindInfos[:len(kindInfos):len(kindInfos)], trainJobInfo) {
		if k.crdKind == u.GetKind() {
			ki, ok = k, true
		}
	}
	if !ok {
		return jobs.Job{}, fmt.Errorf("kube: %s %s is not a training job", u.GetKind(), u.GetName())
	}
	j := jobs.Job{
		UID:          string(u.GetUID()),
		Backend:      BackendName,
		CreationTime: u.GetCreationTimestamp().Time,
		RunID:        u.GetAnnotations()[AnnotationRunID],
	}
	trainJob := ki.crdKind == trainJobInfo.crdKind
	switch s, ok := u.GetAnnotations()[AnnotationSpec]; {
	case ok && json.Unmarshal([]byte(s), &j.Spec) == nil:
		j.Spec.Name, j.Spec.Kind = u.GetName(), ki.kind
	case trainJob:
		j.Spec = specFromTrainJob(u)
	default:
		j.Spec = specFromObject(u, ki)
	}
	st, _, _ := unstructured.NestedMap(u.Object, "status")
	if trainJob {
		j.Status = statusFromTrainJob(st, u.GetCreationTimestamp().Time)
	} else {
		j.Status = statusFrom(st)
	}
	if !j.Status.Finished() {
		var at time.Time
		why := ""
		if s, ok := u.GetAnnotations()[AnnotationCancelled]; ok {
			at, _ = time.Parse(time.RFC3339Nano, s)
			why = "cancelled"
		} else if ts := u.GetDeletionTimestamp(); ts != nil {
			at = ts.Time
			why = "deleted"
		}
		if why != "" {
			if at.IsZero() {
				at = time.Now()
			}
			j.Status.SetCondition(jobs.Failed, jobs.ReasonCancelled, fmt.Sprintf("job %s %s", why, at.UTC().Format(time.RFC3339)), at)
			if j.Status.CompletionTime.IsZero() {
				j.Status.CompletionTime = at
			}
		}
	}
	return j, nil
}

// specFromObject reads a spec from the replica specs of an object that has
// no spec annotation (created with kubectl, say), as far as it maps.
func specFromObject(u *unstructured.Unstructured, ki kindInfo) jobs.Spec {
	s := jobs.Spec{Name: u.GetName(), Kind: ki.kind, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{}}
	rss, _, _ := unstructured.NestedMap(u.Object, "spec", ki.specKey)
	for t, v := range rss {
		m, _ := v.(map[string]any)
		n, ok, _ := unstructured.NestedInt64(m, "replicas")
		if !ok {
			n = 1
		}
		rs := jobs.ReplicaSpec{Replicas: int(n)}
		p, _, _ := unstructured.NestedString(m, "restartPolicy")
		rs.RestartPolicy = jobs.RestartPolicy(p)
		containers, _, _ := unstructured.NestedSlice(m, "template", "spec", "containers")
		for _, c := range containers {
			cm, _ := c.(map[string]any)
			if name, _ := cm["name"].(string); name != ki.container && len(containers) > 1 {
				continue
			}
			rs.Command, _, _ = unstructured.NestedStringSlice(cm, "command")
			rs.Args, _, _ = unstructured.NestedStringSlice(cm, "args")
			if s.Image == "" {
				s.Image, _, _ = unstructured.NestedString(cm, "image")
			}
			var r jobs.Resources
			r.CPU, _, _ = unstructured.NestedString(cm, "resources", "requests", "cpu")
			r.Memory, _, _ = unstructured.NestedString(cm, "resources", "requests", "memory")
			if g, ok, _ := unstructured.NestedFieldNoCopy(cm, "resources", "limits", "nvidia.com/gpu"); ok {
				n, _ := strconv.Atoi(fmt.Sprint(g))
				r.GPU = n
			}
			if r != (jobs.Resources{}) {
				rs.Resources = &r
			}
			break
		}
		s.Replicas[jobs.ReplicaType(t)] = rs
	}
	if p, ok, _ := unstructured.NestedString(u.Object, "spec", "runPolicy", "cleanPodPolicy"); ok {
		s.RunPolicy.CleanPodPolicy = jobs.CleanPodPolicy(p)
	}
	if b, ok, _ := unstructured.NestedInt64(u.Object, "spec", "runPolicy", "backoffLimit"); ok {
		n := int(b)
		s.RunPolicy.BackoffLimit = &n
	}
	if d, ok, _ := unstructured.NestedInt64(u.Object, "spec", "runPolicy", "activeDeadlineSeconds"); ok {
		s.RunPolicy.ActiveDeadlineSeconds = &d
	}
	if d, ok, _ := unstructured.NestedInt64(u.Object, "spec", "runPolicy", "ttlSecondsAfterFinished"); ok {
		s.RunPolicy.TTLSecondsAfterFinished = &d
	}
	return s
}

// statusFrom reads the operator's JobStatus.
func statusFrom(st map[string]any) jobs.Status {
	var s jobs.Status
	conds, _, _ := unstructured.NestedSlice(st, "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		typ, _ := m["type"].(string)
		status, _ := m["status"].(string)
		reason, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		s.Conditions = append(s.Conditions, jobs.Condition{
			Type: jobs.ConditionType(typ), Status: status == "True", Reason: reason, Message: msg,
			LastUpdateTime:     parseTime(m["lastUpdateTime"]),
			LastTransitionTime: parseTime(m["lastTransitionTime"]),
		})
	}
	rss, _, _ := unstructured.NestedMap(st, "replicaStatuses")
	for t, v := range rss {
		m, _ := v.(map[string]any)
		if s.ReplicaStatuses == nil {
			s.ReplicaStatuses = map[jobs.ReplicaType]jobs.ReplicaStatus{}
		}
		n := func(k string) int { x, _, _ := unstructured.NestedInt64(m, k); return int(x) }
		s.ReplicaStatuses[jobs.ReplicaType(t)] = jobs.ReplicaStatus{Active: n("active"), Succeeded: n("succeeded"), Failed: n("failed")}
	}
	s.StartTime = parseTime(st["startTime"])
	s.CompletionTime = parseTime(st["completionTime"])
	return s
}

func parseTime(v any) time.Time {
	s, _ := v.(string)
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
