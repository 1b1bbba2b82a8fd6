package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/tracking"
)

// python is Debian's interpreter, which has python3-torch, python3-xgboost
// and python3-mpi4py (a pyenv python3 on PATH does not).
const python = "/usr/bin/python3"

// waitLimit bounds every wait for a job; reaching it fails the test.
const waitLimit = 2 * time.Minute

// requirePython skips the test when Debian's python lacks a module, except
// in CI (CI set), where the module must be installed.
func requirePython(t *testing.T, modules ...string) {
	t.Helper()
	for _, m := range modules {
		if err := exec.Command(python, "-c", "import "+m).Run(); err != nil {
			msg := "Debian python3 cannot import " + m + ": apt-get install python3-torch python3-xgboost openmpi-bin python3-mpi4py"
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

func openTracker(t *testing.T, dir string) storage.Tracker {
	t.Helper()
	tr, err := tracking.Open(t.Context(), tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// testLogger writes the backend's log to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newBackend(t *testing.T, dir string, tr storage.Tracker) *local.Backend {
	t.Helper()
	b, err := local.New(t.Context(), local.Options{
		Dir: dir, Tracker: tr, GPUs: []string{}, Logger: testLogger(t),
		GracePeriod: 3 * time.Second, RestartDelay: 20 * time.Millisecond, PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, b) })
	return b
}

// stopAll cancels what still runs, so no test leaves processes behind, and
// closes b.
func stopAll(t *testing.T, b *local.Backend) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	js, _ := b.List(ctx, jobs.ListOptions{})
	for _, j := range js {
		if err := b.Cancel(ctx, j.Name()); err != nil && !strings.Contains(err.Error(), "closed") {
			t.Errorf("cancel %s: %v", j.Name(), err)
		}
	}
	b.Close()
}

// waitFor watches job name until cond holds.
func waitFor(t *testing.T, b *local.Backend, name string, what string, cond func(*jobs.Job) bool) jobs.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	ch, err := b.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var last jobs.Job
	for ev := range ch {
		last = ev.Job
		if cond(&last) {
			return last
		}
	}
	t.Fatalf("job %s: not %s within %s; last status: %+v\nlogs:\n%s", name, what, waitLimit, last.Status, allLogs(b, name))
	return last
}

// waitEnded waits until the job has finished and none of its replicas runs.
func waitEnded(t *testing.T, b *local.Backend, name string) jobs.Job {
	t.Helper()
	return waitFor(t, b, name, "ended", func(j *jobs.Job) bool {
		if !j.Status.Finished() {
			return false
		}
		for _, r := range j.Status.Replicas {
			if r.Phase == jobs.ReplicaRunning || r.Phase == jobs.ReplicaPending {
				return false
			}
		}
		return true
	})
}

func allLogs(b *local.Backend, name string) string {
	j, err := b.Get(context.Background(), name)
	if err != nil {
		return err.Error()
	}
	var sb strings.Builder
	for _, r := range j.Status.Replicas {
		sb.WriteString("--- " + r.ID() + "\n")
		sb.WriteString(readLog(b, name, jobs.LogOptions{Replica: r.Type, Index: r.Index}))
	}
	return sb.String()
}

func readLog(b *local.Backend, name string, opts jobs.LogOptions) string {
	rc, err := b.Logs(context.Background(), name, opts)
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	return string(data)
}

func requireSucceeded(t *testing.T, b *local.Backend, j jobs.Job) {
	t.Helper()
	if got := j.Status.Phase(); got != jobs.Succeeded {
		c, _ := j.Status.Condition(jobs.Failed)
		t.Fatalf("job %s ended %s (%s: %s), want Succeeded\nlogs:\n%s", j.Name(), got, c.Reason, c.Message, allLogs(b, j.Name()))
	}
	if j.Status.CompletionTime.IsZero() || j.Status.StartTime.IsZero() {
		t.Errorf("start %v, completion %v: want both set", j.Status.StartTime, j.Status.CompletionTime)
	}
}

// history returns the values of metric key of run id, by step.
func history(t *testing.T, tr storage.Tracker, runID, key string) []storage.MetricPoint {
	t.Helper()
	series, err := tr.MetricHistory(t.Context(), []string{runID}, []string{key})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) == 0 {
		return nil
	}
	return series[0].Points
}

func requireRun(t *testing.T, tr storage.Tracker, j jobs.Job, want storage.RunStatus) storage.Run {
	t.Helper()
	if j.RunID == "" {
		t.Fatal("job has no tracking run")
	}
	run, err := tr.GetRun(t.Context(), j.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != want {
		t.Errorf("run status %s, want %s", run.Status, want)
	}
	if run.Tags[jobs.TagJobName] != j.Name() || run.Tags[jobs.TagJobUID] != j.UID {
		t.Errorf("run tags %v: want the job's name and uid", run.Tags)
	}
	return run
}

// scanJobProcesses lists live processes whose environment holds the job's
// FERRY_JOB_UID, read from /proc independently of the backend's own scan.
func scanJobProcesses(t *testing.T, uid string, also ...string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte("\x00FERRY_JOB_UID="+uid+"\x00")) && !bytes.HasPrefix(env, []byte("FERRY_JOB_UID="+uid+"\x00")) {
			continue
		}
		if !containsAll(env, also) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue // a zombie: dead, waiting for its parent
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

func containsAll(env []byte, kvs []string) bool {
	vars := bytes.Split(env, []byte{0})
	for _, kv := range kvs {
		if !slices.ContainsFunc(vars, func(v []byte) bool { return string(v) == kv }) {
			return false
		}
	}
	return true
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPyTorchDDP(t *testing.T) {
	requirePython(t, "torch")
	t.Parallel()
	dir := t.TempDir()
	tr := openTracker(t, dir)
	b := newBackend(t, filepath.Join(dir, "jobs"), tr)
	j, err := b.Submit(t.Context(), jobs.Spec{
		Name: "ddp", Kind: jobs.PyTorch,
		Replicas:   map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}},
		Command:    []string{python, "ddp.py"},
		Files:      map[string]string{"ddp.py": readTestdata(t, "ddp.py")},
		Resources:  jobs.Resources{CPU: "1", Memory: "1Gi"},
		Experiment: "ddp-tests",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := j.Status.Condition(jobs.Created); !ok || !c.Status {
		t.Errorf("submitted job conditions %+v: want Created", j.Status.Conditions)
	}
	j = waitEnded(t, b, "ddp")
	requireSucceeded(t, b, j)
	for _, r := range j.Status.Replicas {
		if r.Phase != jobs.ReplicaSucceeded || r.ExitCode == nil || *r.ExitCode != 0 {
			t.Errorf("replica %s: phase %s exit %v, want Succeeded 0", r.ID(), r.Phase, r.ExitCode)
		}
	}
	if got := j.Status.ReplicaStatuses[jobs.Worker]; got.Succeeded != 1 {
		t.Errorf("Worker statuses %+v, want 1 succeeded", got)
	}
	run := requireRun(t, tr, j, storage.RunFinished)
	pts := history(t, tr, j.RunID, "loss")
	if len(pts) != 3 {
		t.Fatalf("loss history %+v, want 3 epochs\nlogs:\n%s", pts, allLogs(b, "ddp"))
	}
	for i, p := range pts {
		if p.Step != int64(i) {
			t.Errorf("loss point %d has step %d, want the epoch %d", i, p.Step, i)
		}
	}
	if !(pts[2].Value < pts[0].Value) {
		t.Errorf("loss %v → %v: want it to fall", pts[0].Value, pts[2].Value)
	}
	if run.Params["job.kind"] != "pytorch" || run.Params["job.replicas.Worker"] != "1" {
		t.Errorf("run params %v", run.Params)
	}
	exp, err := tr.GetExperimentByName(t.Context(), "ddp-tests")
	if err != nil || exp.ID != run.ExperimentID {
		t.Errorf("run experiment %s, experiment ddp-tests %+v (%v)", run.ExperimentID, exp, err)
	}
	if logs := readLog(b, "ddp", jobs.LogOptions{}); !strings.Contains(logs, "epoch=2 loss=") {
		t.Errorf("master log %q: want the epoch lines", logs)
	}
}

func TestXGBoost(t *testing.T) {
	requirePython(t, "xgboost")
	t.Parallel()
	dir := t.TempDir()
	tr := openTracker(t, dir)
	b := newBackend(t, filepath.Join(dir, "jobs"), tr)
	_, err := b.Submit(t.Context(), jobs.Spec{
		Name: "xgb", Kind: jobs.XGBoost,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}},
		Command:  []string{python, "xgb.py"},
		Files:    map[string]string{"xgb.py": readTestdata(t, "xgb.py")},
	})
	if err != nil {
		t.Fatal(err)
	}
	j := waitEnded(t, b, "xgb")
	requireSucceeded(t, b, j)
	requireRun(t, tr, j, storage.RunFinished)
	pts := history(t, tr, j.RunID, "rmse")
	if len(pts) != 4 {
		t.Fatalf("rmse history %+v, want 4 rounds\nlogs:\n%s", pts, allLogs(b, "xgb"))
	}
	if pts[3].Step != 3 || !(pts[3].Value < pts[0].Value) {
		t.Errorf("rmse %+v: want steps 0..3 and a falling error", pts)
	}
}

func TestMPI(t *testing.T) {
	requirePython(t, "mpi4py")
	if _, err := exec.LookPath("mpirun"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mpirun not on PATH: apt-get install openmpi-bin")
		}
		t.Skip("mpirun not on PATH: apt-get install openmpi-bin")
	}
	t.Parallel()
	dir := t.TempDir()
	tr := openTracker(t, dir)
	b := newBackend(t, filepath.Join(dir, "jobs"), tr)
	_, err := b.Submit(t.Context(), jobs.Spec{
		Name: "mpi", Kind: jobs.MPI,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Launcher: {Replicas: 1}, jobs.Worker: {Replicas: 2}},
		Command:  []string{python, "mpi.py"},
		Files:    map[string]string{"mpi.py": readTestdata(t, "mpi.py")},
	})
	if err != nil {
		t.Fatal(err)
	}
	j := waitEnded(t, b, "mpi")
	requireSucceeded(t, b, j)
	if got := j.Status.ReplicaStatuses[jobs.Worker]; got.Succeeded != 2 {
		t.Errorf("Worker statuses %+v, want the 2 ranks succeeded", got)
	}
	requireRun(t, tr, j, storage.RunFinished)
	if pts := history(t, tr, j.RunID, "sum"); len(pts) != 1 || pts[0].Value != 3 {
		t.Errorf("sum %+v, want one point 3 (1+2 over 2 ranks)\nlogs:\n%s", pts, allLogs(b, "mpi"))
	}
	if pts := history(t, tr, j.RunID, "ranks"); len(pts) != 1 || pts[0].Value != 2 {
		t.Errorf("ranks %+v, want 2", pts)
	}
	if w := readLog(b, "mpi", jobs.LogOptions{Replica: jobs.Worker, Index: 1}); !strings.Contains(w, "ranks=2 sum=3") {
		t.Errorf("worker log %q: want the launcher's output, where the ranks write", w)
	}
}

func TestTFConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr := openTracker(t, dir)
	b := newBackend(t, filepath.Join(dir, "jobs"), tr)
	_, err := b.Submit(t.Context(), jobs.Spec{
		Name: "tf", Kind: jobs.TensorFlow,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{
			jobs.Chief: {Replicas: 1}, jobs.PS: {Replicas: 1}, jobs.Worker: {Replicas: 2}},
		Command: []string{python, "tfconfig.py"},
		Files:   map[string]string{"tfconfig.py": readTestdata(t, "tfconfig.py")},
	})
	if err != nil {
		t.Fatal(err)
	}
	j := waitEnded(t, b, "tf")
	requireSucceeded(t, b, j)
	requireRun(t, tr, j, storage.RunFinished)
	for _, r := range j.Status.Replicas {
		if r.Phase != jobs.ReplicaSucceeded {
			t.Errorf("%s ended %s (%s): want Succeeded\n%s", r.ID(), r.Phase, r.Message, allLogs(b, "tf"))
		}
		want := "task=" + strings.ToLower(string(r.Type)) + ":" + strconv.Itoa(r.Index) + " ok=1"
		if got := readLog(b, "tf", jobs.LogOptions{Replica: r.Type, Index: r.Index}); !strings.Contains(got, want) {
			t.Errorf("%s log %q: want %q", r.ID(), got, want)
		}
	}
	if pts := history(t, tr, j.RunID, "ok"); len(pts) != 1 {
		t.Errorf("ok %+v: want one point from the chief", pts)
	}
}

// TestEnvContract checks the variables of the kinds without a framework
// here (Paddle, MXNet, JAX, and PyTorch's PET_* names) in each replica's
// own environment.
func TestEnvContract(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := newBackend(t, dir, nil)
	printEnv := []string{"/bin/sh", "-c", "env | sort"}
	cases := []struct {
		spec jobs.Spec
		// want maps replica id to variables its environment must hold;
		// "*" is any non-empty value.
		want map[string]map[string]string
	}{
		{
			spec: jobs.Spec{Name: "env-pytorch", Kind: jobs.PyTorch, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{
				jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 2}}},
			want: map[string]map[string]string{
				"Master-0": {"MASTER_ADDR": "127.0.0.1", "RANK": "0", "WORLD_SIZE": "3", "PET_NODE_RANK": "0", "PET_NNODES": "3", "PET_NPROC_PER_NODE": "1", "PET_MASTER_ADDR": "127.0.0.1", "PET_MASTER_PORT": "*", "MASTER_PORT": "*"},
				"Worker-1": {"RANK": "2", "PET_NODE_RANK": "2", "FERRY_REPLICA_TYPE": "Worker", "FERRY_REPLICA_INDEX": "1", "PYTHONUNBUFFERED": "1"},
			},
		},
		{
			spec: jobs.Spec{Name: "env-paddle", Kind: jobs.Paddle, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{
				jobs.Worker: {Replicas: 2}}},
			want: map[string]map[string]string{
				"Worker-0": {"PADDLE_MASTER": "*", "PADDLE_NNODES": "2", "PADDLE_JOB_ID": "env-paddle"},
				"Worker-1": {"PADDLE_NNODES": "2"},
			},
		},
		{
			spec: jobs.Spec{Name: "env-mxnet", Kind: jobs.MXNet, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{
				jobs.Scheduler: {Replicas: 1}, jobs.Server: {Replicas: 1}, jobs.Worker: {Replicas: 2}}},
			want: map[string]map[string]string{
				"Scheduler-0": {"DMLC_ROLE": "scheduler", "DMLC_PS_ROOT_URI": "127.0.0.1", "DMLC_PS_ROOT_PORT": "*", "DMLC_NUM_SERVER": "1", "DMLC_NUM_WORKER": "2", "MX_CONFIG": "*"},
				"Worker-1":    {"DMLC_ROLE": "worker", "DMLC_NUM_WORKER": "2"},
				"Server-0":    {"DMLC_ROLE": "server"},
			},
		},
		{
			spec: jobs.Spec{Name: "env-jax", Kind: jobs.JAX, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{
				jobs.Worker: {Replicas: 2}}, Resources: jobs.Resources{CPU: "2500m"}},
			want: map[string]map[string]string{
				"Worker-0": {"COORDINATOR_ADDRESS": "127.0.0.1", "COORDINATOR_PORT": "*", "NUM_PROCESSES": "2", "PROCESS_ID": "0", "OMP_NUM_THREADS": "2"},
				"Worker-1": {"PROCESS_ID": "1"},
			},
		},
	}
	for _, tc := range cases {
		spec := tc.spec
		spec.Command = printEnv
		spec.Env = map[string]string{"MY_SETTING": "kept", "RANK": "overridden by the contract"}
		if _, err := b.Submit(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range cases {
		t.Run(tc.spec.Name, func(t *testing.T) {
			j := waitEnded(t, b, tc.spec.Name)
			requireSucceeded(t, b, j)
			ports := map[string]string{}
			for _, r := range j.Status.Replicas {
				env := map[string]string{}
				for line := range strings.Lines(readLog(b, j.Name(), jobs.LogOptions{Replica: r.Type, Index: r.Index})) {
					if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
						env[k] = v
					}
				}
				if env["MY_SETTING"] != "kept" || env["FERRY_JOB_UID"] != j.UID {
					t.Errorf("%s: MY_SETTING=%q FERRY_JOB_UID=%q: want the spec's env and the job's uid", r.ID(), env["MY_SETTING"], env["FERRY_JOB_UID"])
				}
				for k, want := range tc.want[r.ID()] {
					got, ok := env[k]
					if !ok || (want == "*" && got == "") || (want != "*" && got != want) {
						t.Errorf("%s: %s=%q, want %q", r.ID(), k, got, want)
					}
				}
				for _, k := range []string{"MASTER_PORT", "DMLC_PS_ROOT_PORT", "COORDINATOR_PORT"} {
					if v := env[k]; v != "" {
						if p := ports[k]; p != "" && p != v {
							t.Errorf("%s: %s=%s but another replica has %s: want one rendezvous port", r.ID(), k, v, p)
						}
						ports[k] = v
					}
				}
			}
		})
	}
}

func TestRestartThenFail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr := openTracker(t, dir)
	b := newBackend(t, filepath.Join(dir, "jobs"), tr)
	backoff := 2
	// Worker-1 fails every time; Worker-0 would run for long.
	script := `if [ "$FERRY_REPLICA_INDEX" = 1 ]; then echo "loading data"; echo "boom: bad shard $RANK" >&2; exit 3; fi; exec sleep 300`
	_, err := b.Submit(t.Context(), jobs.Spec{
		Name: "flaky", Kind: jobs.PyTorch,
		Replicas:  map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 2}},
		Command:   []string{"/bin/sh", "-c", script},
		RunPolicy: jobs.RunPolicy{RestartPolicy: jobs.RestartOnFailure, BackoffLimit: &backoff},
	})
	if err != nil {
		t.Fatal(err)
	}
	sawRestarting := false
	j := waitFor(t, b, "flaky", "ended", func(j *jobs.Job) bool {
		if j.Status.Phase() == jobs.Restarting {
			sawRestarting = true
		}
		return j.Status.Finished() && j.Status.ReplicaStatuses[jobs.Worker].Active == 0
	})
	if !sawRestarting {
		if _, ok := j.Status.Condition(jobs.Restarting); !ok {
			t.Error("no Restarting condition seen")
		}
	}
	c, ok := j.Status.Condition(jobs.Failed)
	if !ok || !c.Status || j.Status.Phase() != jobs.Failed {
		t.Fatalf("conditions %+v: want Failed", j.Status.Conditions)
	}
	if c.Reason != jobs.ReasonBackoffLimitExceeded {
		t.Errorf("reason %s, want %s", c.Reason, jobs.ReasonBackoffLimitExceeded)
	}
	for _, want := range []string{"Worker-1 exited with code 3", "boom: bad shard 1", "loading data"} {
		if !strings.Contains(c.Message, want) {
			t.Errorf("message %q: want %q", c.Message, want)
		}
	}
	w1 := j.Status.Replicas[1]
	if w1.Restarts != 2 || w1.ExitCode == nil || *w1.ExitCode != 3 || w1.Phase != jobs.ReplicaFailed {
		t.Errorf("Worker-1 %+v: want 2 restarts, exit code 3, Failed", w1)
	}
	if n := strings.Count(readLog(b, "flaky", jobs.LogOptions{Replica: jobs.Worker, Index: 1}), "boom"); n != 3 {
		t.Errorf("Worker-1 log has %d failures, want 3 (first run and 2 restarts)", n)
	}
	requireRun(t, tr, j, storage.RunFailed)
	if ps := scanJobProcesses(t, j.UID); len(ps) > 0 {
		t.Errorf("processes left after the job failed: %v", ps)
	}
}

func TestExitCodePolicy(t *testing.T) {
	t.Parallel()
	b := newBackend(t, t.TempDir(), nil)
	// Killed by SIGKILL (137, retryable) once, then a permanent error (2).
	script := `if [ -e killed ]; then echo permanent; exit 2; fi; touch killed; kill -9 $$`
	_, err := b.Submit(t.Context(), jobs.Spec{
		Name: "codes", Kind: jobs.JAX,
		Replicas:  map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 1}},
		Command:   []string{"/bin/sh", "-c", script},
		RunPolicy: jobs.RunPolicy{RestartPolicy: jobs.RestartExitCode},
	})
	if err != nil {
		t.Fatal(err)
	}
	j := waitEnded(t, b, "codes")
	r := j.Status.Replicas[0]
	c, _ := j.Status.Condition(jobs.Failed)
	if j.Status.Phase() != jobs.Failed || c.Reason != jobs.ReasonFailed || r.Restarts != 1 || *r.ExitCode != 2 {
		t.Errorf("job %s (%s: %s), replica restarts %d exit %d: want Failed after 1 restart with code 2", j.Status.Phase(), c.Reason, c.Message, r.Restarts, *r.ExitCode)
	}
}

func TestCancelLeavesNoProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr := openTracker(t, dir)
	b := newBackend(t, filepath.Join(dir, "jobs"), tr)
	// Each replica starts children, one of which leaves the process group
	// (setsid), and ignores SIGTERM, so only SIGKILL and the scan stop it.
	script := `trap '' TERM; sleep 300 & setsid sleep 301 & echo started; wait`
	j, err := b.Submit(t.Context(), jobs.Spec{
		Name: "cancel-me", Kind: jobs.PyTorch,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 2}},
		Command:  []string{"/bin/sh", "-c", script},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "cancel-me", "running", func(j *jobs.Job) bool { return j.Status.Phase() == jobs.Running })
	// 4 processes per replica: the wrapper, the script's shell, 2 sleeps.
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	for n := 0; n < 12; n = len(scanJobProcesses(t, j.UID, "FERRY_JOB_NAME=cancel-me")) {
		select {
		case <-ctx.Done():
			t.Fatalf("%d processes of the job, want 12: %v", n, scanJobProcesses(t, j.UID))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := b.Cancel(t.Context(), "cancel-me"); err != nil {
		t.Fatal(err)
	}
	if ps := scanJobProcesses(t, j.UID); len(ps) > 0 {
		t.Errorf("processes left after Cancel: %v", ps)
	}
	got, err := b.Get(t.Context(), "cancel-me")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := got.Status.Condition(jobs.Failed)
	if got.Status.Phase() != jobs.Failed || c.Reason != jobs.ReasonCancelled {
		t.Errorf("after Cancel: %s %s, want Failed %s", got.Status.Phase(), c.Reason, jobs.ReasonCancelled)
	}
	for _, r := range got.Status.Replicas {
		if r.Phase != jobs.ReplicaFailed || r.ExitCode == nil || *r.ExitCode < 128 {
			t.Errorf("%s: %s exit %v, want Failed with a signal's code (128+N)", r.ID(), r.Phase, r.ExitCode)
		}
	}
	requireRun(t, tr, got, storage.RunKilled)
	// Delete removes the record and the logs.
	if err := b.Delete(t.Context(), "cancel-me"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(t.Context(), "cancel-me"); !ferry.IsNotFound(err) {
		t.Errorf("Get after Delete: %v, want NotFound", err)
	}
	if _, err := os.Stat(filepath.Join(b.Dir(), "cancel-me")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("job directory after Delete: %v, want it gone", err)
	}
}

func TestActiveDeadline(t *testing.T) {
	t.Parallel()
	b := newBackend(t, t.TempDir(), nil)
	deadline := int64(1)
	_, err := b.Submit(t.Context(), jobs.Spec{
		Name: "slow", Kind: jobs.XGBoost,
		Replicas:  map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}},
		Command:   []string{"sleep", "300"},
		RunPolicy: jobs.RunPolicy{ActiveDeadlineSeconds: &deadline},
	})
	if err != nil {
		t.Fatal(err)
	}
	j := waitEnded(t, b, "slow")
	if c, _ := j.Status.Condition(jobs.Failed); j.Status.Phase() != jobs.Failed || c.Reason != jobs.ReasonDeadlineExceeded {
		t.Errorf("job %s %s, want Failed %s", j.Status.Phase(), c.Reason, jobs.ReasonDeadlineExceeded)
	}
	if ps := scanJobProcesses(t, j.UID); len(ps) > 0 {
		t.Errorf("processes left: %v", ps)
	}
}

// TestRestartedBackend drops the Backend mid-job (as when notebookd
// restarts): one replica ends while no Backend runs, the other after a new
// Backend over the same directory re-attached it. The job's record, logs,
// metrics and final state survive.
func TestRestartedBackend(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr := openTracker(t, dir)
	state := filepath.Join(dir, "jobs")
	b1, err := local.New(t.Context(), local.Options{Dir: state, Tracker: tr, GPUs: []string{}, PollInterval: 20 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	gate := t.TempDir()
	// Worker i prints a metric, waits for file go-i, prints another, ends.
	script := `echo "step=0 loss=0.9"; while [ ! -e "$GATE/go-$FERRY_REPLICA_INDEX" ]; do sleep 0.02; done; echo "step=1 loss=0.4"; echo "done $FERRY_REPLICA_INDEX"`
	j, err := b1.Submit(t.Context(), jobs.Spec{
		Name: "survivor", Kind: jobs.JAX,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 2}},
		Command:  []string{"/bin/sh", "-c", script},
		Env:      map[string]string{"GATE": gate},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range local.MarkedProcesses(j.UID) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	waitFor(t, b1, "survivor", "running", func(j *jobs.Job) bool { return j.Status.Phase() == jobs.Running })
	b1.Close() // notebookd stops; the replicas run on

	// Worker-0 ends while no Backend watches it.
	if err := os.WriteFile(filepath.Join(gate, "go-0"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	for len(scanJobProcesses(t, j.UID, "FERRY_REPLICA_INDEX=0")) > 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("Worker-0 did not end: %v", scanJobProcesses(t, j.UID))
		case <-time.After(20 * time.Millisecond):
		}
	}

	b2 := newBackend(t, state, tr)
	got, err := b2.Get(t.Context(), "survivor")
	if err != nil {
		t.Fatalf("the new Backend does not know the job: %v", err)
	}
	if got.UID != j.UID || got.RunID != j.RunID {
		t.Errorf("job after restart uid %s run %s, want %s %s", got.UID, got.RunID, j.UID, j.RunID)
	}
	if logs := readLog(b2, "survivor", jobs.LogOptions{Replica: jobs.Worker, Index: 1}); !strings.Contains(logs, "step=0 loss=0.9") {
		t.Errorf("Worker-1 log after restart %q: want its first line", logs)
	}
	// Follow Worker-1's log from the new Backend while it ends.
	rc, err := b2.Logs(t.Context(), "survivor", jobs.LogOptions{Replica: jobs.Worker, Index: 1, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := os.WriteFile(filepath.Join(gate, "go-1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	followed, err := io.ReadAll(rc)
	if err != nil || !strings.Contains(string(followed), "done 1") {
		t.Errorf("followed log %q (%v): want it to run to the replica's end", followed, err)
	}
	final := waitEnded(t, b2, "survivor")
	requireSucceeded(t, b2, final)
	for _, r := range final.Status.Replicas {
		if r.ExitCode == nil || *r.ExitCode != 0 {
			t.Errorf("%s exit code %v, want 0 (read from the exit code file)", r.ID(), r.ExitCode)
		}
	}
	requireRun(t, tr, final, storage.RunFinished)
	if pts := history(t, tr, final.RunID, "loss"); len(pts) != 2 || pts[0].Value != 0.9 || pts[1].Value != 0.4 {
		t.Errorf("loss %+v: want 0.9 at step 0 and 0.4 at step 1, each once", pts)
	}
	// A third Backend sees the final state.
	b2.Close()
	b3 := newBackend(t, state, tr)
	again, err := b3.Get(t.Context(), "survivor")
	if err != nil || again.Status.Phase() != jobs.Succeeded {
		t.Errorf("third Backend: %s (%v), want Succeeded", again.Status.Phase(), err)
	}
}

func TestSubmitRefusesInvalid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := newBackend(t, dir, nil)
	_, err := b.Submit(t.Context(), jobs.Spec{
		Name: "bad", Kind: jobs.PyTorch,
		Replicas:  map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Launcher: {Replicas: 1}},
		Command:   []string{"true"},
		Resources: jobs.Resources{CPU: "2x"},
	})
	if ferry.ErrorCode(err) != ferry.Invalid {
		t.Fatalf("Submit: %v, want an Invalid error", err)
	}
	for _, want := range []string{"replicas[Launcher]", "Master or Worker", `resources.cpu "2x"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want %q", err, want)
		}
	}
	_, err = b.Submit(t.Context(), jobs.Spec{Name: "nocmd", Kind: jobs.JAX,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 1}},
		Command:  []string{"no-such-program-ferry"}})
	if ferry.ErrorCode(err) != ferry.Invalid || !strings.Contains(err.Error(), "not found on PATH") {
		t.Errorf("Submit of a missing program: %v, want Invalid naming PATH", err)
	}
	ents, _ := os.ReadDir(dir)
	ents = slices.DeleteFunc(ents, func(e os.DirEntry) bool { return e.Name() == ".lock" }) // the backend's own
	if len(ents) != 0 {
		t.Errorf("state directory after refused submissions holds %v, want nothing but .lock", ents)
	}
	if js, _ := b.List(t.Context(), jobs.ListOptions{}); len(js) != 0 {
		t.Errorf("List: %d jobs, want none", len(js))
	}
	// Names are unique.
	spec := jobs.Spec{Name: "once", Kind: jobs.JAX, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 1}}, Command: []string{"true"}}
	if _, err := b.Submit(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Submit(t.Context(), spec); ferry.ErrorCode(err) != ferry.AlreadyExists {
		t.Errorf("second Submit of %s: %v, want AlreadyExists", spec.Name, err)
	}
	waitEnded(t, b, "once")
}

// TestGPUAssignment gives the backend two devices (this machine has no GPU;
// the list stands in for `nvidia-smi -L`) and checks that each replica sees
// only its own and that a job finds none free while another holds them.
func TestGPUAssignment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b, err := local.New(t.Context(), local.Options{Dir: dir, GPUs: []string{"0", "1"}, PollInterval: 20 * time.Millisecond, GracePeriod: time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, b) })
	gate := t.TempDir()
	_, err = b.Submit(t.Context(), jobs.Spec{
		Name: "gpus", Kind: jobs.PyTorch,
		Replicas:  map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}},
		Command:   []string{"/bin/sh", "-c", `echo "cuda=[$CUDA_VISIBLE_DEVICES]"; while [ ! -e "$GATE/go" ]; do sleep 0.02; done`},
		Env:       map[string]string{"GATE": gate},
		Resources: jobs.Resources{GPU: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	cpuOnly := jobs.Spec{Name: "cpu-only", Kind: jobs.JAX, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 1}},
		Command: []string{"/bin/sh", "-c", `echo "cuda=[$CUDA_VISIBLE_DEVICES]"`}}
	if _, err := b.Submit(t.Context(), cpuOnly); err != nil {
		t.Fatal(err)
	}
	busy := cpuOnly
	busy.Name, busy.Resources.GPU = "busy", 1
	if _, err := b.Submit(t.Context(), busy); ferry.ErrorCode(err) != ferry.Unavailable || !strings.Contains(err.Error(), "gpus") {
		t.Errorf("Submit while both GPUs are held: %v, want Unavailable naming job gpus", err)
	}
	tooMany := cpuOnly
	tooMany.Name, tooMany.Resources.GPU = "too-many", 3
	if _, err := b.Submit(t.Context(), tooMany); ferry.ErrorCode(err) != ferry.Invalid {
		t.Errorf("Submit of 3 GPUs on a 2-GPU machine: %v, want Invalid", err)
	}
	os.WriteFile(filepath.Join(gate, "go"), nil, 0o644)
	j := waitEnded(t, b, "gpus")
	requireSucceeded(t, b, j)
	var seen []string
	for _, r := range j.Status.Replicas {
		seen = append(seen, strings.TrimSpace(readLog(b, "gpus", jobs.LogOptions{Replica: r.Type, Index: r.Index})))
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"cuda=[0]", "cuda=[1]"}) {
		t.Errorf("replicas saw %q, want one device each", seen)
	}
	waitEnded(t, b, "cpu-only")
	if got := strings.TrimSpace(readLog(b, "cpu-only", jobs.LogOptions{})); got != "cuda=[]" {
		t.Errorf("replica without GPUs saw %q, want none", got)
	}
	// The devices are free again.
	busy.Name = "after"
	if _, err := b.Submit(t.Context(), busy); err != nil {
		t.Errorf("Submit after the GPU job ended: %v", err)
	}
	waitEnded(t, b, "after")
}

func TestWatchAndLogs(t *testing.T) {
	t.Parallel()
	b := newBackend(t, t.TempDir(), nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := b.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Submit(t.Context(), jobs.Spec{
		Name: "lines", Kind: jobs.JAX, Labels: map[string]string{"team": "a"},
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 1}},
		Command:  []string{"/bin/sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var types []jobs.EventType
	var phases []jobs.ConditionType
	for ev := range ch {
		types = append(types, ev.Type)
		if p := ev.Job.Status.Phase(); len(phases) == 0 || phases[len(phases)-1] != p {
			phases = append(phases, p)
		}
		if ev.Job.Status.Finished() {
			cancel()
		}
	}
	// A slow receiver may see the job's first state merged into ADDED.
	if types[0] != jobs.Added || slices.Contains(types[1:], jobs.Added) || phases[len(phases)-1] != jobs.Succeeded {
		t.Errorf("events %v with phases %v: want one ADDED first, Succeeded last", types, phases)
	}
	j, _ := b.Get(t.Context(), "lines")
	for _, c := range []jobs.ConditionType{jobs.Created, jobs.Running, jobs.Succeeded} {
		if _, ok := j.Status.Condition(c); !ok {
			t.Errorf("conditions %+v: want %s among them", j.Status.Conditions, c)
		}
	}
	if c, _ := j.Status.Condition(jobs.Running); c.Status {
		t.Errorf("Running condition still true after success")
	}
	if got := readLog(b, "lines", jobs.LogOptions{TailLines: 2}); got != "line 4\nline 5\n" {
		t.Errorf("tail 2: %q", got)
	}
	if _, err := b.Logs(t.Context(), "lines", jobs.LogOptions{Replica: jobs.Worker, Index: 7}); !ferry.IsNotFound(err) {
		t.Errorf("log of Worker-7: %v, want NotFound", err)
	}
	if js, _ := b.List(t.Context(), jobs.ListOptions{Labels: map[string]string{"team": "b"}}); len(js) != 0 {
		t.Errorf("List team=b: %d jobs, want 0", len(js))
	}
	if js, _ := b.List(t.Context(), jobs.ListOptions{Kind: jobs.JAX, Labels: map[string]string{"team": "a"}}); len(js) != 1 {
		t.Errorf("List jax team=a: %d jobs, want 1", len(js))
	}
}

func TestTTLAfterFinished(t *testing.T) {
	t.Parallel()
	b := newBackend(t, t.TempDir(), nil)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	ch, err := b.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ttl := int64(0)
	j, err := b.Submit(t.Context(), jobs.Spec{
		Name: "short-lived", Kind: jobs.JAX,
		Replicas:  map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 1}},
		Command:   []string{"true"},
		RunPolicy: jobs.RunPolicy{TTLSecondsAfterFinished: &ttl},
	})
	if err != nil {
		t.Fatal(err)
	}
	var last jobs.Event
	for ev := range ch {
		if last = ev; ev.Type == jobs.Deleted {
			break
		}
	}
	if last.Type != jobs.Deleted || last.Job.UID != j.UID || last.Job.Status.Phase() != jobs.Succeeded {
		t.Fatalf("last event %s of %s (%s): want DELETED of the succeeded job", last.Type, last.Job.Name(), last.Job.Status.Phase())
	}
	if _, err := b.Get(t.Context(), "short-lived"); !ferry.IsNotFound(err) {
		t.Errorf("Get after the TTL: %v, want NotFound", err)
	}
	if _, err := os.Stat(filepath.Join(b.Dir(), "short-lived")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("job directory after the TTL: %v, want it gone", err)
	}
}

// TestOneBackendPerDir: a second backend on a state directory in use is
// refused with an error that says how to reach the jobs; after Close the
// directory can be opened again.
func TestOneBackendPerDir(t *testing.T) {
	dir := t.TempDir()
	b1, err := local.New(t.Context(), local.Options{Dir: dir, GPUs: []string{}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = local.New(t.Context(), local.Options{Dir: dir, GPUs: []string{}, Logger: testLogger(t)})
	if ferry.ErrorCode(err) != ferry.Unavailable || !strings.Contains(err.Error(), "FERRY_API_URL") {
		t.Fatalf("second backend on %s: %v, want an Unavailable error naming FERRY_API_URL", dir, err)
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := local.New(t.Context(), local.Options{Dir: dir, GPUs: []string{}, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	b2.Close()
}
