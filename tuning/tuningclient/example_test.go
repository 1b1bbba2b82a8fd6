package tuningclient_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
	"github.com/ferryml/ferry/tuning/runner"
	"github.com/ferryml/ferry/tuning/tuningclient"
)

// Optimize runs a Go objective for each trial of a study. In a notebook,
// tuningclient.Open uses the kernel's session (the lab's control plane).
func ExampleStudy_Optimize() {
	dir, _ := os.MkdirTemp("", "studies")
	defer os.RemoveAll(dir)
	r, err := runner.Open(context.Background(), runner.Options{Dir: dir, Suggesters: algorithms.New})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	ss := &tuningclient.Session{Backend: r, Where: dir}
	study, err := ss.Open(context.Background(), tuning.Spec{
		Name:      "square",
		Objective: tuning.Objective{Metric: "loss"},
		Space:     tuning.Space{tuning.IntRange("x", -3, 3)},
		Algorithm: tuning.Algorithm{Name: "grid"},
		MaxTrials: 7,
	})
	if err != nil {
		panic(err)
	}
	best, err := study.Optimize(func(t *tuningclient.Trial) float64 {
		x := float64(t.Int("x"))
		return x*x + 1
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(best.Assignments[0].Value, *best.Value)
	// Output: 0 1
}
