package katib

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
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
	"github.com/ferryml/ferry/tuning"
)

// Options configure a Backend.
type Options struct {
	// Kubeconfig is the path of a kubeconfig file; empty loads the
	// configuration as kubectl does ($KUBECONFIG, ~/.kube/config, the
	// in-cluster service account).
	Kubeconfig string
	// Context is the kubeconfig context; empty means the current one.
	Context string
	// Config, when set, is used as is instead of loading a kubeconfig.
	Config *rest.Config
	// Namespace of the Experiments; empty means the kubeconfig context's,
	// else "default".
	Namespace string
	// Image is the container image of trial jobs whose template names
	// none.
	Image string
	// TrialKinds are the job kinds Katib may run as trials (katib-config's
	// trialResources); nil means DefaultTrialKinds.
	TrialKinds []jobs.Kind
	// Suggesters and Stoppers, when set, check the study's algorithm and
	// early-stopping settings before the Experiment is created
	// (tuning/algorithms.New and NewEarlyStopper: Ferry's algorithms take
	// Katib's settings); unset, Katib's suggestion service checks them
	// when the Experiment starts.
	Suggesters func(name string, space tuning.Space, s tuning.Settings) (tuning.Suggester, error)
	Stoppers   func(name string, s tuning.Settings) (tuning.EarlyStopper, error)
	// Poll is how often Watch reads the Experiments and Trials; default 1s.
	Poll time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Backend runs studies as Katib Experiments in one namespace.
type Backend struct {
	opts      Options
	log       *slog.Logger
	namespace string
	dyn       dynamic.Interface
	kinds     []jobs.Kind
}

var _ tuning.Backend = (*Backend)(nil)

// New returns a backend over the cluster of opts. It does not talk to the
// cluster: the first call does.
func New(opts Options) (*Backend, error) {
	b := &Backend{opts: opts, log: cmp.Or(opts.Logger, slog.Default()), kinds: opts.TrialKinds}
	if b.kinds == nil {
		b.kinds = DefaultTrialKinds
	}
	if b.opts.Poll <= 0 {
		b.opts.Poll = time.Second
	}
	cfg, ns, err := kube.RestConfig(opts.Config, opts.Kubeconfig, opts.Context, opts.Namespace)
	if err != nil {
		return nil, fmt.Errorf("tuning: katib: %w", err)
	}
	b.namespace = ns
	if b.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("tuning: katib: %w", err)
	}
	return b, nil
}

// Namespace returns the namespace of the backend's Experiments.
func (b *Backend) Namespace() string { return b.namespace }

// Experiment returns the Experiment that Create would create for spec,
// after the same validation, without creating it (a dry run: what
// `kubectl apply` would take).
func (b *Backend) Experiment(spec tuning.Spec) (*unstructured.Unstructured, error) {
	exp, _, err := b.experiment(spec)
	return exp, err
}

// Create validates spec by tuning's and Katib's rules (nothing reaches the
// cluster when it is invalid) and creates its Experiment, and the
// ConfigMap of its template's files, owned by the Experiment.
func (b *Backend) Create(ctx context.Context, spec tuning.Spec) (tuning.Study, error) {
	exp, files, err := b.experiment(spec)
	if err != nil {
		return tuning.Study{}, err
	}
	if b.opts.Suggesters != nil {
		if _, err := b.opts.Suggesters(spec.Algorithm.Name, spec.Space, spec.Algorithm.Settings); err != nil {
			return tuning.Study{}, err
		}
	}
	if b.opts.Stoppers != nil && spec.Early != nil {
		if _, err := b.opts.Stoppers(spec.Early.Name, spec.Early.Settings); err != nil {
			return tuning.Study{}, err
		}
	}
	created, err := b.dyn.Resource(experimentsGVR).Namespace(b.namespace).Create(ctx, exp, metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsAlreadyExists(err) {
			return tuning.Study{}, ferry.Errorf(ferry.AlreadyExists, "tuning: katib: an Experiment named %q exists in namespace %s: delete it or choose another name", spec.Name, b.namespace)
		}
		return tuning.Study{}, apiError(err, "create Experiment %s/%s", b.namespace, spec.Name)
	}
	if files != nil {
		cm := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "ConfigMap",
			"metadata": map[string]any{
				"name":      b.filesName(spec.Name),
				"namespace": b.namespace,
				"labels":    map[string]any{kube.LabelManagedBy: kube.ManagedBy, LabelExperiment: spec.Name},
				"ownerReferences": []any{map[string]any{
					"apiVersion": created.GetAPIVersion(), "kind": created.GetKind(),
					"name": created.GetName(), "uid": string(created.GetUID()),
				}},
			},
			"data": toAnyMap(files),
		}}
		if _, err := b.dyn.Resource(configMapsGVR).Namespace(b.namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			_ = b.dyn.Resource(experimentsGVR).Namespace(b.namespace).Delete(context.WithoutCancel(ctx), spec.Name, metav1.DeleteOptions{})
			return tuning.Study{}, apiError(err, "create ConfigMap %s/%s with the files of study %s", b.namespace, b.filesName(spec.Name), spec.Name)
		}
	}
	b.log.Info("katib: experiment created", "namespace", b.namespace, "name", spec.Name, "uid", created.GetUID())
	return study(created, nil), nil
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Get returns the study of the Experiment named name, with its Trials.
func (b *Backend) Get(ctx context.Context, name string) (tuning.Study, error) {
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return tuning.Study{}, ferry.Errorf(ferry.NotFound, "tuning: katib: no study %q: not a valid name", name)
	}
	exp, err := b.dyn.Resource(experimentsGVR).Namespace(b.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return tuning.Study{}, apiError(err, "get Experiment %s/%s", b.namespace, name)
	}
	trials, err := b.trials(ctx, labels.Set{LabelExperiment: name}.String())
	if err != nil {
		return tuning.Study{}, err
	}
	return study(exp, trials), nil
}

// trials lists the namespace's Trials that match the selector.
func (b *Backend) trials(ctx context.Context, sel string) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	cont := ""
	for {
		list, err := b.dyn.Resource(trialsGVR).Namespace(b.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 500, Continue: cont})
		if err != nil {
			return nil, apiError(err, "list Trials in %s", b.namespace)
		}
		out = append(out, list.Items...)
		if cont = list.GetContinue(); cont == "" {
			return out, nil
		}
	}
}

// List returns the studies of every Experiment in the namespace, oldest
// first: two list requests, whatever their number.
func (b *Backend) List(ctx context.Context) ([]tuning.Study, error) {
	var exps []unstructured.Unstructured
	cont := ""
	for {
		list, err := b.dyn.Resource(experimentsGVR).Namespace(b.namespace).List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
		if err != nil {
			return nil, apiError(err, "list Experiments in %s", b.namespace)
		}
		exps = append(exps, list.Items...)
		if cont = list.GetContinue(); cont == "" {
			break
		}
	}
	trials, err := b.trials(ctx, LabelExperiment)
	if err != nil {
		return nil, err
	}
	byExp := map[string][]unstructured.Unstructured{}
	for _, t := range trials {
		n := t.GetLabels()[LabelExperiment]
		byExp[n] = append(byExp[n], t)
	}
	out := make([]tuning.Study, 0, len(exps))
	for i := range exps {
		out = append(out, study(&exps[i], byExp[exps[i].GetName()]))
	}
	slices.SortStableFunc(out, func(a, b tuning.Study) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Watch sends the study named name (every study for ""), then each change,
// read every Options.Poll, until ctx is done. A study that goes away is
// sent as Deleted.
func (b *Backend) Watch(ctx context.Context, name string) (<-chan tuning.Event, error) {
	read := func() (map[string]tuning.Study, error) {
		if name != "" {
			st, err := b.Get(ctx, name)
			if err != nil {
				if ferry.IsNotFound(err) {
					return map[string]tuning.Study{}, nil
				}
				return nil, err
			}
			return map[string]tuning.Study{name: st}, nil
		}
		list, err := b.List(ctx)
		if err != nil {
			return nil, err
		}
		out := map[string]tuning.Study{}
		for _, st := range list {
			out[st.Spec.Name] = st
		}
		return out, nil
	}
	if name != "" {
		// The named study must exist at the start.
		if _, err := b.Get(ctx, name); err != nil {
			return nil, err
		}
	}
	cur, err := read()
	if err != nil {
		return nil, err
	}
	out := make(chan tuning.Event, len(cur)+1)
	seen := map[string][]byte{}
	for _, st := range sortedStudies(cur) {
		out <- tuning.Event{Type: jobs.Added, Study: st}
		seen[st.Spec.Name], _ = json.Marshal(&st)
	}
	go func() {
		defer close(out)
		send := func(ev tuning.Event) bool {
			select {
			case out <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		tick := time.NewTicker(b.opts.Poll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now, err := read()
			if err != nil {
				if ctx.Err() == nil {
					b.log.Warn("katib: watch studies", "namespace", b.namespace, "err", err)
				}
				continue
			}
			for _, st := range sortedStudies(now) {
				data, _ := json.Marshal(&st)
				old, ok := seen[st.Spec.Name]
				if ok && string(old) == string(data) {
					continue
				}
				typ := jobs.Modified
				if !ok {
					typ = jobs.Added
				}
				seen[st.Spec.Name] = data
				if !send(tuning.Event{Type: typ, Study: st}) {
					return
				}
			}
			for _, n := range slices.Sorted(maps.Keys(seen)) {
				if _, ok := now[n]; ok {
					continue
				}
				var st tuning.Study
				_ = json.Unmarshal(seen[n], &st)
				delete(seen, n)
				if !send(tuning.Event{Type: jobs.Deleted, Study: st}) {
					return
				}
			}
		}
	}()
	return out, nil
}

func sortedStudies(m map[string]tuning.Study) []tuning.Study {
	out := slices.Collect(maps.Values(m))
	slices.SortStableFunc(out, func(a, b tuning.Study) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Spec.Name, b.Spec.Name))
	})
	return out
}

// Delete deletes the Experiment, its Trials (the garbage collector would
// too: they are the Experiment's) and the ConfigMap of its files. Its
// trials' jobs go with the Trials.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return ferry.Errorf(ferry.NotFound, "tuning: katib: no study %q: not a valid name", name)
	}
	bg := metav1.DeletePropagationBackground
	err := b.dyn.Resource(experimentsGVR).Namespace(b.namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil {
		return apiError(err, "delete Experiment %s/%s", b.namespace, name)
	}
	sel := labels.Set{LabelExperiment: name}.String()
	err = b.dyn.Resource(trialsGVR).Namespace(b.namespace).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &bg}, metav1.ListOptions{LabelSelector: sel})
	if err != nil && !apierrors.IsNotFound(err) {
		return apiError(err, "delete the Trials of Experiment %s/%s", b.namespace, name)
	}
	err = b.dyn.Resource(configMapsGVR).Namespace(b.namespace).Delete(ctx, b.filesName(name), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return apiError(err, "delete ConfigMap %s/%s", b.namespace, b.filesName(name))
	}
	return nil
}

// Stop is not supported: Katib has no way to stop an Experiment and go on
// later.
func (b *Backend) Stop(ctx context.Context, name string) error {
	return ferry.Errorf(ferry.NotSupported, "tuning: katib: Katib cannot stop Experiment %s and resume it later: delete the study (its trials go with it), or lower its maxTrialCount with `kubectl -n %s edit experiment %s` to let it end after the running trials", name, b.namespace, name)
}

// Resume is not supported: Katib restarts only a succeeded Experiment
// with resumePolicy LongRunning or FromVolume, when its maxTrialCount is
// raised.
func (b *Backend) Resume(ctx context.Context, name string) (tuning.Study, error) {
	return tuning.Study{}, ferry.Errorf(ferry.NotSupported, "tuning: katib: Ferry does not resume Katib Experiments: Katib restarts a succeeded Experiment with resumePolicy LongRunning or FromVolume when its maxTrialCount is raised (`kubectl -n %s edit experiment %s`); otherwise create a new study", b.namespace, name)
}

// Ask is not supported: Katib runs every trial as a job.
func (b *Backend) Ask(ctx context.Context, name string) (tuning.Trial, bool, error) {
	return tuning.Trial{}, false, ferry.Errorf(ferry.NotSupported, "tuning: katib: Katib runs every trial as a job of the study's template: run an in-kernel objective (ask and tell) on Ferry's own runner")
}

// Tell is not supported: Katib's metrics collector reads the trials'
// metrics from their jobs' output.
func (b *Backend) Tell(ctx context.Context, name, trial string, r tuning.Report) (tuning.Decision, error) {
	return tuning.Decision{}, ferry.Errorf(ferry.NotSupported, "tuning: katib: Katib's metrics collector reads trial %s's metrics from its job's output (lines like loss=0.123): print them there; report values yourself only on Ferry's own runner", trial)
}

// apiError wraps an error of the API server in a *ferry.Error with the
// matching code.
func apiError(err error, format string, args ...any) error {
	code := ferry.Internal
	var netErr net.Error
	hint := ""
	switch {
	case apierrors.IsNotFound(err):
		code = ferry.NotFound
	case apierrors.IsAlreadyExists(err):
		code = ferry.AlreadyExists
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		code = ferry.Invalid
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		code = ferry.Unavailable
		hint = " (check the kubeconfig's user and its RBAC permissions)"
	case apierrors.IsServiceUnavailable(err), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err),
		apierrors.IsTooManyRequests(err), errors.As(err, &netErr):
		code = ferry.Unavailable
	}
	return &ferry.Error{Code: code, Message: "tuning: katib: " + fmt.Sprintf(format, args...) + hint + ": " + err.Error(), Err: err}
}
