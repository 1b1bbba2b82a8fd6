package algorithms

import (
	"slices"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/earlystop"
)

// stoppers maps Katib's early-stopping algorithm names to constructors.
var stoppers = map[string]func(tuning.Settings) (tuning.EarlyStopper, error){
	"medianstop": func(s tuning.Settings) (tuning.EarlyStopper, error) {
		m, err := earlystop.NewMedianStop(s)
		if err != nil {
			return nil, err
		}
		return m, nil
	},
}

// NewEarlyStopper returns the early-stopping algorithm Katib calls name
// with settings s. An unknown name is an error that lists the known ones.
func NewEarlyStopper(name string, s tuning.Settings) (tuning.EarlyStopper, error) {
	c, ok := stoppers[name]
	if !ok {
		names := make([]string, 0, len(stoppers))
		for n := range stoppers {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, ferry.Errorf(ferry.Invalid, "tuning: unknown early-stopping algorithm %q: use one of %s", name, strings.Join(names, ", "))
	}
	return c(s)
}
