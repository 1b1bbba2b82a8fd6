package tpe_test

import (
	"context"
	"fmt"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/tpe"
)

func Example() {
	space := tuning.Space{tuning.Float("lr", 1e-4, 1).Log(), tuning.Choice("opt", "sgd", "adam")}
	s, err := tpe.New(space, tuning.Settings{"n_startup_trials": "5"})
	if err != nil {
		panic(err)
	}
	var hist []tuning.Observation
	for len(hist) < 30 {
		ss, err := s.Suggest(context.Background(), tuning.Request{Space: space, History: hist, N: 3, Seed: 1})
		if err != nil {
			panic(err)
		}
		for _, sg := range ss {
			lr := sg.Point[0]
			loss := (lr-0.01)*(lr-0.01) + sg.Point[1] // adam (1) is worse
			hist = append(hist, tuning.Observation{Point: sg.Point, State: tuning.Succeeded, Loss: loss})
		}
	}
	best := hist[0]
	for _, o := range hist {
		if o.Loss < best.Loss {
			best = o
		}
	}
	fmt.Println(space.Assignments(best.Point)[1].Value, best.Loss < 1e-3)
	// Output: sgd true
}
