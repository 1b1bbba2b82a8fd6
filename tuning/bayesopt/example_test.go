package bayesopt_test

import (
	"context"
	"fmt"
	"math"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/bayesopt"
)

// A study of 20 sequential trials minimising a function of a log-scaled
// learning rate and a momentum.
func Example() {
	space := tuning.Space{tuning.Float("lr", 1e-4, 1).Log(), tuning.Float("momentum", 0, 1)}
	loss := func(p tuning.Point) float64 {
		l := math.Log10(p[0]) + 2 // best at lr = 0.01
		return l*l + (p[1]-0.9)*(p[1]-0.9)
	}
	alg, err := bayesopt.New(space, tuning.Settings{"n_initial_points": "5"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var history []tuning.Observation
	best := math.Inf(1)
	for range 20 {
		out, err := alg.Suggest(context.Background(), tuning.Request{Space: space, History: history, N: 1, Seed: 1})
		if err != nil {
			fmt.Println(err)
			return
		}
		y := loss(out[0].Point)
		best = min(best, y)
		history = append(history, tuning.Observation{Point: out[0].Point, State: tuning.Succeeded, Loss: y, Labels: out[0].Labels})
	}
	fmt.Println(best < 0.01)
	// Output:
	// true
}
