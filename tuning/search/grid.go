package search

import (
	"context"
	"math"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
)

// Grid is Katib's "grid" search: every combination of the parameters'
// values (see GridValues), the first parameter varying slowest, skipping
// the points already in the history. Once every point is taken it returns
// no more.
type Grid struct {
	values [][]float64
	size   int
}

var _ tuning.Suggester = (*Grid)(nil)

// NewGrid returns grid search over space. Grid takes no settings; every
// parameter must have a finite set of values (a double needs a step).
func NewGrid(space tuning.Space, s tuning.Settings) (*Grid, error) {
	if err := tuning.NewReader("grid", s).Finish(); err != nil {
		return nil, err
	}
	if err := space.Validate(); err != nil {
		return nil, err
	}
	values := make([][]float64, len(space))
	for i, p := range space {
		v, err := GridValues(p)
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	size := gridSize(values, math.MaxInt64/2)
	if size < 0 {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: grid: the grid has more than 2^62 points: use larger steps or fewer values")
	}
	return &Grid{values: values, size: size}, nil
}

// Size returns the number of points of the grid.
func (a *Grid) Size() int { return a.size }

// Suggest returns the next req.N points of the grid not in the history.
func (a *Grid) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	if err := checkRequest("grid", req); err != nil {
		return nil, err
	}
	if len(req.Space) != len(a.values) {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: grid: the request's space has %d parameters, the grid %d: make the grid for the study's space", len(req.Space), len(a.values))
	}
	taken := takenKeys(req.Space, req.History)
	var out []tuning.Suggestion
	for i := 0; i < a.size && len(out) < req.N; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		p := gridPoint(a.values, i)
		if k := req.Space.Key(p); !taken[k] {
			taken[k] = true
			out = append(out, tuning.Suggestion{Point: p})
		}
	}
	return out, nil
}
