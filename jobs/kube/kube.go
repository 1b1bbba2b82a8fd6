package kube

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
)

// BackendName is the value of Job.Backend for jobs of this package.
const BackendName = "kube"

// DefaultS3SecretName is the name of the Secret that carries
// Options.S3 to the replicas.
const DefaultS3SecretName = "ferry-s3-credentials"

// Options configure a Backend.
type Options struct {
	// Kubeconfig is the path of a kubeconfig file. Empty loads the
	// configuration as kubectl does: the files in $KUBECONFIG, else
	// ~/.kube/config, else the in-cluster service account of the pod.
	Kubeconfig string
	// Context is the kubeconfig context to use; empty means the current one.
	Context string
	// Config, when set, is used as is instead of loading a kubeconfig.
	Config *rest.Config
	// Namespace of the jobs; empty means the namespace of the kubeconfig
	// context (in a pod: the pod's), else "default".
	Namespace string
	// Image is the container image of specs that name none.
	Image string
	// S3, when set, reaches every replica as AWS_* environment variables
	// from a Secret in the namespace, which Submit creates or updates.
	S3 *S3Credentials
	// Propagation of the deletes of Cancel and Delete: Background (the
	// default) removes the object at once and leaves its pods to the
	// garbage collector; Foreground keeps the object, with a
	// deletionTimestamp, until the garbage collector has removed its pods.
	Propagation metav1.DeletionPropagation
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Tracker, when set, gets one run per job (its id in the job's
	// annotation ferryml.github.io/run-id), with the metrics parsed from the
	// log of the job's primary replica, and a status that follows the
	// job's. The backend follows the logs and ends the runs from New until
	// Close; give a Tracker to one backend per namespace.
	Tracker storage.Tracker
	// API selects the custom resources of the jobs: APIV1 (the default),
	// the Training Operator's kubeflow.org/v1 kinds, or APITrainerV2,
	// Kubeflow Trainer v2's TrainJob (PyTorch jobs only).
	API string
	// TrainerRuntime is the (Cluster)TrainingRuntime of TrainJobs;
	// empty means DefaultTrainerRuntime.
	TrainerRuntime string
	// TrainerRuntimeKind is ClusterTrainingRuntime (the default) or
	// TrainingRuntime (one in the backend's namespace).
	TrainerRuntimeKind string
}

// S3Credentials are the object store settings of the replicas.
type S3Credentials struct {
	Endpoint        string // AWS_ENDPOINT_URL, e.g. http://minio.kubeflow:9000
	AccessKeyID     string // AWS_ACCESS_KEY_ID
	SecretAccessKey string // AWS_SECRET_ACCESS_KEY
	SessionToken    string // AWS_SESSION_TOKEN, optional
	Region          string // AWS_REGION and AWS_DEFAULT_REGION, optional
	// SecretName defaults to DefaultS3SecretName.
	SecretName string
}

// data returns the Secret's data.
func (c *S3Credentials) data() map[string][]byte {
	d := map[string][]byte{
		"AWS_ACCESS_KEY_ID":     []byte(c.AccessKeyID),
		"AWS_SECRET_ACCESS_KEY": []byte(c.SecretAccessKey),
	}
	if c.Endpoint != "" {
		d["AWS_ENDPOINT_URL"] = []byte(c.Endpoint)
		d["AWS_ENDPOINT_URL_S3"] = []byte(c.Endpoint)
	}
	if c.SessionToken != "" {
		d["AWS_SESSION_TOKEN"] = []byte(c.SessionToken)
	}
	if c.Region != "" {
		d["AWS_REGION"] = []byte(c.Region)
		d["AWS_DEFAULT_REGION"] = []byte(c.Region)
	}
	return d
}

func (c *S3Credentials) secretName() string { return cmp.Or(c.SecretName, DefaultS3SecretName) }

// Backend runs jobs as Kubeflow Training Operator custom resources in one
// namespace of a cluster.
type Backend struct {
	opts      Options
	log       *slog.Logger
	namespace string
	config    *rest.Config
	dyn       dynamic.Interface
	core      kubernetes.Interface
	kinds     []kindInfo // the kinds the cluster serves

	infMu sync.Mutex
	inf   *informers // started by the first Watch

	tracker *runTracker // with Options.Tracker
}

var _ jobs.Backend = (*Backend)(nil)

// New connects to the cluster and finds which training kinds it serves (the
// custom resources of kubeflow.org/v1). It fails when the cluster cannot be
// reached.
func New(ctx context.Context, opts Options) (*Backend, error) {
	b := &Backend{opts: opts, log: cmp.Or(opts.Logger, slog.Default())}
	b.opts.API = cmp.Or(b.opts.API, APIV1)
	b.opts.TrainerRuntime = cmp.Or(b.opts.TrainerRuntime, DefaultTrainerRuntime)
	b.opts.TrainerRuntimeKind = cmp.Or(b.opts.TrainerRuntimeKind, "ClusterTrainingRuntime")
	switch {
	case b.opts.API != APIV1 && b.opts.API != APITrainerV2:
		return nil, ferry.Errorf(ferry.Invalid, "kube: API %q: use %q (training operator) or %q (Kubeflow Trainer v2 TrainJob)", opts.API, APIV1, APITrainerV2)
	case b.opts.TrainerRuntimeKind != "ClusterTrainingRuntime" && b.opts.TrainerRuntimeKind != "TrainingRuntime":
		return nil, ferry.Errorf(ferry.Invalid, "kube: trainer runtime kind %q: use ClusterTrainingRuntime or TrainingRuntime", opts.TrainerRuntimeKind)
	}
	if b.opts.Propagation == "" {
		b.opts.Propagation = metav1.DeletePropagationBackground
	}
	switch b.opts.Propagation {
	case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
	default:
		return nil, ferry.Errorf(ferry.Invalid, "kube: propagation %q: use Background or Foreground", opts.Propagation)
	}
	cfg, ns, err := RestConfig(opts.Config, opts.Kubeconfig, opts.Context, opts.Namespace)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	b.namespace = ns
	b.config = cfg
	if b.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	if b.core, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	infos, gv := kindInfos, Group+"/"+Version
	if b.opts.API == APITrainerV2 {
		infos, gv = []kindInfo{trainJobInfo}, TrainerGroup+"/"+TrainerVersion
	}
	list, err := b.core.Discovery().ServerResourcesForGroupVersion(gv)
	switch {
	case apierrors.IsNotFound(err):
		// No CRDs of the API: Submit says so.
	case err != nil:
		return nil, apiError(err, "discover %s resources on %s", gv, cfg.Host)
	default:
		for _, ki := range infos {
			if slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == ki.resource }) {
				b.kinds = append(b.kinds, ki)
			}
		}
	}
	if opts.Tracker != nil {
		if err := b.startTracking(ctx); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// Namespace returns the namespace of the backend's jobs.
func (b *Backend) Namespace() string { return b.namespace }

// Kinds returns the training kinds the cluster serves.
func (b *Backend) Kinds() []jobs.Kind {
	var out []jobs.Kind
	for _, ki := range b.kinds {
		out = append(out, ki.kind)
	}
	return out
}

// Close stops the informers of Watch; the jobs go on in the cluster.
func (b *Backend) Close() error {
	if b.tracker != nil {
		b.tracker.stop()
	}
	b.infMu.Lock()
	defer b.infMu.Unlock()
	if b.inf != nil {
		b.inf.stop()
		b.inf = nil
	}
	return nil
}

func (b *Backend) served(k jobs.Kind) (kindInfo, bool) {
	for _, ki := range b.kinds {
		if ki.kind == k {
			return ki, true
		}
	}
	return kindInfo{}, false
}

// Submit validates spec (nothing reaches the cluster when it is invalid)
// and creates its custom resource with strict field validation, the
// ConfigMap of its files, and the Secret of Options.S3.
func (b *Backend) Submit(ctx context.Context, spec jobs.Spec) (jobs.Job, error) {
	if err := validate(&spec, b.opts.Image); err != nil {
		return jobs.Job{}, err
	}
	if b.opts.API == APITrainerV2 {
		if err := validateTrainJob(&spec); err != nil {
			return jobs.Job{}, err
		}
	}
	ki, ok := b.served(spec.Kind)
	if !ok && b.opts.API == APITrainerV2 {
		return jobs.Job{}, ferry.Errorf(ferry.NotSupported, "kube: the cluster at %s serves no TrainJob (trainjobs.%s/%s): install Kubeflow Trainer v2, or use API %q",
			b.config.Host, TrainerGroup, TrainerVersion, APIV1)
	}
	if !ok {
		ci, _ := infoFor(spec.Kind)
		hint := "install the Kubeflow training operator's CRDs"
		if spec.Kind == jobs.MXNet {
			hint = "MXJob was removed in training operator v1.9: install v1.8's CRD and operator"
		}
		return jobs.Job{}, ferry.Errorf(ferry.NotSupported, "kube: the cluster at %s serves no %s (%s.%s/%s): %s",
			b.config.Host, ci.crdKind, ci.resource, Group, Version, hint)
	}
	// A name is one job, whatever its kind.
	if u, _, err := b.find(ctx, spec.Name); err == nil {
		return jobs.Job{}, ferry.Errorf(ferry.AlreadyExists, "kube: job %s already exists (a %s in namespace %s): choose another name or delete it", spec.Name, u.GetKind(), b.namespace)
	} else if !ferry.IsNotFound(err) {
		return jobs.Job{}, err
	}
	o := objectOptions{namespace: b.namespace, image: b.opts.Image, runtime: b.opts.TrainerRuntime, runtimeKind: b.opts.TrainerRuntimeKind}
	if b.opts.S3 != nil {
		name, err := b.ensureS3Secret(ctx)
		if err != nil {
			return jobs.Job{}, err
		}
		o.s3Secret = name
	}
	if len(spec.Files) > 0 {
		o.filesCM = spec.Name + "-files"
	}
	toObj := toObject
	if ki.crdKind == trainJobInfo.crdKind {
		toObj = toTrainJob
	}
	if b.opts.Tracker != nil {
		runID, err := b.createRun(ctx, &spec)
		if err != nil {
			return jobs.Job{}, err
		}
		o.runID = runID
	}
	obj, err := toObj(&spec, o)
	var created *unstructured.Unstructured
	if err == nil {
		created, err = b.dyn.Resource(ki.gvr()).Namespace(b.namespace).Create(ctx, obj, metav1.CreateOptions{FieldValidation: "Strict"})
		if err != nil {
			err = apiError(err, "create %s %s/%s", ki.crdKind, b.namespace, spec.Name)
		}
	}
	if err != nil {
		if o.runID != "" {
			_ = b.opts.Tracker.DeleteRun(context.WithoutCancel(ctx), o.runID)
		}
		return jobs.Job{}, err
	}
	if o.runID != "" {
		if err := b.opts.Tracker.SetTag(ctx, o.runID, storage.Tag{Key: jobs.TagJobUID, Value: string(created.GetUID())}); err != nil {
			b.log.Warn("kube: tag the job's run with its uid", "job", spec.Name, "run", o.runID, "err", err)
		}
	}
	if o.filesCM != "" {
		if err := b.createFiles(ctx, &spec, o.filesCM, created); err != nil {
			_ = b.dyn.Resource(ki.gvr()).Namespace(b.namespace).Delete(context.WithoutCancel(ctx), spec.Name, metav1.DeleteOptions{})
			return jobs.Job{}, err
		}
	}
	b.log.Info("kube: job created", "kind", ki.crdKind, "namespace", b.namespace, "name", spec.Name, "uid", created.GetUID())
	return jobFromObject(created)
}

// createFiles creates the ConfigMap of the job's files, owned by the job so
// that the garbage collector removes it with the job.
func (b *Backend) createFiles(ctx context.Context, spec *jobs.Spec, name string, owner *unstructured.Unstructured) error {
	data := FilesData(*spec)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: b.namespace,
			Labels:    map[string]string{LabelManagedBy: ManagedBy, LabelJobName: spec.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(), Name: owner.GetName(), UID: owner.GetUID(),
			}},
		},
		Data: data,
	}
	if _, err := b.core.CoreV1().ConfigMaps(b.namespace).Create(ctx, cm, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		return apiError(err, "create ConfigMap %s/%s with the files of job %s", b.namespace, name, spec.Name)
	}
	return nil
}

// ensureS3Secret creates the Secret of Options.S3, or updates it when its
// data differs, and returns its name.
func (b *Backend) ensureS3Secret(ctx context.Context) (string, error) {
	c := b.opts.S3
	name := c.secretName()
	secrets := b.core.CoreV1().Secrets(b.namespace)
	want := c.data()
	cur, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.namespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
			Type:       corev1.SecretTypeOpaque,
			Data:       want,
		}
		if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", apiError(err, "create Secret %s/%s with the S3 credentials", b.namespace, name)
		}
		return name, nil
	case err != nil:
		return "", apiError(err, "read Secret %s/%s", b.namespace, name)
	}
	if maps.EqualFunc(cur.Data, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		return name, nil
	}
	cur.Data = want
	cur.StringData = nil
	if _, err := secrets.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return "", apiError(err, "update Secret %s/%s with the S3 credentials", b.namespace, name)
	}
	return name, nil
}

// find returns the object of the job named name, of whichever kind.
func (b *Backend) find(ctx context.Context, name string) (*unstructured.Unstructured, kindInfo, error) {
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return nil, kindInfo{}, ferry.Errorf(ferry.NotFound, "kube: no job %q: not a valid name", name)
	}
	for _, ki := range b.kinds {
		u, err := b.dyn.Resource(ki.gvr()).Namespace(b.namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return u, ki, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, ki, apiError(err, "get %s %s/%s", ki.crdKind, b.namespace, name)
		}
	}
	return nil, kindInfo{}, ferry.Errorf(ferry.NotFound, "kube: no job %s in namespace %s", name, b.namespace)
}

// Get returns the job named name, with the state of each replica read from
// its pod.
func (b *Backend) Get(ctx context.Context, name string) (jobs.Job, error) {
	u, _, err := b.find(ctx, name)
	if err != nil {
		return jobs.Job{}, err
	}
	j, err := jobFromObject(u)
	if err != nil {
		return jobs.Job{}, err
	}
	pods, err := b.pods(ctx, name)
	if err != nil {
		return jobs.Job{}, err
	}
	j.Status.Replicas = replicaStates(&j.Spec, pods)
	return j, nil
}

// podJobLabel is the label that names the job on its pods: the training
// operator's, or JobSet's for a TrainJob.
func (b *Backend) podJobLabel() string {
	if b.opts.API == APITrainerV2 {
		return LabelJobSetName
	}
	return LabelJobName
}

func (b *Backend) pods(ctx context.Context, job string) ([]corev1.Pod, error) {
	sel := labels.Set{b.podJobLabel(): job}.String()
	list, err := b.core.CoreV1().Pods(b.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, apiError(err, "list pods %s in %s", sel, b.namespace)
	}
	return list.Items, nil
}

// podReplica returns the replica a pod of the job runs: from the
// training operator's labels, or for a TrainJob's pod from its node rank
// (Master-0 is rank 0 when the spec has a Master, Worker-i the ranks
// after it).
func podReplica(spec *jobs.Spec, p *corev1.Pod) (jobs.ReplicaType, int, bool) {
	if _, ok := p.Labels[LabelJobSetName]; ok {
		if p.Labels[LabelReplicatedJobName] != TrainerNodeJob {
			return "", 0, false
		}
		rank, err := strconv.Atoi(p.Labels[LabelCompletionIndex])
		if err != nil {
			return "", 0, false
		}
		if m := spec.ReplicaCount(jobs.Master); rank >= m {
			return jobs.Worker, rank - m, true
		}
		return jobs.Master, rank, true
	}
	t, ok := jobs.ParseReplicaType(spec.Kind, p.Labels[LabelReplicaType])
	if !ok {
		return "", 0, false
	}
	idx, err := strconv.Atoi(p.Labels[LabelReplicaIndex])
	if err != nil {
		return "", 0, false
	}
	return t, idx, true
}

// replicaStates returns the state of each replica from its pod, in rank
// order.
func replicaStates(spec *jobs.Spec, pods []corev1.Pod) []jobs.ReplicaState {
	kind := spec.Kind
	var out []jobs.ReplicaState
	for i := range pods {
		p := &pods[i]
		t, idx, ok := podReplica(spec, p)
		if !ok {
			continue
		}
		r := jobs.ReplicaState{Type: t, Index: idx, Name: p.Name, Message: p.Status.Message}
		switch p.Status.Phase {
		case corev1.PodRunning:
			r.Phase = jobs.ReplicaRunning
		case corev1.PodSucceeded:
			r.Phase = jobs.ReplicaSucceeded
		case corev1.PodFailed:
			r.Phase = jobs.ReplicaFailed
		default:
			r.Phase = jobs.ReplicaPending
		}
		if p.Status.StartTime != nil {
			r.StartTime = p.Status.StartTime.Time
		}
		if len(p.Status.ContainerStatuses) > 0 {
			cs := p.Status.ContainerStatuses[0]
			if ci, ok := infoFor(kind); ok {
				for _, c := range p.Status.ContainerStatuses {
					if c.Name == ci.container || c.Name == trainJobInfo.container {
						cs = c
					}
				}
			}
			r.Restarts = int(cs.RestartCount)
			term := cs.State.Terminated
			if term == nil {
				term = cs.LastTerminationState.Terminated
			}
			if term != nil {
				code := int(term.ExitCode)
				r.ExitCode = &code
				if cs.State.Terminated != nil {
					r.EndTime = term.FinishedAt.Time
				}
			}
			if w := cs.State.Waiting; w != nil && r.Message == "" {
				r.Message = strings.TrimSpace(w.Reason + ": " + w.Message)
			}
		}
		out = append(out, r)
	}
	rank := func(t jobs.ReplicaType) int { return slices.Index(jobs.Roles(kind), t) }
	slices.SortFunc(out, func(a, b jobs.ReplicaState) int {
		return cmp.Or(cmp.Compare(rank(a.Type), rank(b.Type)), cmp.Compare(a.Index, b.Index))
	})
	return out
}

// List returns the jobs of the namespace that match opts, oldest first:
// one paged list request per kind, whatever the number of jobs.
func (b *Backend) List(ctx context.Context, opts jobs.ListOptions) ([]jobs.Job, error) {
	var out []jobs.Job
	// Spec labels that are valid Kubernetes labels are on the objects:
	// let the server filter by them.
	sel := labels.Set{}
	for k, v := range opts.Labels {
		if len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(v)) == 0 {
			sel[k] = v
		}
	}
	for _, ki := range b.kinds {
		if opts.Kind != "" && ki.kind != opts.Kind {
			continue
		}
		cont := ""
		for {
			list, err := b.dyn.Resource(ki.gvr()).Namespace(b.namespace).List(ctx, metav1.ListOptions{
				LabelSelector: sel.String(), Limit: 500, Continue: cont,
			})
			if err != nil {
				return nil, apiError(err, "list %s in %s", ki.resource, b.namespace)
			}
			for i := range list.Items {
				j, err := jobFromObject(&list.Items[i])
				if err != nil {
					continue
				}
				if opts.Matches(&j) {
					out = append(out, j)
				}
			}
			if cont = list.GetContinue(); cont == "" {
				break
			}
		}
	}
	slices.SortStableFunc(out, func(a, b jobs.Job) int {
		return cmp.Or(a.CreationTime.Compare(b.CreationTime), strings.Compare(a.Name(), b.Name()))
	})
	return out, nil
}

// Cancel deletes the job's object with Options.Propagation, after marking
// it cancelled: the job reads Failed with reason JobCancelled while it is
// being deleted and in the Deleted event of Watch. A finished job is left
// as it is.
func (b *Backend) Cancel(ctx context.Context, name string) error {
	for attempt := 0; ; attempt++ {
		u, ki, err := b.find(ctx, name)
		if err != nil {
			return err
		}
		j, err := jobFromObject(u)
		if err != nil {
			return err
		}
		if j.Status.Finished() || u.GetDeletionTimestamp() != nil {
			return nil
		}
		// The resourceVersion makes the patch fail if the job changed
		// meanwhile (it may have finished): then look again.
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"annotations":     map[string]any{AnnotationCancelled: time.Now().UTC().Format(time.RFC3339Nano)},
			"resourceVersion": u.GetResourceVersion(),
		}})
		_, err = b.dyn.Resource(ki.gvr()).Namespace(b.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return apiError(err, "mark %s %s/%s cancelled", ki.crdKind, b.namespace, name)
		}
		return b.delete(ctx, ki, name, u.GetUID())
	}
}

// Delete deletes the job's object with Options.Propagation (its pods go with
// it) and the ConfigMap of its files.
func (b *Backend) Delete(ctx context.Context, name string) error {
	u, ki, err := b.find(ctx, name)
	if err != nil {
		return err
	}
	if err := b.delete(ctx, ki, name, u.GetUID()); err != nil {
		return err
	}
	err = b.core.CoreV1().ConfigMaps(b.namespace).Delete(ctx, name+"-files", metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return apiError(err, "delete ConfigMap %s/%s-files", b.namespace, name)
	}
	return nil
}

func (b *Backend) delete(ctx context.Context, ki kindInfo, name string, uid types.UID) error {
	p := b.opts.Propagation
	err := b.dyn.Resource(ki.gvr()).Namespace(b.namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &p,
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return apiError(err, "delete %s %s/%s", ki.crdKind, b.namespace, name)
	}
	return nil
}

// apiError wraps an error of the API server in a *ferry.Error with the
// matching code.
func apiError(err error, format string, args ...any) error {
	code := ferry.Internal
	var netErr net.Error
	switch {
	case apierrors.IsNotFound(err):
		code = ferry.NotFound
	case apierrors.IsAlreadyExists(err):
		code = ferry.AlreadyExists
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		code = ferry.Invalid
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		code = ferry.Unavailable
		format += " (check the kubeconfig's user and its RBAC permissions)"
	case apierrors.IsServiceUnavailable(err), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err),
		apierrors.IsTooManyRequests(err), errors.As(err, &netErr):
		code = ferry.Unavailable
	}
	return &ferry.Error{Code: code, Message: "kube: " + fmt.Sprintf(format, args...) + ": " + err.Error(), Err: err}
}

// RestConfig returns the client configuration to use and the namespace:
// cfg when set (copied), else the kubeconfig loaded as kubectl loads it
// ($KUBECONFIG, ~/.kube/config, in-cluster; kubeconfig and kubeContext
// override the file and context). The namespace is namespace, else the
// context's, else "default". The configuration says "ferry" as its user
// agent and allows 50 requests a second (client-go's 5 make a thousand
// creates, or a Watch of many objects, take minutes).
func RestConfig(cfg *rest.Config, kubeconfig, kubeContext, namespace string) (*rest.Config, string, error) {
	ns := namespace
	if cfg == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if kubeconfig != "" {
			rules.ExplicitPath = kubeconfig
		}
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
		var err error
		if cfg, err = cc.ClientConfig(); err != nil {
			return nil, "", ferry.Errorf(ferry.Unavailable, "load kubeconfig (as kubectl does: $KUBECONFIG, ~/.kube/config, in-cluster): %w", err)
		}
		if ns == "" {
			ns, _, _ = cc.Namespace()
		}
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "ferry"
	}
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	return cfg, cmp.Or(ns, "default"), nil
}
