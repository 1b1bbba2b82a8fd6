// Package runs implements the tracking magics of the Go kernel:
//
//	%experiment [NAME]        make NAME the current experiment (created if new); without NAME show it
//	%runs [flags]             list runs as a table
//	%runs compare [flags] RUN...   compare runs: params and metrics side by side, differences marked, and a chart of metric histories
//	%runs show RUN            one run: attributes, params, metrics, tags, artifacts
//
// Runs are named by id or by name (in the current experiment). The magics
// use the process's tracking session (tracking.Default): the control plane
// of `ferry lab` when the kernel runs under it, else the embedded store.
package runs

import (
	"context"
	"flag"
	"fmt"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/tracking"
)

// SessionFunc returns the tracking session the magics use.
type SessionFunc func() (*tracking.Session, error)

// Register adds %experiment and %runs to reg. session nil means
// tracking.Default.
func Register(reg *magics.Registry, session SessionFunc) {
	if session == nil {
		session = tracking.Default
	}
	reg.Register(experimentMagic(session))
	reg.Register(runsMagic(session))
}

func experimentMagic(session SessionFunc) *magics.Magic {
	m := &magics.Magic{
		Name:    "experiment",
		Summary: "set or show the current tracking experiment",
		Usage: `%experiment NAME   make experiment NAME current (it is created if it does not exist)
%experiment        show the current experiment`,
	}
	m.Line = func(ctx context.Context, args string) (any, error) {
		words, err := magics.SplitArgs(args)
		if err != nil {
			return nil, magics.Usagef(m, "%v", err)
		}
		if len(words) > 1 {
			return nil, magics.Usagef(m, "one experiment name, got %d words (quote a name with spaces)", len(words))
		}
		s, err := session()
		if err != nil {
			return nil, err
		}
		var e storage.Experiment
		if len(words) == 0 {
			e, err = s.Experiment(ctx)
		} else {
			e, err = s.SetExperiment(ctx, words[0])
		}
		if err != nil {
			return nil, err
		}
		return display.Text(fmt.Sprintf("experiment %q (id %s), artifacts in %s", e.Name, e.ID, e.ArtifactLocation)), nil
	}
	return m
}

const runsUsage = `%runs [--experiment NAME] [--filter EXPR] [--order-by KEY [DESC]] [--limit N]
    list runs of the current experiment (or NAME) as a table
%runs compare [--experiment NAME] [--filter EXPR] [--limit N] [RUN...]
    compare runs (ids or names; without RUN, all runs the filter selects):
    params and metrics side by side, differences marked, and a chart of
    the metric histories
%runs show RUN
    one run: attributes, params, latest metrics, tags, artifacts

EXPR is MLflow's filter grammar, e.g.
    --filter "metrics.accuracy > 0.9 and params.lr = '0.01'"
KEY is an attribute, metrics.KEY, params.KEY or tags.KEY, e.g.
    --order-by "metrics.accuracy DESC"`

func runsMagic(session SessionFunc) *magics.Magic {
	m := &magics.Magic{Name: "runs", Summary: "list, show and compare tracked runs", Usage: runsUsage}
	m.Line = func(ctx context.Context, args string) (any, error) {
		var fs flag.FlagSet
		exp := fs.String("experiment", "", "")
		filter := fs.String("filter", "", "")
		order := fs.String("order-by", "", "")
		limit := fs.Int("limit", 0, "")
		pos, err := magics.ParseFlags(m, &fs, args)
		if err != nil {
			return nil, err
		}
		s, err := session()
		if err != nil {
			return nil, err
		}
		var e storage.Experiment
		if *exp != "" {
			e, err = s.Tracker.GetExperimentByName(ctx, *exp)
			if ferry.IsNotFound(err) {
				return nil, fmt.Errorf("no experiment %q (%%experiment %s creates it; `ferry runs experiments` lists them)", *exp, *exp)
			}
		} else {
			e, err = s.Experiment(ctx)
		}
		if err != nil {
			return nil, err
		}
		var orderBy []string
		if *order != "" {
			orderBy = []string{*order}
		}
		sub := ""
		if len(pos) > 0 {
			sub, pos = pos[0], pos[1:]
		}
		switch sub {
		case "", "list":
			if len(pos) > 0 {
				return nil, magics.Usagef(m, "unexpected arguments %q", pos)
			}
			lim := *limit
			if lim == 0 {
				lim = 1000
			}
			runs, err := s.Search(ctx, []string{e.ID}, *filter, orderBy, lim)
			if err != nil {
				return nil, err
			}
			t := tracking.RunsTable(runs)
			t.Caption = fmt.Sprintf("%d runs of experiment %q", len(runs), e.Name)
			if *filter != "" {
				t.Caption += " matching " + *filter
			}
			return t, nil
		case "compare":
			var runs []storage.Run
			if len(pos) > 0 {
				if *filter != "" {
					return nil, magics.Usagef(m, "give runs or --filter, not both")
				}
				runs, err = s.FindRuns(ctx, e.ID, pos)
			} else {
				runs, err = s.Search(ctx, []string{e.ID}, *filter, orderBy, *limit)
			}
			if err != nil {
				return nil, err
			}
			c, err := s.Compare(ctx, runs)
			if err != nil {
				return nil, err
			}
			display.Display(c.Table)
			return c.Chart, nil
		case "show":
			if len(pos) != 1 {
				return nil, magics.Usagef(m, "show takes one run id or name")
			}
			runs, err := s.FindRuns(ctx, e.ID, pos)
			if err != nil {
				return nil, err
			}
			return s.Describe(ctx, runs[0])
		}
		return nil, magics.Usagef(m, "unknown subcommand %q: use list, compare or show", sub)
	}
	return m
}
