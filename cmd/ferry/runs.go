package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/storage/trackingapi"
)

const runsUsage = `Usage: ferry runs COMMAND [FLAGS] [ARGS]

Commands:
  list [--experiment NAME] [--filter EXPR] [--order-by KEY] [--limit N]
                            list runs (default: experiment Default)
  show RUN                  one run: attributes, params, metrics, tags, artifacts
  compare [--chart FILE] RUN...  params and latest metrics side by side
                            (differences marked *); --chart writes a
                            Vega-Lite v5 spec of the metric histories
  experiments [--all]       list experiments

RUN is a run id or a run name in the experiment. Where the runs are kept:
--url (or $FERRY_API_URL) and --token ($FERRY_TOKEN) name a running
ferry lab's control plane, e.g. http://127.0.0.1:8888/api/ferry/v1/;
--tracking-url ($FERRY_TRACKING_URL: sqlite:///path/ferry.db,
postgres://...) a store; otherwise the embedded store of the data
directory ($FERRY_DATA_DIR or ~/.local/share/ferry).

Flags:
`

func runRuns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("runs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiURL := fs.String("url", os.Getenv(controlplane.EnvAPIURL), "the control-plane `URL` of a running ferry lab")
	token := fs.String("token", os.Getenv(controlplane.EnvToken), "its `token`")
	trackingURL := fs.String("tracking-url", os.Getenv(controlplane.EnvTrackingURL), "a tracking store `URL` (sqlite:///..., postgres://...)")
	exp := fs.String("experiment", "", "the experiment `name` (default: Default)")
	filter := fs.String("filter", "", "an MLflow filter `expression`, e.g. \"metrics.acc > 0.9 and params.lr = '0.01'\"")
	order := fs.String("order-by", "", "order by `KEY` [ASC|DESC], e.g. \"metrics.acc DESC\"")
	limit := fs.Int("limit", 1000, "at most `N` runs (0: all)")
	chart := fs.String("chart", "", "compare: write a Vega-Lite chart of the metric histories to `FILE`")
	all := fs.Bool("all", false, "experiments: include deleted ones")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runsUsage)
		fs.PrintDefaults()
	}
	cmd, done, err := subcommand(fs, args, stdout)
	if done {
		return err
	}
	// Flags may come before or after the run references.
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}

	var s *tracking.Session
	switch {
	case *apiURL != "":
		s = tracking.NewSession(trackingapi.NewClient(*apiURL, *token, nil), *apiURL)
	case *trackingURL != "":
		tr, err := tracking.Open(ctx, *trackingURL, tracking.Options{})
		if err != nil {
			return err
		}
		defer tr.Close()
		s = tracking.NewSession(tr, *trackingURL)
	default:
		var err error
		if s, err = tracking.Connect(ctx); err != nil {
			return err
		}
		defer s.Tracker.Close()
	}
	e, err := s.Experiment(ctx)
	if *exp != "" {
		e, err = s.Tracker.GetExperimentByName(ctx, *exp)
	}
	if err != nil && cmd != "experiments" {
		return fmt.Errorf("runs: %w", err)
	}
	var orderBy []string
	if *order != "" {
		orderBy = []string{*order}
	}
	switch cmd {
	case "list":
		if len(pos) > 0 {
			return fmt.Errorf("runs list: unexpected arguments %q (flags: ferry runs --help)", pos)
		}
		runs, err := s.Search(ctx, []string{e.ID}, *filter, orderBy, *limit)
		if err != nil {
			return fmt.Errorf("runs list: %w", err)
		}
		t := tracking.RunsTable(runs)
		fmt.Fprintln(stdout, t.String())
		fmt.Fprintf(stdout, "(%d runs of experiment %q)\n", len(runs), e.Name)
	case "show":
		if len(pos) != 1 {
			return errors.New("runs show: give one run id or name")
		}
		runs, err := s.FindRuns(ctx, e.ID, pos)
		if err != nil {
			return fmt.Errorf("runs show: %w", err)
		}
		t, err := s.Describe(ctx, runs[0])
		if err != nil {
			return fmt.Errorf("runs show: %w", err)
		}
		fmt.Fprintln(stdout, t.String())
	case "compare":
		var runs []storage.Run
		if len(pos) > 0 {
			runs, err = s.FindRuns(ctx, e.ID, pos)
		} else {
			runs, err = s.Search(ctx, []string{e.ID}, *filter, orderBy, *limit)
		}
		if err != nil {
			return fmt.Errorf("runs compare: %w", err)
		}
		c, err := s.Compare(ctx, runs)
		if err != nil {
			return fmt.Errorf("runs compare: %w", err)
		}
		fmt.Fprintln(stdout, c.Table.String())
		if *chart != "" {
			b, err := json.MarshalIndent(c.Chart.Spec, "", " ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(*chart, b, 0o644); err != nil {
				return fmt.Errorf("runs compare: --chart: %w", err)
			}
		}
	case "experiments":
		view := storage.ActiveOnly
		if *all {
			view = storage.All
		}
		exps, err := s.Tracker.ListExperiments(ctx, view)
		if err != nil {
			return fmt.Errorf("runs experiments: %w", err)
		}
		for _, x := range exps {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", x.ID, x.Name, x.LifecycleStage, x.ArtifactLocation)
		}
	default:
		fs.Usage()
		return fmt.Errorf("runs: unknown command %q", cmd)
	}
	return nil
}
