package runner_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ferryml/ferry/tuning"
	algos "github.com/ferryml/ferry/tuning/algorithms"
	"github.com/ferryml/ferry/tuning/runner"
)

// A study whose trials the caller runs: ask for a trial, run it, tell the
// result, until the study has none left.
func Example() {
	dir, _ := os.MkdirTemp("", "studies")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	r, err := runner.Open(ctx, runner.Options{Dir: dir, Suggesters: algos.New, Stoppers: algos.NewEarlyStopper})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	_, err = r.Create(ctx, tuning.Spec{
		Name:      "grid",
		Objective: tuning.Objective{Metric: "loss"},
		Space:     tuning.Space{tuning.IntRange("n", 1, 4)},
		Algorithm: tuning.Algorithm{Name: "grid"},
		MaxTrials: 4, ParallelTrials: 1,
	})
	if err != nil {
		panic(err)
	}
	for {
		t, ok, err := r.Ask(ctx, "grid")
		if err != nil || !ok {
			break
		}
		n := t.Point[0]
		loss := (n - 3) * (n - 3)
		if _, err := r.Tell(ctx, "grid", t.Name, tuning.Report{Metrics: map[string]float64{"loss": loss}, Final: true}); err != nil {
			panic(err)
		}
	}
	st, _ := r.Get(ctx, "grid")
	best, _ := st.Best()
	fmt.Println(st.State, len(st.Trials), "trials; best", best.Assignments[0].Name, "=", best.Assignments[0].Value)
	// Output: Succeeded 4 trials; best n = 3
}
