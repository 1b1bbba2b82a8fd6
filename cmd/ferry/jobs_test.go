package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsapi"
	"github.com/ferryml/ferry/jobs/jobsclient"
	"github.com/ferryml/ferry/jobs/kube"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/storage/trackingapi"
)

func writeSpec(t *testing.T, spec jobs.Spec) string {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), spec.Name+".json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runJobsCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(t.Context(), append([]string{"jobs"}, args...), &out, &errb)
	return out.String() + errb.String(), err
}

// TestJobsCLILocal submits, lists, shows and reads a job on the local
// backend of the data directory, as without ferry lab.
func TestJobsCLILocal(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FERRY_DATA_DIR", dir)
	t.Setenv(tracking.EnvAPIURL, "")
	t.Setenv(tracking.EnvTrackingURL, "")
	spec := jobs.Spec{
		Name: "cli", Kind: jobs.PyTorch,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}},
		Command:  []string{"/bin/sh", "-c", `echo "hello from $RANK"; [ "$RANK" = 0 ] && echo "epoch=0 loss=0.75" || true`},
	}
	out, err := runJobsCLI(t, "submit", "-f", writeSpec(t, spec), "--wait")
	if err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	if !strings.Contains(out, "job cli submitted") || !strings.Contains(out, "Succeeded") || !strings.Contains(out, "0.75") {
		t.Errorf("submit --wait:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"list"}, []string{"cli", "pytorch", "Succeeded", "(1 jobs"}},
		{[]string{"list", "--status", "running"}, []string{"(0 jobs"}},
		{[]string{"show", "cli"}, []string{"status:   Succeeded", "Master-0", "Worker-0", "JobSucceeded"}},
		{[]string{"logs", "cli"}, []string{"hello from 0", "epoch=0 loss=0.75"}},
		{[]string{"logs", "cli", "--replica", "Worker-0"}, []string{"hello from 1"}},
		{[]string{"logs", "cli", "-f", "--tail", "1"}, []string{"epoch=0 loss=0.75"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := runJobsCLI(t, tc.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output:\n%s\nwant %q in it", out, w)
				}
			}
		})
	}
	out, err = runJobsCLI(t, "show", "cli", "--json")
	var j jobs.Job
	if err != nil || json.Unmarshal([]byte(out), &j) != nil || j.Status.Phase() != jobs.Succeeded || j.RunID == "" {
		t.Errorf("show --json: %v\n%s", err, out)
	}
	// The job's run is in the embedded tracking store of the data directory.
	tr, err := tracking.Open(t.Context(), tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := tr.GetRun(t.Context(), j.RunID)
	tr.Close()
	if err != nil || run.Metrics["loss"].Value != 0.75 {
		t.Errorf("run %+v, %v: want loss 0.75", run.Metrics, err)
	}
	if out, err := runJobsCLI(t, "delete", "cli"); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("delete: %v\n%s", err, out)
	}
}

// TestJobsCLIRemote drives a control plane: submit without waiting,
// cancel, and the errors.
func TestJobsCLIRemote(t *testing.T) {
	b, err := local.New(t.Context(), local.Options{Dir: t.TempDir(), GPUs: []string{}, GracePeriod: 3 * time.Second, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/api/ferry/v1", jobsapi.NewHandler(b, local.BackendName, nil)))
	t.Cleanup(func() {
		srv.Close()
		b.Close()
	})
	t.Setenv(tracking.EnvAPIURL, srv.URL+"/api/ferry/v1/")
	spec := jobs.Spec{
		Name: "sleepy", Kind: jobs.JAX,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 2}},
		Command:  []string{"sleep", "60"},
	}
	if out, err := runJobsCLI(t, "submit", "-f", writeSpec(t, spec)); err != nil || !strings.Contains(out, "job sleepy submitted (jax, 2 replicas") {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	j, err := b.Get(t.Context(), "sleepy")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runJobsCLI(t, "cancel", "sleepy"); err != nil || !strings.Contains(out, "job sleepy: Failed") {
		t.Errorf("cancel: %v\n%s", err, out)
	}
	if pids := local.MarkedProcesses(j.UID); len(pids) > 0 {
		t.Errorf("processes left after cancel: %v", pids)
	}

	spec.Name, spec.Command = "Bad", nil
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"submit", "-f", writeSpec(t, spec)}, `name "Bad"`},
		{[]string{"submit"}, "-f SPEC.json"},
		{[]string{"show"}, "give one job name"},
		{[]string{"show", "nope"}, `job "nope" not found`},
		{[]string{"logs", "sleepy", "--replica", "Chief-0"}, "roles [Worker]"},
		{[]string{"list", "--kind", "spark"}, "not a training kind"},
		{[]string{"restart", "x"}, `unknown command "restart"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := runJobsCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want an error saying %q\n%s", err, tc.want, out)
			}
		})
	}
}

// startLab runs `ferry lab` on a free port over dataDir until the test
// ends or stop is called; it returns the control plane's URL and stop.
func startLab(t *testing.T, dataDir string, extra ...string) (string, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		args := append([]string{"lab", "--port", strconv.Itoa(port), "--token", "tok", "--data-dir", dataDir,
			"--root", t.TempDir(), "--no-terminals", "--log-level", "warn"}, extra...)
		done <- Run(ctx, args, io.Discard, &syncWriter{w: &logs})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("lab: %v", err)
		}
	}
	t.Cleanup(stop)
	api := fmt.Sprintf("http://127.0.0.1:%d/api/ferry/v1/", port)
	for i := 0; ; i++ {
		req, _ := http.NewRequest("GET", api+"jobs", nil)
		req.Header.Set("Authorization", "token tok")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return api, stop
			}
		}
		select {
		case err := <-done:
			t.Fatalf("lab ended: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestLabJobs submits jobs to `ferry lab`'s control plane: the tracking
// routes and the jobs routes share it, a job's run is in the lab's tracking
// store, and a job running when the lab stops is re-attached by the next
// lab over the same data directory.
func TestLabJobs(t *testing.T) {
	dataDir := t.TempDir()
	api, stop := startLab(t, dataDir)
	ctx := t.Context()
	c := jobsapi.NewClient(api, "tok", nil)
	spec := jobs.Spec{
		Name: "quick", Kind: jobs.PyTorch,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}},
		Command:  []string{"/bin/sh", "-c", "echo epoch=0 loss=0.125"},
	}
	j, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	res := jobsclient.Monitor(ctx, c, j, nil, jobsclient.MonitorOptions{})
	if res.Err != nil || res.Job.Status.Phase() != jobs.Succeeded || res.Metrics["loss"] != 0.125 {
		t.Fatalf("job %s, metrics %v, %v: want Succeeded with loss 0.125", res.Job.Status.Phase(), res.Metrics, res.Err)
	}
	run, err := trackingapi.NewClient(api, "tok", nil).GetRun(ctx, j.RunID)
	if err != nil || run.Metrics["loss"].Value != 0.125 {
		t.Errorf("the job's run through the tracking API: %+v %v", run.Metrics, err)
	}

	spec.Name, spec.Command = "long", []string{"/bin/sh", "-c", "echo started; exec sleep 60"}
	long, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ch, err := c.Watch(wctx, "long")
	if err != nil {
		t.Fatal(err)
	}
	for ev := range ch {
		if ev.Job.Status.Phase() == jobs.Running {
			cancel()
		}
	}
	stop()
	if pids := local.MarkedProcesses(long.UID); len(pids) == 0 {
		t.Fatal("the job's process did not outlive the lab")
	}

	api, _ = startLab(t, dataDir)
	c = jobsapi.NewClient(api, "tok", nil)
	got, err := c.Get(ctx, "long")
	if err != nil || got.UID != long.UID || got.Status.Phase() != jobs.Running {
		t.Fatalf("after the restart: %s %s (%v), want the same job Running", got.UID, got.Status.Phase(), err)
	}
	if q, err := c.Get(ctx, "quick"); err != nil || q.Status.Phase() != jobs.Succeeded {
		t.Errorf("the finished job after the restart: %s %v", q.Status.Phase(), err)
	}
	if err := c.Cancel(ctx, "long"); err != nil {
		t.Fatal(err)
	}
	if pids := local.MarkedProcesses(long.UID); len(pids) > 0 {
		t.Errorf("processes left after cancel: %v", pids)
	}
}

// TestLabKubeJobs: `ferry lab --jobs-backend kube` submits jobs to a real
// Kubernetes API server as training-operator objects, through the same
// control-plane API; a bad backend name is refused.
func TestLabKubeJobs(t *testing.T) {
	if err := Run(t.Context(), []string{"lab", "--jobs-backend", "slurm", "--no-terminals", "--data-dir", t.TempDir()}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "use local or kube") {
		t.Errorf("--jobs-backend slurm: %v", err)
	}
	k := labKube(t)
	ns := k.NewNamespace(t)
	api, _ := startLab(t, t.TempDir(), "--jobs-backend", "kube", "--kubeconfig", k.Kubeconfig, "--kube-namespace", ns, "--kube-image", "python:3.12")
	c := jobsapi.NewClient(api, "tok", nil)
	spec := jobs.Spec{Name: "kube-from-lab", Kind: jobs.PyTorch, Command: []string{"python3", "-c", "print('loss=0.5')"},
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{"Master": {Replicas: 1}, "Worker": {Replicas: 1}}}
	got, err := c.Submit(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if got.Backend != "kube" {
		t.Errorf("backend %q, want kube", got.Backend)
	}
	// A backend of its own reads the job back from the cluster.
	kb, err := kube.New(t.Context(), kube.Options{Kubeconfig: k.Kubeconfig, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer kb.Close()
	onCluster, err := kb.Get(t.Context(), "kube-from-lab")
	if err != nil || onCluster.Spec.Kind != jobs.PyTorch {
		t.Fatalf("the PyTorchJob is not on the cluster: %+v, %v", onCluster, err)
	}
	if err := c.Cancel(t.Context(), "kube-from-lab"); err != nil {
		t.Fatal(err)
	}
	// Cancelling on Kubernetes deletes the object.
	if _, err := kb.Get(t.Context(), "kube-from-lab"); !ferry.IsNotFound(err) {
		t.Errorf("after cancel: %v, want NotFound", err)
	}
}

// labKube is this test binary's API server, with the training operator's
// and Katib's CRDs.
func labKube(t *testing.T) *testsrv.Kube {
	return testsrv.SharedKube(t, testsrv.KubeOptions{CRDs: []string{"training-operator-v1.9.4", "katib-v0.19.0"}})
}

func TestMain(m *testing.M) {
	code := m.Run()
	testsrv.StopSharedKube()
	os.Exit(code)
}
