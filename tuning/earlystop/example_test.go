package earlystop_test

import (
	"context"
	"fmt"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/earlystop"
)

func ExampleMedianStop() {
	m, err := earlystop.NewMedianStop(tuning.Settings{"min_trials_required": "2", "start_step": "2"})
	if err != nil {
		panic(err)
	}
	history := []tuning.Observation{
		{State: tuning.Succeeded, Loss: 0.2, Curve: []tuning.Step{{Step: 1, Loss: 0.9}, {Step: 2, Loss: 0.5}, {Step: 3, Loss: 0.2}}},
		{State: tuning.Succeeded, Loss: 0.4, Curve: []tuning.Step{{Step: 1, Loss: 1.1}, {Step: 2, Loss: 0.7}, {Step: 3, Loss: 0.4}}},
	}
	rules, _ := m.Rules(context.Background(), history)
	r := rules[0]
	fmt.Printf("threshold %.2f from report %d\n", r.Threshold, r.StartStep)
	fmt.Println("stop at report 2 with loss 0.9:", r.Stops(2, 0.9))
	// Output:
	// threshold 0.80 from report 2
	// stop at report 2 with loss 0.9: true
}
