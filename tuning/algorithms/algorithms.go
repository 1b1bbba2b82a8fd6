// Package algorithms names Ferry's search algorithms by their Katib names
// (Katib v0.19's Experiment spec.algorithm.algorithmName) and builds them
// with their settings, validated as Katib's ValidateAlgorithmSettings
// does.
package algorithms

import (
	"slices"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/bayesopt"
	"github.com/ferryml/ferry/tuning/cmaes"
	"github.com/ferryml/ferry/tuning/hyperband"
	"github.com/ferryml/ferry/tuning/search"
	"github.com/ferryml/ferry/tuning/tpe"
)

// constructor builds an algorithm for a space from its settings.
type constructor func(space tuning.Space, s tuning.Settings) (tuning.Suggester, error)

func wrap[T tuning.Suggester](f func(tuning.Space, tuning.Settings) (T, error)) constructor {
	return func(space tuning.Space, s tuning.Settings) (tuning.Suggester, error) {
		a, err := f(space, s)
		if err != nil {
			return nil, err
		}
		return a, nil
	}
}

// registry maps Katib's algorithm names to constructors.
var registry = map[string]constructor{
	"random":               wrap(search.NewRandom),
	"grid":                 wrap(search.NewGrid),
	"sobol":                wrap(search.NewSobol),
	"bayesianoptimization": wrap(bayesopt.New),
	"tpe":                  wrap(tpe.New),
	"multivariate-tpe":     wrap(tpe.NewMultivariate),
	"cmaes":                wrap(cmaes.New),
	"hyperband":            wrap(hyperband.New),
}

// New returns the algorithm Katib calls name, for space, with settings s.
// An unknown name is an error that lists the known ones.
func New(name string, space tuning.Space, s tuning.Settings) (tuning.Suggester, error) {
	c, ok := registry[name]
	if !ok {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: unknown algorithm %q: use one of %s", name, strings.Join(Names(), ", "))
	}
	return c(space, s)
}

// Names returns the known algorithm names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
