package algorithms_test

import (
	"context"
	"fmt"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
)

func ExampleNew() {
	space := tuning.Space{tuning.IntRange("layers", 1, 3), tuning.Choice("opt", "sgd", "adam")}
	alg, err := algorithms.New("grid", space, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := alg.Suggest(context.Background(), tuning.Request{Space: space, N: 3})
	for _, s := range out {
		fmt.Println(space.Assignments(s.Point))
	}
	_, err = algorithms.New("hyperopt", space, nil)
	fmt.Println(err)
	// Output:
	// [{layers 1} {opt sgd}]
	// [{layers 1} {opt adam}]
	// [{layers 2} {opt sgd}]
	// tuning: unknown algorithm "hyperopt": use one of bayesianoptimization, cmaes, grid, hyperband, multivariate-tpe, random, sobol, tpe
}
