package kube_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
)

var kwokLogsDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-kube-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kwokLogsDir = dir
	code := m.Run()
	testsrv.StopSharedKube()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cluster returns the API server of this test binary: etcd, kube-apiserver
// with the training operator's CRDs (v1.9.4, and MXJob from v1.8.1) and
// Kubeflow Trainer's (v2.3.0), and kwok playing the operators for
// PyTorchJobs and TrainJobs (testdata/kwok-*-stages.yaml) and the kubelet
// for pod logs (every pod's log is testdata/master-0.log).
func cluster(t testing.TB) *testsrv.Kube {
	t.Helper()
	logFile, err := filepath.Abs("testdata/master-0.log")
	if err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(kwokLogsDir, "kwok-logs.yaml")
	if _, err := os.Stat(logs); err != nil {
		cfg := fmt.Sprintf(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: every-pod
spec:
  logs:
  - logsFile: %q
    follow: true
`, logFile)
		if err := os.WriteFile(logs, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return testsrv.SharedKube(t, testsrv.KubeOptions{
		CRDs:        []string{"training-operator-v1.9.4", "training-operator-v1.8.1/kubeflow.org_mxjobs.yaml", "trainer-v2.3.0"},
		Kwok:        true,
		KwokConfigs: []string{"testdata/kwok-pytorchjob-stages.yaml", "testdata/kwok-trainjob-stages.yaml", logs},
	})
}

// counter counts the requests a client sends.
type counter struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

type env struct {
	k    *testsrv.Kube
	ns   string
	b    *kube.Backend
	reqs *counter // requests of b
	dyn  dynamic.Interface
	core kubernetes.Interface
}

// newEnv returns a backend on a fresh namespace, and clients that check
// what it did.
func newEnv(t *testing.T, opts kube.Options) *env {
	t.Helper()
	k := cluster(t)
	e := &env{k: k, ns: k.NewNamespace(t), reqs: &counter{}}
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	if e.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if e.core, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	bc := rest.CopyConfig(cfg)
	bc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { e.reqs.next = rt; return e.reqs }
	opts.Config = bc
	if opts.Namespace == "" {
		opts.Namespace = e.ns
	}
	if e.b, err = kube.New(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.b.Close() })
	return e
}

func gvr(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "kubeflow.org", Version: "v1", Resource: resource}
}

var resources = []string{"pytorchjobs", "tfjobs", "xgboostjobs", "mpijobs", "paddlejobs", "mxjobs", "jaxjobs"}

// objects returns the training job objects in the namespace, of all kinds.
func (e *env) objects(t *testing.T) []unstructured.Unstructured {
	t.Helper()
	var out []unstructured.Unstructured
	for _, r := range resources {
		l, err := e.dyn.Resource(gvr(r)).Namespace(e.ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.Items...)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func spec(name string, kind jobs.Kind, replicas map[jobs.ReplicaType]int) jobs.Spec {
	s := jobs.Spec{
		Name: name, Kind: kind, Image: "python:3.12",
		Command: []string{"python3", "train.py"}, Args: []string{"--epochs", "2"},
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{},
	}
	for t, n := range replicas {
		s.Replicas[t] = jobs.ReplicaSpec{Replicas: n}
	}
	return s
}

func TestNewLoadsKubeconfigLikeKubectl(t *testing.T) {
	k := cluster(t)
	t.Run("explicit path", func(t *testing.T) {
		b, err := kube.New(t.Context(), kube.Options{Kubeconfig: k.Kubeconfig, Namespace: "team-a"})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if got := b.Namespace(); got != "team-a" {
			t.Errorf("namespace %q, want team-a", got)
		}
		want := []jobs.Kind{jobs.PyTorch, jobs.TensorFlow, jobs.XGBoost, jobs.MPI, jobs.Paddle, jobs.MXNet, jobs.JAX}
		if got := b.Kinds(); !slices.Equal(got, want) {
			t.Errorf("kinds %v, want %v", got, want)
		}
	})
	t.Run("KUBECONFIG", func(t *testing.T) {
		t.Setenv("KUBECONFIG", k.Kubeconfig)
		b, err := kube.New(t.Context(), kube.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if got := b.Namespace(); got != "default" { // the context's namespace
			t.Errorf("namespace %q, want default", got)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := kube.New(t.Context(), kube.Options{Kubeconfig: filepath.Join(t.TempDir(), "nope")})
		if err == nil || !strings.Contains(err.Error(), "kubeconfig") {
			t.Errorf("err %v, want one about the kubeconfig", err)
		}
	})
}

// Every kind is created with strict field validation and accepted by the
// training operator's real schema; Get returns the spec as submitted.
func TestSubmitEveryKind(t *testing.T) {
	e := newEnv(t, kube.Options{})
	cases := []struct {
		spec      jobs.Spec
		resource  string
		key       string
		container string
	}{
		{spec("pt", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 2}), "pytorchjobs", "pytorchReplicaSpecs", "pytorch"},
		{spec("tf", jobs.TensorFlow, map[jobs.ReplicaType]int{jobs.Chief: 1, jobs.PS: 1, jobs.Worker: 2, jobs.Evaluator: 1}), "tfjobs", "tfReplicaSpecs", "tensorflow"},
		{spec("xgb", jobs.XGBoost, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 1}), "xgboostjobs", "xgbReplicaSpecs", "xgboost"},
		{spec("mpi", jobs.MPI, map[jobs.ReplicaType]int{jobs.Launcher: 1, jobs.Worker: 2}), "mpijobs", "mpiReplicaSpecs", "mpi"},
		{spec("paddle", jobs.Paddle, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 1}), "paddlejobs", "paddleReplicaSpecs", "paddle"},
		{spec("mx", jobs.MXNet, map[jobs.ReplicaType]int{jobs.Scheduler: 1, jobs.Server: 1, jobs.Worker: 2}), "mxjobs", "mxReplicaSpecs", "mxnet"},
		{spec("jax", jobs.JAX, map[jobs.ReplicaType]int{jobs.Worker: 2}), "jaxjobs", "jaxReplicaSpecs", "jax"},
	}
	for _, tc := range cases {
		t.Run(string(tc.spec.Kind), func(t *testing.T) {
			s := tc.spec
			s.Env = map[string]string{"EPOCHS": "2", "LOG_LEVEL": "info"}
			s.Resources = jobs.Resources{CPU: "500m", Memory: "1Gi", GPU: 1}
			s.RunPolicy = jobs.RunPolicy{
				RestartPolicy: jobs.RestartOnFailure, BackoffLimit: ptr(3), ActiveDeadlineSeconds: ptr[int64](600),
				TTLSecondsAfterFinished: ptr[int64](3600), CleanPodPolicy: jobs.CleanAll,
			}
			s.Labels = map[string]string{"notebook": "mnist.ipynb", "trial": "7"}
			if s.Kind == jobs.MPI {
				s.SlotsPerWorker = 2
			}
			if s.Kind == jobs.PyTorch {
				s.NprocPerNode = 2
			}
			got, err := e.b.Submit(t.Context(), s)
			if err != nil {
				t.Fatal(err)
			}
			if got.Backend != kube.BackendName || got.UID == "" || got.Name() != s.Name {
				t.Errorf("submitted job %+v: want backend kube, a uid, name %s", got, s.Name)
			}
			u, err := e.dyn.Resource(gvr(tc.resource)).Namespace(e.ns).Get(t.Context(), s.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("the object is not in the cluster: %v", err)
			}
			for _, rt := range s.ReplicaTypes() {
				rs, _, _ := unstructured.NestedMap(u.Object, "spec", tc.key, string(rt))
				if n, _, _ := unstructured.NestedInt64(rs, "replicas"); int(n) != s.ReplicaCount(rt) {
					t.Errorf("%s replicas %d, want %d", rt, n, s.ReplicaCount(rt))
				}
				if p, _, _ := unstructured.NestedString(rs, "restartPolicy"); p != "OnFailure" {
					t.Errorf("%s restartPolicy %q, want OnFailure", rt, p)
				}
				cs, _, _ := unstructured.NestedSlice(rs, "template", "spec", "containers")
				if len(cs) != 1 {
					t.Fatalf("%s containers %v, want 1", rt, cs)
				}
				c := cs[0].(map[string]any)
				if c["name"] != tc.container || c["image"] != "python:3.12" {
					t.Errorf("%s container %v %v, want %s python:3.12", rt, c["name"], c["image"], tc.container)
				}
				gpu, _, _ := unstructured.NestedString(c, "resources", "limits", "nvidia.com/gpu")
				cpu, _, _ := unstructured.NestedString(c, "resources", "requests", "cpu")
				if gpu != "1" || cpu != "500m" {
					t.Errorf("%s resources %v, want limits nvidia.com/gpu 1 and requests cpu 500m", rt, c["resources"])
				}
				cmd, _, _ := unstructured.NestedStringSlice(c, "command")
				args, _, _ := unstructured.NestedStringSlice(c, "args")
				line := strings.Join(append(cmd, args...), " ")
				want := "python3 train.py --epochs 2"
				switch {
				case s.Kind == jobs.MPI && rt == jobs.Launcher:
					want = "mpirun --allow-run-as-root -np 4 -bind-to none -map-by slot python3 train.py --epochs 2"
				case s.Kind == jobs.MPI:
					want = "" // the operator keeps workers alive for mpirun
				}
				if line != want {
					t.Errorf("%s command line %q, want %q", rt, line, want)
				}
			}
			rp, _, _ := unstructured.NestedMap(u.Object, "spec", "runPolicy")
			if rp["cleanPodPolicy"] != "All" || rp["backoffLimit"] != int64(3) || rp["activeDeadlineSeconds"] != int64(600) || rp["ttlSecondsAfterFinished"] != int64(3600) {
				t.Errorf("runPolicy %v", rp)
			}
			if u.GetLabels()["notebook"] != "mnist.ipynb" || u.GetLabels()[kube.LabelManagedBy] != kube.ManagedBy {
				t.Errorf("labels %v, want notebook=mnist.ipynb and managed-by ferry", u.GetLabels())
			}
			j, err := e.b.Get(t.Context(), s.Name)
			if err != nil {
				t.Fatal(err)
			}
			if j.Spec.Kind != s.Kind || j.Spec.ReplicaCount(jobs.Worker) != s.ReplicaCount(jobs.Worker) || j.Spec.Labels["trial"] != "7" || *j.Spec.RunPolicy.BackoffLimit != 3 {
				t.Errorf("Get spec %+v, want %+v", j.Spec, s)
			}
		})
	}
	list, err := e.b.List(t.Context(), jobs.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(cases) {
		t.Errorf("List: %d jobs, want %d", len(list), len(cases))
	}
	if l, _ := e.b.List(t.Context(), jobs.ListOptions{Kind: jobs.MPI}); len(l) != 1 || l[0].Name() != "mpi" {
		t.Errorf("List mpi: %v, want the mpi job", l)
	}
	// A name is one job, whatever the kind.
	if _, err := e.b.Submit(t.Context(), spec("pt", jobs.JAX, map[jobs.ReplicaType]int{jobs.Worker: 1})); ferry.ErrorCode(err) != ferry.AlreadyExists {
		t.Errorf("submit a second job named pt: err %v, want AlreadyExists", err)
	}
}

// The real schema rejects what it checks; what it does not check is
// refused client-side, before any request.
func TestInvalidSpecsRefusedClientSide(t *testing.T) {
	e := newEnv(t, kube.Options{})
	ok := spec("ok", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 1})
	mod := func(f func(*jobs.Spec)) jobs.Spec {
		s := ok
		s.Replicas = map[jobs.ReplicaType]jobs.ReplicaSpec{}
		for k, v := range ok.Replicas {
			s.Replicas[k] = v
		}
		f(&s)
		return s
	}
	cases := []struct {
		name string
		spec jobs.Spec
		want string
	}{
		{"replica key the schema accepts", mod(func(s *jobs.Spec) { s.Replicas[jobs.Chief] = jobs.ReplicaSpec{Replicas: 1} }), "no role Chief"},
		{"lower-case replica key", mod(func(s *jobs.Spec) { s.Replicas["worker"] = jobs.ReplicaSpec{Replicas: 1} }), "case-sensitive"},
		{"negative replicas", mod(func(s *jobs.Spec) { s.Replicas[jobs.Worker] = jobs.ReplicaSpec{Replicas: -2} }), "at least 1"},
		{"two masters", mod(func(s *jobs.Spec) { s.Replicas[jobs.Master] = jobs.ReplicaSpec{Replicas: 2} }), "at most 1"},
		{"bad cpu", mod(func(s *jobs.Spec) { s.Resources.CPU = "two" }), "cpu"},
		{"bad memory", mod(func(s *jobs.Spec) {
			s.Replicas[jobs.Worker] = jobs.ReplicaSpec{Replicas: 1, Resources: &jobs.Resources{Memory: "1GiB"}}
		}), "memory"},
		{"negative gpu", mod(func(s *jobs.Spec) { s.Resources.GPU = -1 }), "gpu"},
		{"zero cpu", mod(func(s *jobs.Spec) { s.Resources.CPU = "0" }), "positive"},
		{"no image", mod(func(s *jobs.Spec) { s.Image = "" }), "image"},
		{"no command", mod(func(s *jobs.Spec) { s.Command, s.Args = nil, nil }), "command"},
		{"name too long for the pods", mod(func(s *jobs.Spec) { s.Name = strings.Repeat("a", 55) }), "shorten the name"},
		{"env name", mod(func(s *jobs.Spec) { s.Env = map[string]string{"1X": "y"} }), "env"},
		{"mpi without workers", spec("m", jobs.MPI, map[jobs.ReplicaType]int{jobs.Launcher: 1}), "Worker"},
		{"unknown kind", spec("u", "caffe", map[jobs.ReplicaType]int{jobs.Worker: 1}), "kind"},
	}
	before := e.reqs.n.Load()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.b.Submit(t.Context(), tc.spec)
			if ferry.ErrorCode(err) != ferry.Invalid || !errors.Is(err, jobs.ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want an Invalid ErrInvalidSpec naming %q", err, tc.want)
			}
		})
	}
	if n := e.reqs.n.Load() - before; n != 0 {
		t.Errorf("invalid specs sent %d requests to the API server, want 0", n)
	}
	if objs := e.objects(t); len(objs) != 0 {
		t.Errorf("%d objects created, want none", len(objs))
	}
	if l, err := e.b.List(t.Context(), jobs.ListOptions{}); err != nil || len(l) != 0 {
		t.Errorf("List: %v %v, want no jobs", l, err)
	}
	// The same spec, valid, goes through.
	if _, err := e.b.Submit(t.Context(), ok); err != nil {
		t.Errorf("submit the valid spec: %v", err)
	}
	// Why the client-side check matters: the schema takes any replica key,
	// though it checks types.
	raw := func(name, key string, replicas any) error {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
			"metadata": map[string]any{"name": name},
			"spec": map[string]any{"pytorchReplicaSpecs": map[string]any{key: map[string]any{
				"replicas": replicas,
				"template": map[string]any{"spec": map[string]any{"containers": []any{
					map[string]any{"name": "pytorch", "image": "python:3.12"},
				}}},
			}}},
		}}
		_, err := e.dyn.Resource(gvr("pytorchjobs")).Namespace(e.ns).Create(t.Context(), obj, metav1.CreateOptions{FieldValidation: "Strict"})
		return err
	}
	if err := raw("raw-chief", "Chief", int64(1)); err != nil {
		t.Errorf("the schema refused pytorchReplicaSpecs.Chief (%v): the client-side check is no longer the only one", err)
	}
	if err := raw("raw-three", "Worker", "three"); !apierrors.IsInvalid(err) {
		t.Errorf("replicas \"three\": err %v, want the schema's 422", err)
	}
}

// watchPhases collects the phases a Watch of one job reports until the job
// is finished (or deleted), dropping repeats.
func watchPhases(t *testing.T, ch <-chan jobs.Event, until func(jobs.Event) bool) ([]string, jobs.Event) {
	t.Helper()
	var phases []string
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed after %v", phases)
			}
			p := string(ev.Type) + ":" + string(ev.Job.Status.Phase())
			if ev.Type != jobs.Deleted {
				p = string(ev.Job.Status.Phase())
			}
			if p == "" {
				p = "(none)"
			}
			if len(phases) == 0 || phases[len(phases)-1] != p {
				phases = append(phases, p)
			}
			if until(ev) {
				return phases, ev
			}
		case <-ctx.Done():
			t.Fatalf("no end after %v", phases)
		}
	}
}

// kwok's Stages play the operator: each transition reaches the watch.
func TestWatchReportsEachTransition(t *testing.T) {
	e := newEnv(t, kube.Options{})
	cases := []struct {
		label  string
		want   []string
		reason string
	}{
		{"succeed", []string{"(none)", "Created", "Running", "Succeeded"}, "PyTorchJobSucceeded"},
		{"fail", []string{"(none)", "Created", "Running", "Failed"}, "PyTorchJobFailed"},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			t.Parallel()
			s := spec("job-"+tc.label, jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 2})
			s.Labels = map[string]string{"ferry-test/stages": tc.label}
			ch, err := e.b.Watch(t.Context(), s.Name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.b.Submit(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			phases, last := watchPhases(t, ch, func(ev jobs.Event) bool { return ev.Job.Status.Finished() })
			if !slices.Equal(phases, tc.want) {
				t.Errorf("phases %v, want %v", phases, tc.want)
			}
			c, _ := last.Job.Status.Condition(jobs.ConditionType(tc.want[3]))
			if c.Reason != tc.reason || last.Job.Status.CompletionTime.IsZero() {
				t.Errorf("final condition %+v completion %v, want reason %s and a completion time", c, last.Job.Status.CompletionTime, tc.reason)
			}
			rs := last.Job.Status.ReplicaStatuses[jobs.Worker]
			if got := rs.Succeeded + rs.Failed; got != 2 || rs.Active != 0 {
				t.Errorf("Worker replica status %+v, want 2 ended", rs)
			}
			j, err := e.b.Get(t.Context(), s.Name)
			if err != nil || j.Status.Phase() != jobs.ConditionType(tc.want[3]) {
				t.Errorf("Get: phase %s err %v, want %s", j.Status.Phase(), err, tc.want[3])
			}
		})
	}
}

// Watch of all jobs starts with an Added event per existing job.
func TestWatchAllStartsWithExistingJobs(t *testing.T) {
	e := newEnv(t, kube.Options{})
	for _, n := range []string{"a", "b", "c"} {
		if _, err := e.b.Submit(t.Context(), spec(n, jobs.JAX, map[jobs.ReplicaType]int{jobs.Worker: 1})); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := e.b.Watch(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3 {
		ev := <-ch
		if ev.Type != jobs.Added {
			t.Fatalf("event %s %s before the Added events", ev.Type, ev.Job.Name())
		}
		got = append(got, ev.Job.Name())
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("added %v, want a b c", got)
	}
	if _, err := e.b.Submit(t.Context(), spec("d", jobs.JAX, map[jobs.ReplicaType]int{jobs.Worker: 1})); err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Type != jobs.Added || ev.Job.Name() != "d" {
		t.Errorf("event %s %s, want Added d", ev.Type, ev.Job.Name())
	}
}

func TestCancelDeletesTheObject(t *testing.T) {
	t.Run("background", func(t *testing.T) {
		e := newEnv(t, kube.Options{})
		s := spec("cancel-me", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Worker: 2})
		s.Labels = map[string]string{"ferry-test/stages": "run"}
		ch, err := e.b.Watch(t.Context(), s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.Submit(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		watchPhases(t, ch, func(ev jobs.Event) bool { return ev.Job.Status.Phase() == jobs.Running })
		if err := e.b.Cancel(t.Context(), s.Name); err != nil {
			t.Fatal(err)
		}
		_, last := watchPhases(t, ch, func(ev jobs.Event) bool { return ev.Type == jobs.Deleted })
		c, _ := last.Job.Status.Condition(jobs.Failed)
		if !c.Status || c.Reason != jobs.ReasonCancelled {
			t.Errorf("deleted job's Failed condition %+v, want reason %s", c, jobs.ReasonCancelled)
		}
		if _, err := e.dyn.Resource(gvr("pytorchjobs")).Namespace(e.ns).Get(t.Context(), s.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("object after cancel: err %v, want NotFound", err)
		}
		if _, err := e.b.Get(t.Context(), s.Name); !ferry.IsNotFound(err) {
			t.Errorf("Get after cancel: err %v, want NotFound", err)
		}
		if err := e.b.Cancel(t.Context(), s.Name); !ferry.IsNotFound(err) {
			t.Errorf("second Cancel: err %v, want NotFound", err)
		}
	})
	t.Run("foreground", func(t *testing.T) {
		// No garbage collector runs here (no kube-controller-manager), so
		// the object stays, being deleted, with the foreground finalizer.
		e := newEnv(t, kube.Options{Propagation: metav1.DeletePropagationForeground})
		s := spec("cancel-fg", jobs.XGBoost, map[jobs.ReplicaType]int{jobs.Master: 1})
		if _, err := e.b.Submit(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		if err := e.b.Cancel(t.Context(), s.Name); err != nil {
			t.Fatal(err)
		}
		u, err := e.dyn.Resource(gvr("xgboostjobs")).Namespace(e.ns).Get(t.Context(), s.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if u.GetDeletionTimestamp() == nil || !slices.Contains(u.GetFinalizers(), metav1.FinalizerDeleteDependents) {
			t.Errorf("deletionTimestamp %v finalizers %v, want a foreground deletion", u.GetDeletionTimestamp(), u.GetFinalizers())
		}
		j, err := e.b.Get(t.Context(), s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := j.Status.Condition(jobs.Failed); j.Status.Phase() != jobs.Failed || c.Reason != jobs.ReasonCancelled {
			t.Errorf("job being deleted: phase %s condition %+v, want Failed %s", j.Status.Phase(), c, jobs.ReasonCancelled)
		}
	})
	t.Run("finished job is left alone", func(t *testing.T) {
		e := newEnv(t, kube.Options{})
		s := spec("done", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1})
		s.Labels = map[string]string{"ferry-test/stages": "succeed"}
		ch, err := e.b.Watch(t.Context(), s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.Submit(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		watchPhases(t, ch, func(ev jobs.Event) bool { return ev.Job.Status.Finished() })
		if err := e.b.Cancel(t.Context(), s.Name); err != nil {
			t.Fatal(err)
		}
		j, err := e.b.Get(t.Context(), s.Name)
		if err != nil || j.Status.Phase() != jobs.Succeeded {
			t.Errorf("after Cancel of a finished job: phase %s err %v, want Succeeded", j.Status.Phase(), err)
		}
		if err := e.b.Delete(t.Context(), s.Name); err != nil {
			t.Fatal(err)
		}
		if len(e.objects(t)) != 0 {
			t.Errorf("objects left after Delete")
		}
	})
}

// Logs are read from the replica's pod through the API server, which gets
// them from kwok's kubelet API (testdata/master-0.log for every pod).
func TestLogsFromPods(t *testing.T) {
	e := newEnv(t, kube.Options{})
	s := spec("logs", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 1})
	if _, err := e.b.Submit(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	// Without a pod there is no log.
	if _, err := e.b.Logs(t.Context(), s.Name, jobs.LogOptions{}); !ferry.IsNotFound(err) {
		t.Errorf("Logs before the pod exists: err %v, want NotFound", err)
	}
	// The watch reports the replicas' states from their pods.
	wctx, wcancel := context.WithCancel(t.Context())
	defer wcancel()
	ch, err := e.b.Watch(wctx, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	// Follow waits for the pod, which the operator would create: here the
	// test does, with the operator's labels, on kwok's node.
	type result struct {
		text string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		rc, err := e.b.Logs(t.Context(), s.Name, jobs.LogOptions{Follow: true})
		if err != nil {
			done <- result{err: err}
			return
		}
		defer rc.Close()
		buf := make([]byte, 0, 256)
		for !strings.Contains(string(buf), "done training") {
			b := make([]byte, 256)
			n, err := rc.Read(b)
			buf = append(buf, b[:n]...)
			if err != nil {
				done <- result{string(buf), err}
				return
			}
		}
		done <- result{text: string(buf)}
	}()
	for _, r := range []struct {
		typ string
		idx string
	}{{"master", "0"}, {"worker", "0"}} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: s.Name + "-" + r.typ + "-" + r.idx, Labels: map[string]string{
				kube.LabelJobName: s.Name, kube.LabelReplicaType: r.typ, kube.LabelReplicaIndex: r.idx,
			}},
			Spec: corev1.PodSpec{
				NodeName:    testsrv.KwokNode,
				Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
				Containers:  []corev1.Container{{Name: "pytorch", Image: "python:3.12"}},
			},
		}
		if _, err := e.core.CoreV1().Pods(e.ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	res := <-done
	if res.err != nil {
		t.Fatalf("follow logs: %v (read %q)\n%s", res.err, res.text, e.k.Logs())
	}
	if want := "epoch=1 loss=0.9\nepoch=2 loss=0.5\ndone training\n"; res.text != want {
		t.Errorf("followed log %q, want %q", res.text, want)
	}
	rc, err := e.b.Logs(t.Context(), s.Name, jobs.LogOptions{Replica: jobs.Worker, Index: 0, TailLines: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "done training\n" {
		t.Errorf("Worker-0 tail 1: %q %v, want the last line", b, err)
	}
	replicas := func(j jobs.Job) []string {
		var ids []string
		for _, r := range j.Status.Replicas {
			ids = append(ids, r.ID()+"="+string(r.Phase)+"@"+r.Name)
		}
		return ids
	}
	want := []string{"Master-0=Running@logs-master-0", "Worker-0=Running@logs-worker-0"}
	j, err := e.b.Get(t.Context(), s.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got := replicas(j); !slices.Equal(got, want) {
		t.Errorf("Get: replicas %v, want %v", got, want)
	}
	var seen [][]string
	for {
		ev, ok := <-ch
		if !ok {
			t.Fatalf("watch ended; replicas seen %v, want %v", seen, want)
		}
		seen = append(seen, replicas(ev.Job))
		if slices.Equal(seen[len(seen)-1], want) {
			break
		}
	}
}

// Working files go to a ConfigMap mounted in every replica; S3 credentials
// to a Secret every replica reads with envFrom.
func TestFilesAndS3Secret(t *testing.T) {
	creds := &kube.S3Credentials{Endpoint: "http://minio:9000", AccessKeyID: "AK", SecretAccessKey: "SK", Region: "us-east-1"}
	e := newEnv(t, kube.Options{S3: creds})
	s := spec("files", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1})
	s.Files = map[string]string{"train.py": "print('hi')\n", "pkg/util.py": "X = 1\n"}
	if _, err := e.b.Submit(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	sec, err := e.core.CoreV1().Secrets(e.ns).Get(t.Context(), kube.DefaultS3SecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["AWS_ACCESS_KEY_ID"]) != "AK" || string(sec.Data["AWS_SECRET_ACCESS_KEY"]) != "SK" || string(sec.Data["AWS_ENDPOINT_URL"]) != "http://minio:9000" {
		t.Errorf("secret data %v", sec.Data)
	}
	cm, err := e.core.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "files-files", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].Kind != "PyTorchJob" || cm.OwnerReferences[0].Name != "files" {
		t.Errorf("ConfigMap owners %v, want the PyTorchJob", cm.OwnerReferences)
	}
	var contents []string
	for _, v := range cm.Data {
		contents = append(contents, v)
	}
	slices.Sort(contents)
	if !slices.Equal(contents, []string{"X = 1\n", "print('hi')\n"}) {
		t.Errorf("ConfigMap data %v", cm.Data)
	}
	u, err := e.dyn.Resource(gvr("pytorchjobs")).Namespace(e.ns).Get(t.Context(), "files", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod, _, _ := unstructured.NestedMap(u.Object, "spec", "pytorchReplicaSpecs", "Master", "template", "spec")
	c := pod["containers"].([]any)[0].(map[string]any)
	if c["workingDir"] != "/ferry/work" {
		t.Errorf("workingDir %v, want /ferry/work", c["workingDir"])
	}
	if ef := fmt.Sprint(c["envFrom"]); !strings.Contains(ef, kube.DefaultS3SecretName) {
		t.Errorf("envFrom %s, want the S3 secret", ef)
	}
	if vols := fmt.Sprint(pod["volumes"]); !strings.Contains(vols, "pkg/util.py") || !strings.Contains(vols, "files-files") {
		t.Errorf("volumes %s, want the ConfigMap with pkg/util.py", vols)
	}
	// New credentials update the Secret on the next Submit.
	creds.SecretAccessKey = "SK2"
	if _, err := e.b.Submit(t.Context(), spec("files2", jobs.JAX, map[jobs.ReplicaType]int{jobs.Worker: 1})); err != nil {
		t.Fatal(err)
	}
	sec, err = e.core.CoreV1().Secrets(e.ns).Get(t.Context(), kube.DefaultS3SecretName, metav1.GetOptions{})
	if err != nil || string(sec.Data["AWS_SECRET_ACCESS_KEY"]) != "SK2" {
		t.Errorf("secret after new credentials: %v %v", sec.Data, err)
	}
	// Delete removes the job and its files.
	if err := e.b.Delete(t.Context(), "files"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.core.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "files-files", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap after Delete: %v, want NotFound", err)
	}
}

// List and Watch cost a fixed number of requests, whatever the number of
// jobs: no per-object GET, no polling.
func TestListAndWatchWithoutPerObjectRequests(t *testing.T) {
	e := newEnv(t, kube.Options{})
	const n = 40
	for i := range n {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
			"metadata": map[string]any{"name": fmt.Sprintf("j%03d", i)},
			"spec": map[string]any{"pytorchReplicaSpecs": map[string]any{"Worker": map[string]any{
				"replicas": int64(1),
				"template": map[string]any{"spec": map[string]any{"containers": []any{
					map[string]any{"name": "pytorch", "image": "python:3.12", "command": []any{"python3", "train.py"}},
				}}},
			}}},
		}}
		if _, err := e.dyn.Resource(gvr("pytorchjobs")).Namespace(e.ns).Create(t.Context(), obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	before := e.reqs.n.Load()
	list, err := e.b.List(t.Context(), jobs.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n || list[0].Spec.ReplicaCount(jobs.Worker) != 1 || list[0].Spec.Image != "python:3.12" {
		t.Fatalf("List: %d jobs (first %+v), want %d read from objects Ferry did not create", len(list), list[0].Spec, n)
	}
	kinds := int64(len(e.b.Kinds()))
	if got := e.reqs.n.Load() - before; got != kinds {
		t.Errorf("List sent %d requests, want %d (one per kind)", got, kinds)
	}
	before = e.reqs.n.Load()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := e.b.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if ev := <-ch; ev.Type != jobs.Added {
			t.Fatalf("event %s, want Added", ev.Type)
		}
	}
	// A list and a watch per kind.
	if got := e.reqs.n.Load() - before; got > 2*kinds {
		t.Errorf("Watch of %d jobs sent %d requests, want at most %d (a list and a watch per kind)", n, got, 2*kinds)
	}
}
