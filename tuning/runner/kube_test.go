package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/tuning"
)

var kwokLogsDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-runner-test-")
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

// cluster returns the API server of this test binary: etcd and
// kube-apiserver with the PyTorchJob CRD of the training operator v1.9.4,
// and kwok playing the operator (../../jobs/kube/testdata: a PyTorchJob
// labelled ferry-test/stages=succeed is Created, Running, then Succeeded,
// a second apart) and the kubelet, which serves every pod's log as
// ../../jobs/kube/testdata/master-0.log (epoch=1 loss=0.9, epoch=2
// loss=0.5).
func cluster(t *testing.T) *testsrv.Kube {
	t.Helper()
	logFile, err := filepath.Abs("../../jobs/kube/testdata/master-0.log")
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
		CRDs:        []string{"training-operator-v1.9.4/kubeflow.org_pytorchjobs.yaml"},
		Kwok:        true,
		KwokConfigs: []string{"../../jobs/kube/testdata/kwok-pytorchjob-stages.yaml", logs},
	})
}

var pytorchJobs = schema.GroupVersionResource{Group: "kubeflow.org", Version: "v1", Resource: "pytorchjobs"}

// operate creates the Master-0 pod of every PyTorchJob of the namespace,
// as the training operator would, on kwok's node (kwok's Stages play the
// rest of the operator: the job's conditions). It stops with the test.
func operate(t *testing.T, dyn dynamic.Interface, core kubernetes.Interface, ns string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		made := map[string]bool{}
		for ctx.Err() == nil {
			list, err := dyn.Resource(pytorchJobs).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, u := range list.Items {
					if made[u.GetName()] {
						continue
					}
					pod := &corev1.Pod{
						ObjectMeta: metav1.ObjectMeta{Name: u.GetName() + "-master-0", Labels: map[string]string{
							kube.LabelJobName: u.GetName(), kube.LabelReplicaType: "master", kube.LabelReplicaIndex: "0",
						}},
						Spec: corev1.PodSpec{
							NodeName:    testsrv.KwokNode,
							Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
							Containers:  []corev1.Container{{Name: "pytorch", Image: "python:3.12"}},
						},
					}
					_, err := core.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
					if err == nil || apierrors.IsAlreadyExists(err) {
						made[u.GetName()] = true
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
}

// Trials as PyTorchJobs on an API server: the runner submits them through
// jobs/kube, kwok runs them, the backend follows the Master's log into
// each trial's run (loss 0.9 then 0.5) and the runner reads the objective
// from there: every trial Succeeded with 0.5, the study Succeeded.
func TestKubeTrials(t *testing.T) {
	k := cluster(t)
	ns := k.NewNamespace(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := openTracker(t, dir)
	jb, err := kube.New(t.Context(), kube.Options{Kubeconfig: k.Kubeconfig, Namespace: ns, Tracker: tr, Logger: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer jb.Close()
	operate(t, dyn, core, ns)
	r := open(t, filepath.Join(dir, "studies"), jb, tr)
	defer r.Close()

	sp := quadSpec("kq")
	sp.Early = nil
	sp.ParallelTrials, sp.MaxTrials = 2, 4
	sp.Template.Job = &jobs.Spec{
		Kind:     jobs.PyTorch,
		Image:    "python:3.12",
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}},
		Command:  []string{"python3", "train.py", "--x", "${trialParameters.x}", "--n", "${trialParameters.n}"},
		Labels:   map[string]string{"ferry-test/stages": "succeed"},
	}
	if _, err := r.Create(t.Context(), sp); err != nil {
		t.Fatal(err)
	}
	st := wait(t, r, "kq", func(s *tuning.Study) bool { return s.State != tuning.StudyRunning })
	if st.State != tuning.StudySucceeded || st.Reason != "MaxTrialsReached" {
		t.Fatalf("study %s (%s: %s), want Succeeded, MaxTrialsReached; trials %v", st.State, st.Reason, st.Message, st.Count())
	}
	if len(st.Trials) != 4 {
		t.Fatalf("%d trials, want 4", len(st.Trials))
	}
	for _, trl := range st.Trials {
		if trl.State != tuning.Succeeded || trl.Value == nil || *trl.Value != 0.5 {
			v := "none"
			if trl.Value != nil {
				v = fmt.Sprint(*trl.Value)
			}
			t.Errorf("trial %s: %s (%s), value %s; want Succeeded with 0.5", trl.Name, trl.State, trl.Message, v)
			continue
		}
		if got, want := len(trl.Reports), 2; got != want {
			t.Errorf("trial %s: %d reports %v, want %d", trl.Name, got, trl.Reports, want)
		}
		run, err := tr.GetRun(t.Context(), trl.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if run.ParentRunID != st.RunID || run.Params["x"] != trl.Assignments[0].Value || run.Status != storage.RunFinished {
			t.Errorf("trial %s run: parent %q params %v status %s; want parent %q, x=%s, FINISHED",
				trl.Name, run.ParentRunID, run.Params, run.Status, st.RunID, trl.Assignments[0].Value)
		}
	}
	// Each trial's job got its values in its command.
	j, err := jb.Get(t.Context(), st.Trials[0].Job)
	if err != nil {
		t.Fatal(err)
	}
	a := st.Trials[0].Assignments
	if want := []string{"python3", "train.py", "--x", a[0].Value, "--n", a[1].Value}; fmt.Sprint(j.Spec.Command) != fmt.Sprint(want) {
		t.Errorf("trial job's command %q, want %q", j.Spec.Command, want)
	}
}
