package search_test

import (
	"context"
	"fmt"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/search"
)

func ExampleGrid() {
	space := tuning.Space{tuning.Choice("opt", "sgd", "adam"), tuning.Float("lr", 0.1, 0.2).By(0.1)}
	g, err := search.NewGrid(space, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := g.Suggest(context.Background(), tuning.Request{Space: space, N: 10})
	for _, s := range out {
		fmt.Println(space.Key(s.Point))
	}
	// Output:
	// opt=sgd,lr=0.1
	// opt=sgd,lr=0.2
	// opt=adam,lr=0.1
	// opt=adam,lr=0.2
}

func ExampleNewGrid_continuous() {
	_, err := search.NewGrid(tuning.Space{tuning.Float("lr", 0, 1)}, nil)
	fmt.Println(err)
	// Output:
	// tuning: grid: parameter "lr" is a double with no step, so it has no grid: give it a step (feasibleSpace.step), or use another algorithm (random, sobol, bayesianoptimization)
}

func ExampleSobol() {
	space := tuning.Space{tuning.Float("x", 0, 1), tuning.IntRange("n", 0, 3)}
	s, _ := search.NewSobol(space, nil)
	out, _ := s.Suggest(context.Background(), tuning.Request{Space: space, N: 4})
	for _, s := range out {
		fmt.Println(space.Key(s.Point), s.Labels[search.SobolLabel])
	}
	// Output:
	// x=0,n=0 0
	// x=0.5,n=2 1
	// x=0.75,n=1 2
	// x=0.25,n=3 3
}

func ExampleRandom() {
	space := tuning.Space{tuning.Float("lr", 1e-4, 1e-1).Log(), tuning.Choice("opt", "sgd", "adam")}
	r, _ := search.NewRandom(space, tuning.Settings{"random_state": "42"})
	a, _ := r.Suggest(context.Background(), tuning.Request{Space: space, N: 2})
	b, _ := r.Suggest(context.Background(), tuning.Request{Space: space, N: 2})
	fmt.Println(len(a), space.Key(a[0].Point) == space.Key(b[0].Point))
	// Output:
	// 2 true
}
