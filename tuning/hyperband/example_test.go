package hyperband_test

import (
	"context"
	"fmt"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/hyperband"
)

func Example() {
	space := tuning.Space{tuning.Float("lr", 1e-3, 1).Log(), tuning.IntRange("epochs", 1, 9)}
	h, err := hyperband.New(space, tuning.Settings{"resource_name": "epochs", "eta": "3"})
	if err != nil {
		panic(err)
	}
	var hist []tuning.Observation
	for !h.Done(tuning.Request{Space: space, History: hist}) {
		ss, err := h.Suggest(context.Background(), tuning.Request{Space: space, History: hist, N: 100, Seed: 1})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%d trials at %s epochs\n", len(ss), space.Assignments(ss[0].Point)[1].Value)
		for _, s := range ss { // train for that many epochs
			hist = append(hist, tuning.Observation{Point: s.Point, Labels: s.Labels, State: tuning.Succeeded, Loss: s.Point[0] / s.Point[1]})
		}
	}
	// Output:
	// 9 trials at 1 epochs
	// 3 trials at 3 epochs
	// 1 trials at 9 epochs
	// 5 trials at 3 epochs
	// 2 trials at 9 epochs
	// 3 trials at 9 epochs
}
