package kube_test

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
)

var trainJobs = schema.GroupVersionResource{Group: kube.TrainerGroup, Version: kube.TrainerVersion, Resource: "trainjobs"}

// installRuntime creates Kubeflow Trainer's ClusterTrainingRuntime
// torch-distributed (v2.3.0's manifest), which the TrainJobs refer to.
func installRuntime(t *testing.T, e *env) {
	t.Helper()
	dir, err := testsrv.CRDsDir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "trainer-v2.3.0", "runtimes", "torch_distributed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var u unstructured.Unstructured
	if err := yaml.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	r := schema.GroupVersionResource{Group: kube.TrainerGroup, Version: kube.TrainerVersion, Resource: "clustertrainingruntimes"}
	if _, err := e.dyn.Resource(r).Create(t.Context(), &u, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// A PyTorch job becomes a TrainJob that the real schema accepts (strict
// field validation): one trainer for all nodes, on the runtime.
func TestTrainJobSubmit(t *testing.T) {
	creds := &kube.S3Credentials{Endpoint: "http://minio:9000", AccessKeyID: "AK", SecretAccessKey: "SK"}
	e := newEnv(t, kube.Options{API: kube.APITrainerV2, S3: creds})
	installRuntime(t, e)
	if got := e.b.Kinds(); !slices.Equal(got, []jobs.Kind{jobs.PyTorch}) {
		t.Errorf("Kinds %v, want [pytorch]", got)
	}
	s := spec("tj", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 2})
	s.NprocPerNode = 4
	s.Resources = jobs.Resources{CPU: "2", Memory: "8Gi", GPU: 1}
	s.Env = map[string]string{"EPOCHS": "3", "AWS_REGION": "eu-west-1"}
	s.RunPolicy.ActiveDeadlineSeconds = ptr(int64(3600))
	j, err := e.b.Submit(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.dyn.Resource(trainJobs).Namespace(e.ns).Get(t.Context(), s.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	str := func(f ...string) string { v, _, _ := unstructured.NestedString(u.Object, f...); return v }
	num := func(f ...string) int64 { v, _, _ := unstructured.NestedInt64(u.Object, f...); return v }
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"runtimeRef.name", str("spec", "runtimeRef", "name"), "torch-distributed"},
		{"runtimeRef.kind", str("spec", "runtimeRef", "kind"), "ClusterTrainingRuntime"},
		{"trainer.image", str("spec", "trainer", "image"), s.Image},
		{"trainer.numNodes", num("spec", "trainer", "numNodes"), int64(3)},
		{"trainer.numProcPerNode", num("spec", "trainer", "numProcPerNode"), int64(4)},
		{"trainer.resourcesPerNode.limits.gpu", str("spec", "trainer", "resourcesPerNode", "limits", "nvidia.com/gpu"), "1"},
		{"trainer.resourcesPerNode.requests.cpu", str("spec", "trainer", "resourcesPerNode", "requests", "cpu"), "2"},
		{"activeDeadlineSeconds", num("spec", "activeDeadlineSeconds"), int64(3600)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	env, _, _ := unstructured.NestedSlice(u.Object, "spec", "trainer", "env")
	var names []string
	for _, v := range env {
		m := v.(map[string]any)
		n := m["name"].(string)
		names = append(names, n)
		if _, ok := m["valueFrom"]; ok != (n != "EPOCHS" && n != "AWS_REGION") {
			t.Errorf("env %v: want values from the S3 Secret except for the spec's own", m)
		}
	}
	if !slices.Contains(names, "AWS_ACCESS_KEY_ID") || !slices.Contains(names, "EPOCHS") || len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("env names %v: want the spec's and the Secret's, each once", names)
	}
	got, err := e.b.Get(t.Context(), s.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != j.UID || got.Spec.Kind != jobs.PyTorch || got.Spec.ReplicaCount(jobs.Worker) != 2 || got.Spec.NprocPerNode != 4 {
		t.Errorf("Get: %+v, want the spec as submitted", got.Spec)
	}
	if _, err := e.b.Submit(t.Context(), s); ferry.ErrorCode(err) != ferry.AlreadyExists {
		t.Errorf("second Submit: err %v, want AlreadyExists", err)
	}
	list, err := e.b.List(t.Context(), jobs.ListOptions{})
	if err != nil || len(list) != 1 || list[0].Name() != s.Name {
		t.Errorf("List: %d jobs, err %v, want tj", len(list), err)
	}

	// Logs come from the node-0 pod JobSet creates (here: the test).
	e.createPod(t, s.Name+"-node-0-0", map[string]string{
		kube.LabelJobSetName: s.Name, kube.LabelReplicatedJobName: kube.TrainerNodeJob, kube.LabelCompletionIndex: "0",
	}, "node")
	rc, err := e.b.Logs(t.Context(), s.Name, jobs.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("epoch=1 loss=0.9\n"))
	_, err = io.ReadFull(rc, buf)
	rc.Close()
	if err != nil || string(buf) != "epoch=1 loss=0.9\n" {
		t.Errorf("Master-0 log %q err %v, want the log's first line", buf, err)
	}
	if j, err := e.b.Get(t.Context(), s.Name); err != nil || len(j.Status.Replicas) != 1 || j.Status.Replicas[0].ID() != "Master-0" {
		t.Errorf("Get: replicas %+v err %v, want Master-0 from the node-0 pod", j.Status.Replicas, err)
	}

	if err := e.b.Delete(t.Context(), s.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Get(t.Context(), s.Name); !ferry.IsNotFound(err) {
		t.Errorf("Get after Delete: err %v, want NotFound", err)
	}
}

// What a TrainJob cannot express is refused before any request.
func TestTrainJobInvalidRefusedClientSide(t *testing.T) {
	e := newEnv(t, kube.Options{API: kube.APITrainerV2})
	base := func() jobs.Spec {
		return spec("bad", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 1})
	}
	cases := []struct {
		name   string
		spec   func() jobs.Spec
		code   ferry.Code
		substr string
	}{
		{"tensorflow", func() jobs.Spec { return spec("bad", jobs.TensorFlow, map[jobs.ReplicaType]int{jobs.Worker: 1}) }, ferry.NotSupported, "TFJob"},
		{"files", func() jobs.Spec { s := base(); s.Files = map[string]string{"train.py": "x"}; return s }, ferry.Invalid, "files"},
		{"working dir", func() jobs.Spec { s := base(); s.WorkingDir = "/w"; return s }, ferry.Invalid, "workingDir"},
		{"replica command", func() jobs.Spec {
			s := base()
			r := s.Replicas[jobs.Worker]
			r.Command = []string{"python3", "worker.py"}
			s.Replicas[jobs.Worker] = r
			return s
		}, ferry.Invalid, "replicas[Worker]"},
		{"backoff limit", func() jobs.Spec { s := base(); s.RunPolicy.BackoffLimit = ptr(3); return s }, ferry.Invalid, "runPolicy"},
		{"no image", func() jobs.Spec { s := base(); s.Image = ""; return s }, ferry.Invalid, "image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.reqs.n.Load()
			_, err := e.b.Submit(t.Context(), tc.spec())
			if ferry.ErrorCode(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("err %v, want %s naming %q", err, tc.code, tc.substr)
			}
			if n := e.reqs.n.Load() - before; n != 0 {
				t.Errorf("%d requests, want none", n)
			}
		})
	}
}

// kwok's Stages play Trainer v2: the TrainJob's conditions reach the watch
// as Created, Running, Succeeded or Failed.
func TestTrainJobWatch(t *testing.T) {
	e := newEnv(t, kube.Options{API: kube.APITrainerV2})
	cases := []struct {
		label  string
		want   []string
		reason string
	}{
		{"succeed", []string{"(none)", "Created", "Running", "Succeeded"}, "JobsCompleted"},
		{"fail", []string{"(none)", "Created", "Running", "Failed"}, "FailedJobs"},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			t.Parallel()
			s := spec("tj-"+tc.label, jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 1})
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
				t.Errorf("phases %v, want %v\n%s", phases, tc.want, e.k.Logs())
			}
			c, _ := last.Job.Status.Condition(jobs.ConditionType(tc.want[3]))
			if c.Reason != tc.reason || last.Job.Status.CompletionTime.IsZero() || last.Job.Status.StartTime.IsZero() {
				t.Errorf("final condition %+v start %v completion %v, want reason %s and both times", c,
					last.Job.Status.StartTime, last.Job.Status.CompletionTime, tc.reason)
			}
			rs := last.Job.Status.ReplicaStatuses["node"]
			if rs.Succeeded+rs.Failed != 1 || rs.Active != 0 {
				t.Errorf("node jobs status %+v, want 1 ended", rs)
			}
		})
	}
}
