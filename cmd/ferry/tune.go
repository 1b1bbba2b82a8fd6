package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
	"github.com/ferryml/ferry/tuning/katibgrpc"
	"github.com/ferryml/ferry/tuning/katibgrpc/katibkube"
	"github.com/ferryml/ferry/tuning/tuningapi"
	"github.com/ferryml/ferry/tuning/tuningclient"
)

const tuneUsage = `Usage: ferry tune COMMAND [FLAGS] [ARGS]

Commands:
  list                      list studies, oldest first
  show NAME                 a study: its trials, parameters and results
  watch NAME                print a study's progress until it ends
  stop NAME                 kill its running trials and stop it
  resume NAME               go on with a stopped study
  delete NAME               stop it and remove it (its tracking runs stay)
  create -f SPEC.json [--wait]
                            start a study (- reads stdin); --wait follows it
                            until it ends and fails when the study failed
  katib-service [--listen ADDR] [--in-cluster]
                            serve Ferry's algorithms to a Katib installation
                            over Katib's gRPC API (Suggestion and EarlyStopping
                            services, gRPC health): the command of a custom
                            suggestion (port 6789) or early-stopping (6788)
                            image in katib-config; --in-cluster marks trials
                            EarlyStopped with the pod's service account

A spec is the JSON of a study, e.g.
  {"name": "xgb", "objective": {"metric": "rmse", "direction": "minimize"},
   "parameters": [{"name": "eta", "type": "double", "min": 0.01, "max": 0.5, "distribution": "logUniform"},
                  {"name": "depth", "type": "int", "min": 2, "max": 8}],
   "algorithm": {"name": "bayesianoptimization"}, "earlyStopping": {"name": "medianstop"},
   "maxTrials": 12, "parallelTrials": 3,
   "template": {"job": {"kind": "xgboost", "replicas": {"Master": {"replicas": 1}},
                "command": ["python3", "train.py", "--eta=${trialParameters.eta}", "--depth=${trialParameters.depth}"],
                "files": {"train.py": "..."}}}}

Where the studies run: --url (or $FERRY_API_URL) and --token ($FERRY_TOKEN)
name a running ferry lab's control plane; otherwise a runner in this
process over the data directory ($FERRY_DATA_DIR or ~/.local/share/ferry)
goes on with the studies there while the command runs (prefer ferry lab,
whose runner outlives every command).

Flags:
`

func runTune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiURL := fs.String("url", os.Getenv(controlplane.EnvAPIURL), "the control-plane `URL` of a running ferry lab")
	token := fs.String("token", os.Getenv(controlplane.EnvToken), "its `token`")
	specFile := fs.String("f", "", "create: the study spec `file` (JSON; - for stdin)")
	wait := fs.Bool("wait", false, "create: follow the study until it ends")
	asJSON := fs.Bool("json", false, "list, show: print JSON")
	listen := fs.String("listen", ":6789", "katib-service: the `address` to serve gRPC on")
	inCluster := fs.Bool("in-cluster", false, "katib-service: patch early-stopped Trials through the in-cluster Kubernetes API")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tuneUsage)
		fs.PrintDefaults()
	}
	cmd, done, err := subcommand(fs, args, stdout)
	if done {
		return err
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if cmd == "katib-service" {
		if len(pos) > 0 {
			return fmt.Errorf("tune katib-service: unexpected arguments %q", pos)
		}
		return serveKatib(ctx, *listen, *inCluster, stderr)
	}
	needName := map[string]bool{"show": true, "watch": true, "stop": true, "resume": true, "delete": true}
	switch {
	case needName[cmd] && len(pos) != 1:
		return fmt.Errorf("tune %s: give one study name (ferry tune list shows them)", cmd)
	case (cmd == "list" || cmd == "create") && len(pos) > 0:
		return fmt.Errorf("tune %s: unexpected arguments %q (ferry tune --help)", cmd, pos)
	case !needName[cmd] && cmd != "list" && cmd != "create":
		fs.Usage()
		return fmt.Errorf("tune: unknown command %q", cmd)
	case cmd == "create" && *specFile == "":
		return errors.New("tune create: give the spec file with -f SPEC.json (- for stdin)")
	}
	s, closeAll, err := tuneSession(ctx, *apiURL, *token)
	if err != nil {
		return err
	}
	defer closeAll()
	b := s.Backend
	switch cmd {
	case "list":
		sts, err := b.List(ctx)
		if err != nil {
			return fmt.Errorf("tune list: %w", err)
		}
		if *asJSON {
			return printJSON(stdout, sts)
		}
		for _, st := range sts {
			fmt.Fprintln(stdout, tuningclient.Status(st))
		}
		fmt.Fprintf(stdout, "(%d studies, %s)\n", len(sts), s.Where)
	case "show":
		st, err := b.Get(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("tune show: %w", err)
		}
		if *asJSON {
			return printJSON(stdout, st)
		}
		fmt.Fprintln(stdout, tuningclient.TrialsTable(st).String())
	case "watch":
		return watchStudy(ctx, b, pos[0], stdout)
	case "stop":
		if err := b.Stop(ctx, pos[0]); err != nil {
			return fmt.Errorf("tune stop: %w", err)
		}
		st, err := b.Get(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("tune stop: %w", err)
		}
		fmt.Fprintln(stdout, tuningclient.Status(st))
	case "resume":
		st, err := b.Resume(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("tune resume: %w", err)
		}
		fmt.Fprintln(stdout, tuningclient.Status(st))
	case "delete":
		if err := b.Delete(ctx, pos[0]); err != nil {
			return fmt.Errorf("tune delete: %w", err)
		}
		fmt.Fprintf(stdout, "study %s deleted\n", pos[0])
	case "create":
		var spec tuning.Spec
		if err := readSpec(*specFile, &spec, "study"); err != nil {
			return fmt.Errorf("tune create: %w", err)
		}
		st, err := b.Create(ctx, spec)
		if err != nil {
			return fmt.Errorf("tune create: %w", err)
		}
		fmt.Fprintf(stdout, "study %s started (%s, %d trials, %d at once, run %s)\n", st.Spec.Name, st.Spec.Algorithm.Name, st.Spec.MaxTrials, st.Spec.ParallelTrials, st.RunID)
		if *wait {
			return watchStudy(ctx, b, st.Spec.Name, stdout)
		}
	}
	return nil
}

// watchStudy prints a line at each change of the study's trial counts
// until it ends, then its trials; a failed study is an error.
func watchStudy(ctx context.Context, b tuning.Backend, name string, stdout io.Writer) error {
	p := &linePrinter{w: stdout}
	st, err := tuningclient.Monitor(ctx, b, name, p)
	if err != nil {
		return fmt.Errorf("tune watch: %w", err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("tune watch: stopped watching %s; it goes on (ferry tune stop %s stops it)", name, name)
	}
	fmt.Fprintln(stdout, tuningclient.TrialsTable(st).String())
	if st.State == tuning.StudyFailed {
		return fmt.Errorf("study %s failed: %s", name, st.Message)
	}
	return nil
}

// linePrinter is a tuningclient.Sink that prints the status line when it
// changes.
type linePrinter struct {
	w    io.Writer
	last string
}

func (p *linePrinter) Update(st tuning.Study) {
	if line := tuningclient.Status(st); line != p.last {
		p.last = line
		fmt.Fprintln(p.w, line)
	}
}

func (p *linePrinter) Flush() {}

// tuneSession connects to the control plane at apiURL, or opens a runner
// over the data directory with its local jobs and the embedded tracking
// store.
func tuneSession(ctx context.Context, apiURL, token string) (*tuningclient.Session, func(), error) {
	if apiURL != "" {
		return &tuningclient.Session{Backend: tuningapi.NewClient(apiURL, token, nil), Where: apiURL}, func() {}, nil
	}
	ts, err := tracking.Connect(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("tune: tracking store: %w", err)
	}
	js, closeJobs, err := jobsSession(ctx, "", "")
	if err != nil {
		ts.Tracker.Close()
		return nil, nil, err
	}
	s, err := tuningclient.Connect(ctx, js, ts)
	if err != nil {
		closeJobs()
		ts.Tracker.Close()
		return nil, nil, err
	}
	return s, func() {
		if c, ok := s.Backend.(io.Closer); ok {
			c.Close()
		}
		closeJobs()
		ts.Tracker.Close()
	}, nil
}

// serveKatib serves Ferry's algorithms over Katib's gRPC API until ctx is
// done.
func serveKatib(ctx context.Context, addr string, inCluster bool, stderr io.Writer) error {
	srv := katibgrpc.NewServer(algorithms.New, algorithms.NewEarlyStopper)
	srv.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	if inCluster {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return fmt.Errorf("tune katib-service: --in-cluster: %w", err)
		}
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			return fmt.Errorf("tune katib-service: %w", err)
		}
		srv.OnEarlyStopped = katibkube.MarkEarlyStopped(dyn, katibkube.Namespace(), time.Now)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("tune katib-service: %w", err)
	}
	srv.Logger.Info("serving Katib's Suggestion and EarlyStopping services", "addr", lis.Addr().String(), "algorithms", strings.Join(algorithms.Names(), ","))
	return srv.Serve(ctx, lis)
}
