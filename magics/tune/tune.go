package tune

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/tuningclient"
	"github.com/ferryml/ferry/widgets"
)

// ScriptName is the file a %%tune cell is written to.
const ScriptName = "train.py"

// DebianPython is the interpreter of the default command where it exists.
const DebianPython = "/usr/bin/python3"

// Options configure the magics.
type Options struct {
	// Session returns the tuning session; nil means tuningclient.Default.
	Session func() (*tuningclient.Session, error)
	// Python is the interpreter of the default command; "" means
	// DebianPython where it exists.
	Python string
}

// Register adds %%tune and %tune to reg.
func Register(reg *magics.Registry, opts Options) {
	if opts.Session == nil {
		opts.Session = tuningclient.Default
	}
	reg.Register(tuneMagic(opts))
}

const usage = `%%tune --name NAME --objective METRIC [--maximize] --param NAME=TYPE:SPEC...
        [--algorithm ALGO] [--setting KEY=VALUE]... [--early-stopping medianstop]
        [--early-setting KEY=VALUE]... [--trials N] [--parallel N] [--max-failed N]
        [--goal V] [--strategy latest|min|max] [--metric NAME]... [--seed N]
        [--kind KIND] [--workers N] [--gpus N] [--image IMAGE] [--env KEY=VALUE]...
        [--experiment NAME] [--detach] [--replace] [-- COMMAND ARGS...]
    tune the cell's training script: each trial is a training job
%tune list                          the studies
%tune show NAME                     a study: its trials and charts
%tune watch NAME                    a study's live dashboard
%tune stop NAME                     kill its running trials and stop it
%tune resume NAME                   go on with a stopped study
%tune delete NAME                   stop it and remove it (its tracking runs stay)

--param NAME=TYPE:SPEC   lr=double:0.0001:0.1:log, depth=int:2:10, trees=int:50:500:50,
                         booster=categorical:gbtree,dart, batch=discrete:16,32,64
--algorithm   random, grid, sobol, bayesianoptimization (default), tpe,
              multivariate-tpe, cmaes or hyperband (Katib's names)
--objective   the metric the script prints ("loss=0.25" or {"loss": 0.25});
              minimised unless --maximize
--trials N    trials in all (default 12); --parallel N at once (default 3)
--early-stopping medianstop   stop trials worse than the median of finished ones
                              (settings min_trials_required, start_step)
--detach      start the study and return at once (%tune watch NAME)
--replace     delete the study called --name first, if there is one (its
              tracking runs stay), so the cell can run again

Each trial writes the cell to train.py and runs
"/usr/bin/python3 train.py --NAME=VALUE ..." with its values (read them with
argparse), or COMMAND ARGS given after --, where ${trialParameters.NAME}
stands for a value; ${trialParameters.NAME} in the cell is replaced too.
Interrupting the cell stops the dashboard, not the study: %tune stop NAME.

Example:
    %%tune --name xgb --objective rmse --param eta=double:0.01:0.5:log --param depth=int:2:8
    import argparse, xgboost as xgb
    ...
    print(f"rmse={rmse}")`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type tuneFlags struct {
	name, objective, algorithm, early, strategy, kind, image, experiment string
	maximize, detach, replace                                            bool
	trials, parallel, maxFailed, workers, gpus                           int
	seed                                                                 int64
	goal                                                                 string
	params, settings, earlySettings, metrics, env                        multiFlag
	command                                                              []string
}

func parse(m *magics.Magic, args string) (*tuneFlags, error) {
	var f tuneFlags
	var fs flag.FlagSet
	fs.StringVar(&f.name, "name", "", "")
	fs.StringVar(&f.objective, "objective", "", "")
	fs.BoolVar(&f.maximize, "maximize", false, "")
	fs.StringVar(&f.algorithm, "algorithm", "bayesianoptimization", "")
	fs.StringVar(&f.early, "early-stopping", "", "")
	fs.StringVar(&f.strategy, "strategy", "", "")
	fs.StringVar(&f.goal, "goal", "", "")
	fs.IntVar(&f.trials, "trials", 0, "")
	fs.IntVar(&f.parallel, "parallel", 0, "")
	fs.IntVar(&f.maxFailed, "max-failed", 0, "")
	fs.Int64Var(&f.seed, "seed", 0, "")
	fs.StringVar(&f.kind, "kind", string(jobs.PyTorch), "")
	fs.IntVar(&f.workers, "workers", 1, "")
	fs.IntVar(&f.gpus, "gpus", 0, "")
	fs.StringVar(&f.image, "image", "", "")
	fs.StringVar(&f.experiment, "experiment", "", "")
	fs.BoolVar(&f.detach, "detach", false, "")
	fs.BoolVar(&f.replace, "replace", false, "")
	fs.Var(&f.params, "param", "")
	fs.Var(&f.settings, "setting", "")
	fs.Var(&f.earlySettings, "early-setting", "")
	fs.Var(&f.metrics, "metric", "")
	fs.Var(&f.env, "env", "")
	words, err := magics.SplitArgs(args)
	if err != nil {
		return nil, magics.Usagef(m, "%v", err)
	}
	if i := slices.Index(words, "--"); i >= 0 {
		f.command = words[i+1:]
		if len(f.command) == 0 {
			return nil, magics.Usagef(m, "nothing after --: give the command of each trial, e.g. -- python3 train.py --lr ${trialParameters.lr}")
		}
	}
	pos, err := magics.ParseFlags(m, &fs, args)
	if err != nil {
		return nil, err
	}
	if extra := pos[:len(pos)-len(f.command)]; len(extra) > 0 {
		return nil, magics.Usagef(m, "unexpected arguments %q: flags start with --, and a command goes after --", extra)
	}
	return &f, nil
}

func keyValues(m *magics.Magic, flagName string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, magics.Usagef(m, "--%s %s: give KEY=VALUE", flagName, kv)
		}
		out[k] = v
	}
	return out, nil
}

// spec builds the study of a %%tune cell.
func (f *tuneFlags) spec(m *magics.Magic, body, python string) (tuning.Spec, error) {
	if f.name == "" {
		return tuning.Spec{}, magics.Usagef(m, "--name: name the study (lower-case letters, digits and '-'), e.g. --name xgb-eta")
	}
	if f.objective == "" {
		return tuning.Spec{}, magics.Usagef(m, "--objective: name the metric the script prints, e.g. --objective val_loss (it prints val_loss=0.25)")
	}
	if len(f.params) == 0 {
		return tuning.Spec{}, magics.Usagef(m, "--param: give at least one parameter, e.g. --param lr=double:0.0001:0.1:log")
	}
	sp := tuning.Spec{
		Name:           f.name,
		Objective:      tuning.Objective{Metric: f.objective, Direction: tuning.Minimize, Strategy: tuning.Strategy(f.strategy), AdditionalMetrics: f.metrics},
		Algorithm:      tuning.Algorithm{Name: f.algorithm},
		ParallelTrials: f.parallel, MaxTrials: f.trials, MaxFailedTrials: f.maxFailed, Seed: f.seed,
		Experiment: f.experiment,
	}
	if f.maximize {
		sp.Objective.Direction = tuning.Maximize
	}
	if f.goal != "" {
		g, err := strconv.ParseFloat(f.goal, 64)
		if err != nil {
			return tuning.Spec{}, magics.Usagef(m, "--goal %s: give a number", f.goal)
		}
		sp.Objective.Goal = &g
	}
	for _, p := range f.params {
		prm, err := tuning.ParseParam(p)
		if err != nil {
			return tuning.Spec{}, magics.Usagef(m, "--param %v", err)
		}
		sp.Space = append(sp.Space, prm)
	}
	var err error
	if sp.Algorithm.Settings, err = keyValues(m, "setting", f.settings); err != nil {
		return tuning.Spec{}, err
	}
	if f.early != "" {
		sp.Early = &tuning.EarlyStopping{Name: f.early}
		if sp.Early.Settings, err = keyValues(m, "early-setting", f.earlySettings); err != nil {
			return tuning.Spec{}, err
		}
	} else if len(f.earlySettings) > 0 {
		return tuning.Spec{}, magics.Usagef(m, "--early-setting without --early-stopping: add --early-stopping medianstop")
	}
	kind := jobs.Kind(strings.ToLower(f.kind))
	if jobs.Roles(kind) == nil {
		return tuning.Spec{}, magics.Usagef(m, "--kind %s: not a training kind: use one of %v", f.kind, jobs.Kinds)
	}
	job := &jobs.Spec{Kind: kind, Replicas: jobs.DefaultReplicas(kind, max(f.workers, 1)), Image: f.image,
		Resources: jobs.Resources{GPU: f.gpus}, Experiment: f.experiment}
	if job.Env, err = keyValues(m, "env", f.env); err != nil {
		return tuning.Spec{}, err
	}
	hasBody := strings.TrimSpace(body) != ""
	if hasBody {
		job.Files = map[string]string{ScriptName: body}
	}
	switch {
	case len(f.command) > 0:
		job.Command = f.command
	case hasBody:
		job.Command = []string{python, ScriptName}
		for _, p := range sp.Space {
			job.Command = append(job.Command, "--"+p.Name+"=${trialParameters."+p.Name+"}")
		}
	default:
		return tuning.Spec{}, magics.Usagef(m, "the cell is empty: write the training script below the %%%%tune line, or give a command after --")
	}
	if nb := os.Getenv(tracking.EnvNotebook); nb != "" {
		job.Labels = map[string]string{"ferry.notebook": nb}
		sp.Labels = map[string]string{"ferry.notebook": nb}
	}
	sp.Template.Job = job
	return sp, nil
}

func (o Options) python() string {
	if o.Python != "" {
		return o.Python
	}
	if _, err := os.Stat(DebianPython); err == nil {
		return DebianPython
	}
	return "python3"
}

func tuneMagic(o Options) *magics.Magic {
	m := &magics.Magic{Name: "tune", Summary: "tune hyperparameters: each trial a training job; list, show, stop and resume studies", Usage: usage}
	m.Cell = func(ctx context.Context, args, body string) (any, error) {
		f, err := parse(m, args)
		if err != nil {
			return nil, err
		}
		sp, err := f.spec(m, body, o.python())
		if err != nil {
			return nil, err
		}
		if err := sp.Validate(); err != nil {
			return nil, err
		}
		s, err := o.Session()
		if err != nil {
			return nil, err
		}
		if sp.Experiment == "" {
			if ts, err := tracking.Default(); err == nil {
				if e, err := ts.Experiment(ctx); err == nil {
					sp.Experiment = e.Name
					sp.Template.Job.Experiment = e.Name
				}
			}
		}
		if f.replace {
			if err := s.Backend.Delete(ctx, sp.Name); err != nil && !ferry.IsNotFound(err) {
				return nil, err
			}
		}
		st, err := s.Backend.Create(ctx, sp)
		if ferry.ErrorCode(err) == ferry.AlreadyExists {
			return nil, fmt.Errorf("%w (or add --replace to delete it first)", err)
		}
		if err != nil {
			return nil, err
		}
		if f.detach {
			return display.Text(fmt.Sprintf("started study %s (%d trials, %d at once, %s) in %s; %%tune watch %s, %%tune stop %s",
				st.Spec.Name, st.Spec.MaxTrials, st.Spec.ParallelTrials, st.Spec.Algorithm.Name, s.Where, st.Spec.Name, st.Spec.Name)), nil
		}
		return watch(ctx, s, sp.Name)
	}
	m.Line = func(ctx context.Context, args string) (any, error) {
		words, err := magics.SplitArgs(args)
		if err != nil {
			return nil, magics.Usagef(m, "%v", err)
		}
		if len(words) == 0 {
			return nil, magics.Usagef(m, "give a command: list, show, watch, stop, resume or delete (%%%%tune starts a study)")
		}
		s, err := o.Session()
		if err != nil {
			return nil, err
		}
		cmd, rest := words[0], words[1:]
		if cmd == "list" {
			if len(rest) > 0 {
				return nil, magics.Usagef(m, "%%tune list takes no arguments")
			}
			sts, err := s.Backend.List(ctx)
			if err != nil {
				return nil, err
			}
			return StudiesTable(sts, s.Where), nil
		}
		if len(rest) != 1 {
			return nil, magics.Usagef(m, "%%tune %s NAME: give one study name", cmd)
		}
		name := rest[0]
		switch cmd {
		case "show":
			st, err := s.Backend.Get(ctx, name)
			if err != nil {
				return nil, err
			}
			display.Display(display.VegaLite(tuningclient.BestSoFar(st)), display.VegaLite(tuningclient.ParallelCoordinates(st)))
			return tuningclient.TrialsTable(st), nil
		case "watch":
			return watch(ctx, s, name)
		case "stop":
			if err := s.Backend.Stop(ctx, name); err != nil {
				return nil, err
			}
			st, err := s.Backend.Get(ctx, name)
			if err != nil {
				return nil, err
			}
			return tuningclient.Summary(st), nil
		case "resume":
			st, err := s.Backend.Resume(ctx, name)
			if err != nil {
				return nil, err
			}
			if st.Spec.Template.Job == nil {
				return display.Text(fmt.Sprintf("study %s runs a Go objective: run its cell again (tuningclient.Open and Optimize) to go on", name)), nil
			}
			return watch(ctx, s, name)
		case "delete":
			if err := s.Backend.Delete(ctx, name); err != nil {
				return nil, err
			}
			return display.Text("deleted study " + name + " (its tracking runs stay)"), nil
		}
		return nil, magics.Usagef(m, "unknown command %q: use list, show, watch, stop, resume or delete", cmd)
	}
	return m
}

// watch shows the study's dashboard until it ends, then its summary.
func watch(ctx context.Context, s *tuningclient.Session, name string) (any, error) {
	sink := NewSink(name, tuningclient.BackendControls(ctx, s.Backend, name))
	st, err := tuningclient.Monitor(ctx, s.Backend, name, sink)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("stopped watching study %s (interrupted); it goes on: %%tune watch %s; %%tune stop %s stops it", name, name, name)
	}
	if st.State == tuning.StudyFailed {
		display.Display(tuningclient.Summary(st))
		return nil, fmt.Errorf("study %s failed: %s", name, st.Message)
	}
	return tuningclient.Summary(st), nil
}

// StudiesTable lists studies: state, algorithm, trials and the best value.
func StudiesTable(sts []tuning.Study, where string) display.Table {
	t := display.Table{Columns: []string{"study", "state", "algorithm", "trials", "objective", "best", "best trial"},
		Caption: fmt.Sprintf("%d studies (%s)", len(sts), where)}
	for _, st := range sts {
		row := []any{st.Spec.Name, string(st.State), st.Spec.Algorithm.Name, fmt.Sprintf("%d/%d", len(st.Trials), st.Spec.MaxTrials),
			string(st.Spec.Objective.Direction) + " " + st.Spec.Objective.Metric, nil, ""}
		if best, ok := st.Best(); ok {
			row[5], row[6] = *best.Value, best.Name
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Sink is the notebook's monitor of a study: a widgets.Dashboard with the
// trials table, the best-so-far and parallel-coordinates charts, and Stop
// and Resume buttons.
type Sink struct {
	*widgets.Dashboard
}

var _ tuningclient.Sink = (*Sink)(nil)

// NewSink displays a dashboard for the study named name, with a button for
// each of c's actions; it is tuningclient.NewSink in the kernel.
func NewSink(name string, c tuningclient.Controls) tuningclient.Sink {
	d := widgets.NewDashboard()
	d.Set(widgets.DashboardState{Title: name, Status: "Pending"})
	s := &Sink{Dashboard: d}
	if c.Stop != nil {
		d.AddButton("Stop", func() {
			if err := c.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		})
	}
	if c.Resume != nil {
		d.AddButton("Resume", func() {
			if err := c.Resume(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		})
	}
	widgets.Display(d)
	return s
}

// Update shows the study's state.
func (s *Sink) Update(st tuning.Study) {
	finished := 0
	for _, t := range st.Trials {
		if t.State.Finished() {
			finished++
		}
	}
	s.Set(widgets.DashboardState{
		Title:  st.Spec.Name + " · " + st.Spec.Algorithm.Name,
		Status: string(st.State),
		Done:   float64(finished), Total: float64(st.Spec.MaxTrials),
		Table:  tuningclient.TrialsTable(st),
		Charts: []any{display.VegaLite(tuningclient.BestSoFar(st)), display.VegaLite(tuningclient.ParallelCoordinates(st))},
	})
}
