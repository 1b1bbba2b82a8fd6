package search

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
)

// randomState reads the random_state setting: a seed that replaces the
// study's, or -1 when unset.
func randomState(r *tuning.Reader) int64 {
	return int64(r.Int("random_state", -1, 0, math.MaxInt32))
}

// seedOf returns the seed to use: random_state when set, else the study's.
func seedOf(state, seed int64) int64 {
	if state >= 0 {
		return state
	}
	return seed
}

// rngFor returns the generator of a request: a PCG seeded by the seed and
// the length of the history.
func rngFor(seed int64, history int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(history)^0x9e3779b97f4a7c15))
}

// takenKeys returns the keys of the points in the history.
func takenKeys(space tuning.Space, history []tuning.Observation) map[string]bool {
	taken := make(map[string]bool, len(history))
	for _, o := range history {
		if len(o.Point) == len(space) {
			taken[space.Key(o.Point)] = true
		}
	}
	return taken
}

// checkRequest validates the request's space and N.
func checkRequest(algo string, req tuning.Request) error {
	if err := req.Space.Validate(); err != nil {
		return err
	}
	if req.N < 0 {
		return ferry.Errorf(ferry.Invalid, "tuning: %s: asked for %d suggestions: ask for 0 or more", algo, req.N)
	}
	for i, o := range req.History {
		if len(o.Point) != len(req.Space) {
			return ferry.Errorf(ferry.Invalid, "tuning: %s: trial %d of the history has %d values for a space of %d parameters: give every trial a value for each parameter", algo, i, len(o.Point), len(req.Space))
		}
	}
	return nil
}

// GridValues returns the values grid search takes for p, in order: the
// numbers of an int or discrete parameter, the indices of a categorical
// one, a double's values from Min by Step (rounded to 12 significant
// digits, so that 0.1 steps give 0.3, not 0.30000000000000004). A double
// without a step has no grid: GridValues returns an error naming the fix.
func GridValues(p tuning.Param) ([]float64, error) {
	n := p.Count()
	switch p.Type {
	case tuning.Categorical:
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i)
		}
		return xs, nil
	case tuning.Discrete:
		xs := make([]float64, 0, n)
		for i := range n {
			xs = append(xs, p.FromUnit((float64(i)+0.5)/float64(n)))
		}
		return xs, nil
	}
	if n == 0 {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: grid: parameter %q is a double with no step, so it has no grid: give it a step (feasibleSpace.step), or use another algorithm (random, sobol, bayesianoptimization)", p.Name)
	}
	xs := make([]float64, n)
	step := p.Step
	if step == 0 {
		step = 1
	}
	for i := range xs {
		x := p.Min + float64(i)*step
		if p.Type == tuning.Double {
			x, _ = strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
		}
		xs[i] = math.Min(x, p.Max)
	}
	return xs, nil
}

// gridSize returns the number of points of the grid of values, or -1 if it
// exceeds limit.
func gridSize(values [][]float64, limit int) int {
	n := 1
	for _, v := range values {
		if len(v) == 0 || n > limit/len(v) {
			return -1
		}
		n *= len(v)
	}
	return n
}

// gridPoint returns the point of number i of the grid, the last parameter
// varying fastest.
func gridPoint(values [][]float64, i int) tuning.Point {
	p := make(tuning.Point, len(values))
	for j := len(values) - 1; j >= 0; j-- {
		n := len(values[j])
		p[j] = values[j][i%n]
		i /= n
	}
	return p
}
