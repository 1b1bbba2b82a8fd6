package train

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsapi"
	"github.com/ferryml/ferry/jobs/jobsclient"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/widgets"
)

// ScriptName is the file the cell of %%train is written to, in the job's
// working directory.
const ScriptName = "train.py"

// DebianPython is the interpreter of the default command where it exists:
// Debian's, with python3-torch, python3-xgboost and python3-mpi4py.
const DebianPython = "/usr/bin/python3"

// The notebook's monitor of a job is the widget.
var _ jobsclient.Sink = (*widgets.JobMonitor)(nil)

// Options configure the magics.
type Options struct {
	// Session returns the jobs session; nil means Default.
	Session func() (*jobsclient.Session, error)
	// Tracking returns the tracking session whose current experiment gets
	// the jobs' runs and whose store the summaries read; nil means
	// tracking.Default. An error leaves jobs in the Default experiment.
	Tracking func() (*tracking.Session, error)
	// Python is the interpreter of the default command; "" means
	// DebianPython where it exists (python3 on the kube backend).
	Python string
	// LogWait bounds the wait for the rest of the primary replica's log
	// after the job ended (default 10 s).
	LogWait time.Duration
}

// Register adds %%train, %jobs and %job to reg.
func Register(reg *magics.Registry, opts Options) {
	if opts.Session == nil {
		opts.Session = jobsclient.Default
	}
	if opts.Tracking == nil {
		opts.Tracking = tracking.Default
	}
	if opts.LogWait <= 0 {
		opts.LogWait = 10 * time.Second
	}
	reg.Register(trainMagic(opts))
	reg.Register(jobsMagic(opts))
	reg.Register(jobMagic(opts))
}

const trainUsage = `%%train [--kind KIND] [--workers N] [--gpus N] [--name NAME] [--backend local|kube]
        [--image IMAGE] [--env KEY=VALUE]... [--replicas ROLE=N]... [--cpu Q] [--memory Q]
        [--experiment NAME] [--restart-policy P] [--backoff-limit N] [--deadline SECONDS]
        [--steps N] [--detach] [--replace] [-- COMMAND ARGS...]
    run the cell as a training script on N workers and monitor the job

KIND is pytorch (the default), tensorflow, xgboost, mpi, paddle, mxnet or jax.
--workers N   the job's processes: pytorch, xgboost: a Master and N-1 Workers;
              tensorflow, paddle, jax: N Workers; mpi: a Launcher and N Workers
              (ranks); mxnet: a Scheduler, a Server and N Workers (default 1)
--replicas ROLE=N  set the count of a role, e.g. --replicas PS=1 (0 drops it)
--gpus N      GPUs per replica (CUDA_VISIBLE_DEVICES locally, nvidia.com/gpu on Kubernetes)
--cpu, --memory    requests per replica, e.g. --cpu 2 --memory 4Gi
--name NAME   the job's name (default KIND-xxxxxx): lower-case letters, digits, '-'
--backend     local or kube: where the job must run (the session's backend by default)
--env KEY=VALUE    environment of every replica (repeat the flag)
--restart-policy   Never (default), OnFailure, Always or ExitCode
--steps N     the steps (epochs) the script reports, for the progress bar
--detach      submit and return at once (%job show NAME, %job logs NAME -f)
--replace     delete the job called --name first, if there is one (its
              tracking run stays), so the cell can run again

The cell is written to train.py in the job's working directory; each
replica runs "/usr/bin/python3 train.py", or COMMAND ARGS when given after
--. Lines such as "epoch=1 loss=0.25" or {"loss": 0.25} in the primary
replica's output become metrics of the job's tracking run (%runs).
Interrupting the cell stops the monitor, not the job: %job cancel NAME.

Example:
    %%train --kind pytorch --workers 2
    import torch.distributed as dist
    dist.init_process_group("gloo")
    ...`

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// trainFlags are the flags of %%train.
type trainFlags struct {
	kind, name, backend, image, cpu, memory, experiment, restart string
	workers, gpus, steps                                         int
	backoff, deadline                                            int64
	detach, replace                                              bool
	env, replicas                                                multiFlag
	command                                                      []string
}

func parseTrain(m *magics.Magic, args string) (*trainFlags, error) {
	var f trainFlags
	var fs flag.FlagSet
	fs.StringVar(&f.kind, "kind", string(jobs.PyTorch), "")
	fs.IntVar(&f.workers, "workers", 1, "")
	fs.IntVar(&f.gpus, "gpus", 0, "")
	fs.StringVar(&f.name, "name", "", "")
	fs.StringVar(&f.backend, "backend", "", "")
	fs.StringVar(&f.image, "image", "", "")
	fs.StringVar(&f.cpu, "cpu", "", "")
	fs.StringVar(&f.memory, "memory", "", "")
	fs.StringVar(&f.experiment, "experiment", "", "")
	fs.StringVar(&f.restart, "restart-policy", "", "")
	fs.Int64Var(&f.backoff, "backoff-limit", -1, "")
	fs.Int64Var(&f.deadline, "deadline", 0, "")
	fs.IntVar(&f.steps, "steps", 0, "")
	fs.BoolVar(&f.detach, "detach", false, "")
	fs.BoolVar(&f.replace, "replace", false, "")
	fs.Var(&f.env, "env", "")
	fs.Var(&f.replicas, "replicas", "")
	words, err := magics.SplitArgs(args)
	if err != nil {
		return nil, magics.Usagef(m, "%v", err)
	}
	if i := slices.Index(words, "--"); i >= 0 {
		f.command = words[i+1:]
		if len(f.command) == 0 {
			return nil, magics.Usagef(m, "nothing after --: give the command each replica runs, e.g. -- python3 train.py --lr 0.1")
		}
	}
	pos, err := magics.ParseFlags(m, &fs, args)
	if err != nil {
		return nil, err
	}
	if extra := pos[:len(pos)-len(f.command)]; len(extra) > 0 {
		return nil, magics.Usagef(m, "unexpected arguments %q: flags start with --, and a command goes after -- (%%%%train --workers 2 -- python3 train.py)", extra)
	}
	return &f, nil
}

// spec builds the job spec of a %%train cell.
func (f *trainFlags) spec(m *magics.Magic, body, python string) (jobs.Spec, error) {
	kind := jobs.Kind(strings.ToLower(f.kind))
	if jobs.Roles(kind) == nil {
		var ks []string
		for _, k := range jobs.Kinds {
			ks = append(ks, string(k))
		}
		return jobs.Spec{}, magics.Usagef(m, "--kind %s: not a training kind: use one of %s", f.kind, strings.Join(ks, ", "))
	}
	if f.workers < 1 {
		return jobs.Spec{}, magics.Usagef(m, "--workers %d: give 1 or more processes", f.workers)
	}
	if f.gpus < 0 {
		return jobs.Spec{}, magics.Usagef(m, "--gpus %d: give 0 or more GPUs per replica", f.gpus)
	}
	name := f.name
	if name == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		name = string(kind) + "-" + hex.EncodeToString(b[:])
	}
	spec := jobs.Spec{
		Name: name, Kind: kind, Replicas: jobs.DefaultReplicas(kind, f.workers),
		Image: f.image, Experiment: f.experiment,
		Resources: jobs.Resources{CPU: f.cpu, Memory: f.memory, GPU: f.gpus},
	}
	for _, r := range f.replicas {
		role, n, ok := strings.Cut(r, "=")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 0 {
			return jobs.Spec{}, magics.Usagef(m, "--replicas %s: give ROLE=N, e.g. --replicas Worker=3", r)
		}
		t, ok := jobs.ParseReplicaType(kind, role)
		if !ok {
			return jobs.Spec{}, magics.Usagef(m, "--replicas %s: a %s job has the roles %v", r, kind, jobs.Roles(kind))
		}
		if count == 0 {
			delete(spec.Replicas, t)
		} else {
			spec.Replicas[t] = jobs.ReplicaSpec{Replicas: count}
		}
	}
	for _, kv := range f.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return jobs.Spec{}, magics.Usagef(m, "--env %s: give KEY=VALUE", kv)
		}
		if spec.Env == nil {
			spec.Env = map[string]string{}
		}
		spec.Env[k] = v
	}
	if f.restart != "" {
		p := jobs.RestartPolicy("")
		for _, c := range []jobs.RestartPolicy{jobs.RestartNever, jobs.RestartOnFailure, jobs.RestartAlways, jobs.RestartExitCode} {
			if strings.EqualFold(string(c), f.restart) {
				p = c
			}
		}
		if p == "" {
			return jobs.Spec{}, magics.Usagef(m, "--restart-policy %s: use Never, OnFailure, Always or ExitCode", f.restart)
		}
		spec.RunPolicy.RestartPolicy = p
	}
	if f.backoff >= 0 {
		n := int(f.backoff)
		spec.RunPolicy.BackoffLimit = &n
	}
	if f.deadline < 0 {
		return jobs.Spec{}, magics.Usagef(m, "--deadline %d: give a positive number of seconds", f.deadline)
	}
	if f.deadline > 0 {
		spec.RunPolicy.ActiveDeadlineSeconds = &f.deadline
	}
	hasBody := strings.TrimSpace(body) != ""
	if hasBody {
		spec.Files = map[string]string{ScriptName: body}
	}
	switch {
	case len(f.command) > 0:
		spec.Command = f.command
	case hasBody:
		spec.Command = []string{python, ScriptName}
	default:
		return jobs.Spec{}, magics.Usagef(m, "the cell is empty: write the training script below the %%%%train line, or give a command after --")
	}
	if nb := os.Getenv(tracking.EnvNotebook); nb != "" {
		spec.Labels = map[string]string{"ferry.notebook": nb}
	}
	return spec, nil
}

func (o Options) python(backend string) string {
	if o.Python != "" {
		return o.Python
	}
	if backend != "kube" {
		if _, err := os.Stat(DebianPython); err == nil {
			return DebianPython
		}
	}
	return "python3"
}

func trainMagic(o Options) *magics.Magic {
	m := &magics.Magic{Name: "train", Summary: "run the cell as a distributed training job and monitor it", Usage: trainUsage}
	m.Cell = func(ctx context.Context, args, body string) (any, error) {
		f, err := parseTrain(m, args)
		if err != nil {
			return nil, err
		}
		if f.backend != "" && f.backend != "local" && f.backend != "kube" {
			return nil, magics.Usagef(m, "--backend %s: use local or kube", f.backend)
		}
		s, err := o.Session()
		if err != nil {
			return nil, err
		}
		backend, err := s.BackendName(ctx)
		if err != nil {
			return nil, err
		}
		if f.backend != "" && f.backend != backend {
			return nil, magics.Usagef(m, "--backend %s: this session's jobs run on the %s backend (%s); start ferry lab with the %s backend, or leave --backend out", f.backend, backend, s.Where, f.backend)
		}
		spec, err := f.spec(m, body, o.python(backend))
		if err != nil {
			return nil, err
		}
		ts, terr := o.Tracking()
		if terr != nil {
			ts = nil
		}
		if spec.Experiment == "" && ts != nil {
			if e, err := ts.Experiment(ctx); err == nil {
				spec.Experiment = e.Name
			}
		}
		if f.replace {
			if f.name == "" {
				return nil, magics.Usagef(m, "--replace needs --name: it deletes the job of that name first")
			}
			if err := s.Backend.Delete(ctx, f.name); err != nil && !ferry.IsNotFound(err) {
				return nil, err
			}
		}
		job, err := s.Backend.Submit(ctx, spec)
		if ferry.ErrorCode(err) == ferry.AlreadyExists {
			return nil, fmt.Errorf("%w (or add --replace to delete it first)", err)
		}
		if err != nil {
			return nil, err
		}
		if f.detach {
			return display.Text(fmt.Sprintf("submitted %s job %s (%d replicas) on the %s backend; %%job show %s, %%job logs %s -f, %%job cancel %s",
				job.Spec.Kind, job.Name(), job.Spec.TotalReplicas(), backend, job.Name(), job.Name(), job.Name())), nil
		}
		mon := widgets.NewJobMonitor(job.Name())
		widgets.Display(mon)
		res := jobsclient.Monitor(ctx, s.Backend, job, mon, jobsclient.MonitorOptions{Steps: f.steps, LogWait: o.LogWait})
		if res.Err != nil {
			return nil, res.Err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped watching job %s (interrupted); it keeps running: %%job show %s, %%job logs %s -f; %%job cancel %s stops it",
				job.Name(), job.Name(), job.Name(), job.Name())
		}
		t := jobsclient.Summary(context.WithoutCancel(ctx), res.Job, ts, res.Metrics)
		if res.Deleted {
			return nil, fmt.Errorf("job %s was deleted while it ran", job.Name())
		}
		if res.Job.Status.Phase() == jobs.Failed {
			display.Display(t)
			c, _ := res.Job.Status.Condition(jobs.Failed)
			return nil, fmt.Errorf("job %s failed (%s): %s", job.Name(), c.Reason, c.Message)
		}
		return t, nil
	}
	return m
}

const jobsUsage = `%jobs [--kind KIND] [--status STATUS] [--label KEY=VALUE]...
    list the jobs of this session's backend, oldest first
STATUS is Created, Running, Restarting, Succeeded or Failed (comma-separated for several).`

func jobsMagic(o Options) *magics.Magic {
	m := &magics.Magic{Name: "jobs", Summary: "list training jobs", Usage: jobsUsage}
	m.Line = func(ctx context.Context, args string) (any, error) {
		var fs flag.FlagSet
		kind := fs.String("kind", "", "")
		status := fs.String("status", "", "")
		var labels multiFlag
		fs.Var(&labels, "label", "")
		pos, err := magics.ParseFlags(m, &fs, args)
		if err != nil {
			return nil, err
		}
		if len(pos) > 0 {
			return nil, magics.Usagef(m, "unexpected arguments %q (%%job show NAME shows one job)", pos)
		}
		lo, statuses, err := jobsclient.ListFilter(*kind, *status, labels)
		if err != nil {
			return nil, magics.Usagef(m, "%v", err)
		}
		s, err := o.Session()
		if err != nil {
			return nil, err
		}
		js, err := s.Backend.List(ctx, lo)
		if err != nil {
			return nil, err
		}
		js = slices.DeleteFunc(js, func(j jobs.Job) bool { return !jobsapi.HasStatus(&j, statuses) })
		t := jobsclient.JobsTable(js)
		t.Caption = fmt.Sprintf("%d jobs (%s)", len(js), s.Where)
		return t, nil
	}
	return m
}

const jobUsage = `%job show NAME                    the job: status, conditions and each replica's state
%job logs NAME [--replica ROLE-I] [--tail N] [-f]
                                  a replica's output (default the primary replica,
                                  e.g. Master-0); -f follows it until the replica ends
%job cancel NAME                  stop every replica; the job ends Failed (JobCancelled)
%job delete NAME                  cancel if running, then remove the job and its logs`

func jobMagic(o Options) *magics.Magic {
	m := &magics.Magic{Name: "job", Summary: "show, follow the logs of, cancel or delete a training job", Usage: jobUsage}
	m.Line = func(ctx context.Context, args string) (any, error) {
		var fs flag.FlagSet
		replica := fs.String("replica", "", "")
		tail := fs.Int("tail", 0, "")
		follow := fs.Bool("f", false, "")
		fs.BoolVar(follow, "follow", false, "")
		pos, err := magics.ParseFlags(m, &fs, args)
		if err != nil {
			return nil, err
		}
		if len(pos) == 0 {
			return nil, magics.Usagef(m, "give a subcommand and a job name, e.g. %%job show my-job")
		}
		sub, pos := pos[0], pos[1:]
		switch sub {
		case "show", "logs", "cancel", "delete":
		default:
			return nil, magics.Usagef(m, "unknown subcommand %q: use show, logs, cancel or delete", sub)
		}
		if len(pos) != 1 {
			return nil, magics.Usagef(m, "%s takes one job name (%%jobs lists them)", sub)
		}
		name := pos[0]
		if sub != "logs" && (*replica != "" || *tail != 0 || *follow) {
			return nil, magics.Usagef(m, "--replica, --tail and -f go with logs")
		}
		if *tail < 0 {
			return nil, magics.Usagef(m, "--tail %d: give a number of lines", *tail)
		}
		s, err := o.Session()
		if err != nil {
			return nil, err
		}
		switch sub {
		case "show":
			j, err := s.Backend.Get(ctx, name)
			if err != nil {
				return nil, err
			}
			return jobsclient.Describe(&j), nil
		case "cancel":
			if err := s.Backend.Cancel(ctx, name); err != nil {
				return nil, err
			}
			j, err := s.Backend.Get(ctx, name)
			if err != nil {
				return nil, err
			}
			return display.Text(fmt.Sprintf("job %s: %s", name, jobsclient.PhaseText(&j))), nil
		case "delete":
			if err := s.Backend.Delete(ctx, name); err != nil {
				return nil, err
			}
			return display.Text("job " + name + " deleted"), nil
		}
		j, err := s.Backend.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		lo := jobs.LogOptions{Follow: *follow, TailLines: *tail}
		if lo.Replica, lo.Index, err = jobsapi.ParseReplica(j.Spec.Kind, *replica); err != nil {
			return nil, magics.Usagef(m, "--replica: %v", err)
		}
		rc, err := s.Backend.Logs(ctx, name, lo)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		if !*follow {
			b, err := io.ReadAll(rc)
			if err != nil {
				return nil, err
			}
			return display.Text(b), nil
		}
		return followLog(ctx, rc)
	}
	return m
}

// followLog shows a followed log in one display that grows as lines come
// (its last 500 lines), until the log ends or ctx is done.
func followLog(ctx context.Context, rc io.Reader) (any, error) {
	const keep = 500
	h := display.NewDisplay(display.Text(""))
	var lines []string
	last := time.Time{}
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > keep {
			lines = lines[len(lines)-keep:]
		}
		if time.Since(last) >= widgets.ProgressInterval {
			h.Update(display.Text(strings.Join(lines, "\n")))
			last = time.Now()
		}
	}
	h.Update(display.Text(strings.Join(lines, "\n")))
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return nil, err
	}
	return nil, nil
}
