package train_test

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsclient"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/magics/train"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/widgets"
)

// waitLimit bounds every wait for a job; reaching it fails the test.
const waitLimit = 2 * time.Minute

// capture records what the magics display (no frontend: widgets stay
// local, as in a kernel without a widget manager).
type capture struct {
	mu        sync.Mutex
	published []map[string]any
}

func (c *capture) Publish(data, _ map[string]any, _ string, _ bool) {
	c.mu.Lock()
	c.published = append(c.published, data)
	c.mu.Unlock()
}
func (c *capture) Clear(bool)                         {}
func (c *capture) Input(string, bool) (string, error) { return "", errors.New("no stdin") }

func (c *capture) has(mime string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.published {
		if _, ok := d[mime]; ok {
			return true
		}
	}
	return false
}

type env struct {
	reg *magics.Registry
	b   *local.Backend
	ts  *tracking.Session
	out *capture
}

// setup registers the magics over a local backend and tracking store in a
// temporary directory.
func setup(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	tr, err := tracking.Open(t.Context(), tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := local.New(t.Context(), local.Options{
		Dir: filepath.Join(dir, "jobs"), Tracker: tr, GPUs: []string{},
		Logger:      slog.New(slog.NewTextHandler(t.Output(), nil)),
		GracePeriod: 3 * time.Second, RestartDelay: 20 * time.Millisecond, PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		js, _ := b.List(ctx, jobs.ListOptions{})
		for _, j := range js {
			if err := b.Cancel(ctx, j.Name()); err != nil {
				t.Errorf("cancel %s: %v", j.Name(), err)
			}
		}
		b.Close()
		tr.Close()
	})
	ts := tracking.NewSession(tr, dir)
	s := jobsclient.NewSession(b, filepath.Join(dir, "jobs"))
	reg := magics.NewRegistry()
	train.Register(reg, train.Options{
		Session:  func() (*jobsclient.Session, error) { return s, nil },
		Tracking: func() (*tracking.Session, error) { return ts, nil },
	})
	out := &capture{}
	display.SetPublisher(out)
	t.Cleanup(func() { display.SetPublisher(nil) })
	return &env{reg: reg, b: b, ts: ts, out: out}
}

func (e *env) cell(t *testing.T, ctx context.Context, args, body string) (any, error) {
	t.Helper()
	m, ok := e.reg.Lookup("train")
	if !ok {
		t.Fatal("the train magic is not registered")
	}
	return m.Cell(ctx, args, body)
}

func (e *env) line(t *testing.T, name, args string) (any, error) {
	t.Helper()
	m, ok := e.reg.Lookup(name)
	if !ok {
		t.Fatalf("%%%s is not registered", name)
	}
	return m.Line(t.Context(), args)
}

func text(t *testing.T, v any) string {
	t.Helper()
	data, _ := display.MIMEBundle(v)
	s, _ := data["text/plain"].(string)
	return s
}

// TestTrainShell runs a 2-process PyTorch-kind job whose command is given
// after --, then looks at it with %jobs and %job.
func TestTrainShell(t *testing.T) {
	e := setup(t)
	if _, err := e.ts.SetExperiment(t.Context(), "magic-tests"); err != nil {
		t.Fatal(err)
	}
	script := `echo "rank $RANK of $WORLD_SIZE"; if [ "$RANK" = 0 ]; then echo "epoch=0 loss=0.5"; echo "epoch=1 loss=0.25"; fi`
	v, err := e.cell(t, t.Context(), "--kind pytorch --workers 2 --name tiny --env GREETING=hi -- /bin/sh -c '"+script+"'", "")
	if err != nil {
		t.Fatal(err)
	}
	tab, ok := v.(display.Table)
	if !ok {
		t.Fatalf("result %T, want a display.Table", v)
	}
	got := map[string]any{}
	for i, c := range tab.Columns {
		got[c] = tab.Rows[0][i]
	}
	if got["status"] != "Succeeded" || got["loss"] != 0.25 || got["replicas"] != "2 succeeded" || got["run"] == "" {
		t.Errorf("summary %v: want Succeeded, loss 0.25, 2 replicas, a run", got)
	}
	if !e.out.has(widgets.ViewMIME) {
		t.Error("no monitor widget was displayed")
	}

	j, err := e.b.Get(t.Context(), "tiny")
	if err != nil {
		t.Fatal(err)
	}
	if j.Spec.Env["GREETING"] != "hi" || j.Spec.ReplicaCount(jobs.Master) != 1 || j.Spec.ReplicaCount(jobs.Worker) != 1 {
		t.Errorf("spec %+v: want env GREETING, a Master and a Worker", j.Spec)
	}
	run, err := e.ts.Tracker.GetRun(t.Context(), j.RunID)
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := e.ts.Experiment(t.Context())
	if run.ExperimentID != exp.ID || run.Metrics["loss"].Value != 0.25 || run.Metrics["loss"].Step != 1 {
		t.Errorf("run in experiment %s (want %s), metrics %v", run.ExperimentID, exp.ID, run.Metrics)
	}

	for _, tc := range []struct {
		magic, args string
		want        []string
	}{
		{"jobs", "", []string{"1 jobs", "tiny", "pytorch", "Succeeded"}},
		{"jobs", "--status running", []string{"0 jobs"}},
		{"jobs", "--kind pytorch --status Succeeded,Failed", []string{"1 jobs", "tiny"}},
		{"job", "show tiny", []string{"Master-0", "Worker-0", "Succeeded", j.RunID}},
		{"job", "logs tiny", []string{"rank 0 of 2", "epoch=1 loss=0.25"}},
		{"job", "logs tiny --replica worker-0", []string{"rank 1 of 2"}},
		{"job", "logs tiny --tail 1", []string{"epoch=1 loss=0.25"}},
	} {
		t.Run(tc.magic+" "+tc.args, func(t *testing.T) {
			v, err := e.line(t, tc.magic, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			s := text(t, v)
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Errorf("%%%s %s:\n%s\nwant %q in it", tc.magic, tc.args, s, w)
				}
			}
		})
	}
	if v, err := e.line(t, "job", "logs tiny --tail 1"); err != nil || strings.Contains(text(t, v), "rank 0") {
		t.Errorf("--tail 1 shows more than a line: %q %v", text(t, v), err)
	}
	// A followed log of an ended replica is its whole log.
	if _, err := e.line(t, "job", "logs tiny -f"); err != nil {
		t.Errorf("logs -f: %v", err)
	}
	// The same name again: refused, unless --replace.
	if _, err := e.cell(t, t.Context(), "--name tiny -- true", ""); ferry.ErrorCode(err) != ferry.AlreadyExists || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("a taken name: %v, want AlreadyExists suggesting --replace", err)
	}
	if v, err := e.cell(t, t.Context(), "--name tiny --replace --kind jax -- true", ""); err != nil || !strings.Contains(text(t, v), "Succeeded") {
		t.Errorf("--replace: %v %v", text(t, v), err)
	}
	if v, err := e.line(t, "job", "delete tiny"); err != nil || !strings.Contains(text(t, v), "deleted") {
		t.Errorf("delete: %v %v", v, err)
	}
	if _, err := e.b.Get(t.Context(), "tiny"); !ferry.IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
}

// TestTrainPython runs the cell itself as the script, with Debian's
// python, as a 2-worker JAX-kind job.
func TestTrainPython(t *testing.T) {
	if _, err := exec.LookPath(train.DebianPython); err != nil {
		t.Skip("no " + train.DebianPython)
	}
	e := setup(t)
	body := `import json, os
rank = int(os.environ["PROCESS_ID"])
print(json.dumps({"step": 3, "acc": 0.5 + rank / 10}))
`
	v, err := e.cell(t, t.Context(), "--kind jax --workers 2 --name py", body)
	if err != nil {
		t.Fatal(err)
	}
	if s := text(t, v); !strings.Contains(s, "Succeeded") || !strings.Contains(s, "acc") || !strings.Contains(s, "0.5") {
		t.Errorf("summary:\n%s", s)
	}
	j, err := e.b.Get(t.Context(), "py")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(j.Spec.Command, " "); got != train.DebianPython+" train.py" || j.Spec.Files["train.py"] != body {
		t.Errorf("command %q, files %v", got, j.Spec.Files)
	}
}

// TestTrainFailed: a failing job's cell is an error naming the exit code,
// after the summary.
func TestTrainFailed(t *testing.T) {
	e := setup(t)
	_, err := e.cell(t, t.Context(), "--kind jax --name boom -- /bin/sh -c 'echo bad input >&2; exit 3'", "")
	if err == nil || !strings.Contains(err.Error(), "job boom failed") || !strings.Contains(err.Error(), "3") {
		t.Errorf("error %v: want job boom failed with exit code 3", err)
	}
	if !e.out.has("text/html") {
		t.Error("no summary table displayed before the error")
	}
}

// submitted wraps a backend to tell when Submit has returned.
type submitted struct {
	jobs.Backend
	done chan jobs.Job
}

func (s submitted) Submit(ctx context.Context, spec jobs.Spec) (jobs.Job, error) {
	j, err := s.Backend.Submit(ctx, spec)
	if err == nil {
		s.done <- j
	}
	return j, err
}

// TestInterruptAndCancel: interrupting %%train stops the monitor and
// leaves the job running; %job cancel stops it.
func TestInterruptAndCancel(t *testing.T) {
	e := setup(t)
	sub := submitted{Backend: e.b, done: make(chan jobs.Job, 1)}
	s := jobsclient.NewSession(sub, "test")
	reg := magics.NewRegistry()
	train.Register(reg, train.Options{
		Session:  func() (*jobsclient.Session, error) { return s, nil },
		Tracking: func() (*tracking.Session, error) { return e.ts, nil },
	})
	e.reg = reg
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-sub.done:
		case <-ctx.Done():
			return
		}
		wctx, stop := context.WithTimeout(ctx, waitLimit)
		defer stop()
		ch, err := e.b.Watch(wctx, "sleepy")
		if err != nil {
			return
		}
		for ev := range ch {
			if ev.Job.Status.Phase() == jobs.Running {
				cancel() // the user interrupts the cell
				return
			}
		}
	}()
	_, err := e.cell(t, ctx, "--kind pytorch --name sleepy -- sleep 60", "")
	if err == nil || !strings.Contains(err.Error(), "%job cancel sleepy") {
		t.Fatalf("interrupted cell: %v, want the way to cancel", err)
	}
	j, err := e.b.Get(t.Context(), "sleepy")
	if err != nil || j.Status.Phase() != jobs.Running {
		t.Fatalf("after the interrupt the job is %s (%v), want Running", j.Status.Phase(), err)
	}
	v, err := e.line(t, "job", "cancel sleepy")
	if err != nil || !strings.Contains(text(t, v), "JobCancelled") {
		t.Errorf("cancel: %q %v", text(t, v), err)
	}
	if pids := local.MarkedProcesses(j.UID); len(pids) > 0 {
		t.Errorf("processes left after cancel: %v", pids)
	}
}

// TestDetach submits and returns at once.
func TestDetach(t *testing.T) {
	e := setup(t)
	v, err := e.cell(t, t.Context(), "--detach --kind xgboost --workers 2 --name bg -- true", "")
	if err != nil || !strings.Contains(text(t, v), "submitted xgboost job bg (2 replicas)") {
		t.Errorf("detach: %q %v", text(t, v), err)
	}
}

func TestUsageErrors(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		name, magic, args, body, want string
	}{
		{"bad kind", "train", "--kind spark", "print(1)", "use one of pytorch"},
		{"no workers", "train", "--workers 0", "print(1)", "give 1 or more"},
		{"empty cell", "train", "", "  \n", "the cell is empty"},
		{"words without --", "train", "python3 x.py", "print(1)", "a command goes after --"},
		{"nothing after --", "train", "--", "print(1)", "nothing after --"},
		{"bad env", "train", "--env FOO", "print(1)", "give KEY=VALUE"},
		{"bad role", "train", "--replicas PS=1", "print(1)", "has the roles"},
		{"bad backend", "train", "--backend spark", "print(1)", "use local or kube"},
		{"other backend", "train", "--backend kube", "print(1)", "run on the local backend"},
		{"bad restart policy", "train", "--restart-policy sometimes", "print(1)", "use Never, OnFailure"},
		{"unknown flag", "train", "--epochs 3", "print(1)", "flag provided but not defined"},
		{"no subcommand", "job", "", "", "give a subcommand"},
		{"unknown subcommand", "job", "restart x", "", "use show, logs, cancel or delete"},
		{"two names", "job", "show a b", "", "one job name"},
		{"follow without logs", "job", "show a -f", "", "go with logs"},
		{"bad status", "jobs", "--status sleeping", "", "use Created, Running"},
		{"jobs arguments", "jobs", "tiny", "", "%job show NAME"},
		{"replace without name", "train", "--replace", "print(1)", "--replace needs --name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.magic == "train" {
				_, err = e.cell(t, t.Context(), tc.args, tc.body)
			} else {
				_, err = e.line(t, tc.magic, tc.args)
			}
			var ue *magics.UsageError
			if !errors.As(err, &ue) || !strings.Contains(ue.Msg, tc.want) {
				t.Errorf("%%%s %s: %v, want a usage error saying %q", tc.magic, tc.args, err, tc.want)
			}
		})
	}
	// An invalid name is the backend's validation error, naming the field.
	_, err := e.cell(t, t.Context(), "--name Bad_Name", "print(1)")
	if ferry.ErrorCode(err) != ferry.Invalid || !strings.Contains(err.Error(), `name "Bad_Name"`) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := e.line(t, "job", "show nope"); !ferry.IsNotFound(err) {
		t.Errorf("unknown job: %v", err)
	}
	if js, _ := e.b.List(t.Context(), jobs.ListOptions{}); len(js) != 0 {
		t.Errorf("usage errors submitted %d jobs", len(js))
	}
}
