package cmaes_test

import (
	"context"
	"fmt"
	"math"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/cmaes"
)

func Example() {
	space := tuning.Space{tuning.Float("x", -3, 3), tuning.Float("y", -3, 3)}
	c, err := cmaes.New(space, nil)
	if err != nil {
		panic(err)
	}
	var hist []tuning.Observation
	best := math.Inf(1)
	for len(hist) < 200 {
		ss, err := c.Suggest(context.Background(), tuning.Request{Space: space, History: hist, N: 6, Seed: 1})
		if err != nil {
			panic(err)
		}
		for _, s := range ss {
			x, y := s.Point[0], s.Point[1]
			loss := (x-1)*(x-1) + 10*(y+1)*(y+1)
			best = math.Min(best, loss)
			hist = append(hist, tuning.Observation{Point: s.Point, Labels: s.Labels, State: tuning.Succeeded, Loss: loss})
		}
	}
	fmt.Println(best < 1e-4)
	// Output: true
}
