package kube_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/tracking"
)

func openTracker(t *testing.T) storage.Tracker {
	t.Helper()
	tr, err := tracking.Open(t.Context(), tracking.DefaultURL(t.TempDir()), tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// newBackend returns another backend on e's namespace (a restart).
func (e *env) newBackend(t *testing.T, opts kube.Options) *kube.Backend {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", e.k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	opts.Config, opts.Namespace = cfg, e.ns
	b, err := kube.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// createPod creates the pod of a replica, as the operator would, on
// kwok's node: its log is testdata/master-0.log.
func (e *env) createPod(t *testing.T, name string, labels map[string]string, container string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:    testsrv.KwokNode,
			Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			Containers:  []corev1.Container{{Name: container, Image: "python:3.12"}},
		},
	}
	if _, err := e.core.CoreV1().Pods(e.ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitRun waits until the run satisfies ok, reading it from the store.
func waitRun(t *testing.T, tr storage.Tracker, id string, what string, ok func(storage.Run) bool) storage.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		run, err := tr.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(run) {
			return run
		}
		select {
		case <-ctx.Done():
			t.Fatalf("run %s: no %s: status %s, metrics %v", id, what, run.Status, run.Metrics)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type point struct {
	Step  int64
	Value float64
	Time  int64 // ms
}

func points(t *testing.T, tr storage.Tracker, runID, key string) []point {
	t.Helper()
	series, err := tr.MetricHistory(t.Context(), []string{runID}, []string{key})
	if err != nil {
		t.Fatal(err)
	}
	var out []point
	for _, s := range series {
		for _, p := range s.Points {
			out = append(out, point{p.Step, p.Value, p.Timestamp})
		}
	}
	return out
}

// A job gets a run: its metrics come from the primary replica's log while
// it runs, a new backend goes on without counting them twice, and the run
// ends FINISHED with the job.
func TestTrackingRunFollowsTheJob(t *testing.T) {
	tr := openTracker(t)
	e := newEnv(t, kube.Options{Tracker: tr})
	s := spec("tracked", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 1})
	s.Labels = map[string]string{"ferry-test/stages": "run", "ferry.notebook": "train.ipynb"}
	s.Experiment = "kube-jobs"
	ch, err := e.b.Watch(t.Context(), s.Name)
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.b.Submit(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if j.RunID == "" {
		t.Fatal("Submit: no RunID")
	}
	u, err := e.dyn.Resource(gvr("pytorchjobs")).Namespace(e.ns).Get(t.Context(), s.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.GetAnnotations()[kube.AnnotationRunID]; got != j.RunID {
		t.Errorf("annotation %s = %q, want %q", kube.AnnotationRunID, got, j.RunID)
	}
	run, err := tr.GetRun(t.Context(), j.RunID)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := tr.GetExperimentByName(t.Context(), "kube-jobs")
	if err != nil {
		t.Fatal(err)
	}
	wantTags := map[string]string{jobs.TagJobName: s.Name, jobs.TagJobUID: j.UID, jobs.TagJobKind: "pytorch", jobs.TagJobBackend: "kube"}
	for k, v := range wantTags {
		if run.Tags[k] != v {
			t.Errorf("run tag %s = %q, want %q", k, run.Tags[k], v)
		}
	}
	if run.Status != storage.RunRunning || run.ExperimentID != exp.ID || run.SourceNotebook != "train.ipynb" || run.Params["job.replicas.Worker"] != "1" {
		t.Errorf("run %+v: want RUNNING in experiment %s, notebook train.ipynb, param job.replicas.Worker=1", run, exp.ID)
	}
	watchPhases(t, ch, func(ev jobs.Event) bool { return ev.Job.Status.Phase() == jobs.Running })

	// The operator starts the pods: metrics arrive while the job runs.
	for _, typ := range []string{"master", "worker"} {
		e.createPod(t, s.Name+"-"+typ+"-0", map[string]string{kube.LabelJobName: s.Name, kube.LabelReplicaType: typ, kube.LabelReplicaIndex: "0"}, "pytorch")
	}
	// At the times of their lines in the log (testdata/master-0.log).
	want := []point{{1, 0.9, time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixMilli()}, {2, 0.5, time.Date(2026, 11, 27, 10, 0, 1, 0, time.UTC).UnixMilli()}}
	waitRun(t, tr, j.RunID, "loss at step 2", func(r storage.Run) bool { return r.Metrics["loss"].Step == 2 })
	if got := points(t, tr, j.RunID, "loss"); !slices.Equal(got, want) {
		t.Errorf("loss while running %v, want %v", got, want)
	}

	// A restart: the new backend reads the log again from its start.
	e.b.Close()
	b2 := e.newBackend(t, kube.Options{Tracker: tr})
	if got, err := b2.Get(t.Context(), s.Name); err != nil || got.RunID != j.RunID {
		t.Fatalf("Get from a new backend: RunID %q err %v, want %q", got.RunID, err, j.RunID)
	}
	// The operator marks the job Succeeded.
	now := time.Now().UTC().Format(time.RFC3339)
	cond := func(typ, status string) map[string]any {
		return map[string]any{"type": typ, "status": status, "reason": "PyTorchJob" + typ, "message": "test",
			"lastUpdateTime": now, "lastTransitionTime": now}
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{
		"conditions":      []any{cond("Created", "True"), cond("Running", "False"), cond("Succeeded", "True")},
		"replicaStatuses": map[string]any{"Master": map[string]any{"succeeded": 1}, "Worker": map[string]any{"succeeded": 1}},
		"completionTime":  now,
	}})
	if _, err := e.dyn.Resource(gvr("pytorchjobs")).Namespace(e.ns).Patch(t.Context(), s.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	run = waitRun(t, tr, j.RunID, "end", func(r storage.Run) bool { return r.Status.Terminal() })
	if run.Status != storage.RunFinished || run.EndTime.IsZero() {
		t.Errorf("run status %s end %v, want FINISHED with an end time", run.Status, run.EndTime)
	}
	if got := points(t, tr, j.RunID, "loss"); !slices.Equal(got, want) {
		t.Errorf("loss after a restart and the end %v, want %v (each point once)", got, want)
	}
}

// The run of a failed job ends FAILED, of a cancelled one KILLED; a job
// that fails before its pods start ends its run all the same.
func TestTrackingRunEndsWithTheJob(t *testing.T) {
	tr := openTracker(t)
	e := newEnv(t, kube.Options{Tracker: tr})
	t.Run("failed", func(t *testing.T) {
		s := spec("tracked-fail", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1})
		s.Labels = map[string]string{"ferry-test/stages": "fail"}
		j, err := e.b.Submit(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		run := waitRun(t, tr, j.RunID, "end", func(r storage.Run) bool { return r.Status.Terminal() })
		if run.Status != storage.RunFailed || len(run.Metrics) != 0 {
			t.Errorf("run status %s metrics %v, want FAILED without metrics (no pod)", run.Status, run.Metrics)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s := spec("tracked-cancel", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1})
		s.Labels = map[string]string{"ferry-test/stages": "run"}
		ch, err := e.b.Watch(t.Context(), s.Name)
		if err != nil {
			t.Fatal(err)
		}
		j, err := e.b.Submit(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		watchPhases(t, ch, func(ev jobs.Event) bool { return ev.Job.Status.Phase() == jobs.Running })
		if err := e.b.Cancel(t.Context(), s.Name); err != nil {
			t.Fatal(err)
		}
		run := waitRun(t, tr, j.RunID, "end", func(r storage.Run) bool { return r.Status.Terminal() })
		if run.Status != storage.RunKilled {
			t.Errorf("run status %s, want KILLED", run.Status)
		}
	})
	t.Run("disabled metrics", func(t *testing.T) {
		s := spec("tracked-nometrics", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1})
		s.Labels = map[string]string{"ferry-test/stages": "succeed"}
		s.Metrics.Disabled = true
		j, err := e.b.Submit(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		e.createPod(t, s.Name+"-master-0", map[string]string{kube.LabelJobName: s.Name, kube.LabelReplicaType: "master", kube.LabelReplicaIndex: "0"}, "pytorch")
		run := waitRun(t, tr, j.RunID, "end", func(r storage.Run) bool { return r.Status.Terminal() })
		if run.Status != storage.RunFinished || len(run.Metrics) != 0 {
			t.Errorf("run status %s metrics %v, want FINISHED without metrics", run.Status, run.Metrics)
		}
	})
}
