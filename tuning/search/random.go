package search

import (
	"context"

	"github.com/ferryml/ferry/tuning"
)

// Random is Katib's "random" search: each suggestion is an independent draw
// from the space's distributions. It never repeats a point of the history
// or of its batch; in a finite space (no double parameters) it returns
// fewer suggestions once every point is taken.
type Random struct {
	state int64 // random_state, or -1
}

var _ tuning.Suggester = (*Random)(nil)

// NewRandom returns random search over space with settings s: random_state
// (a whole number ≥ 0; it replaces the study's seed).
func NewRandom(space tuning.Space, s tuning.Settings) (*Random, error) {
	r := tuning.NewReader("random", s)
	state := randomState(r)
	if err := r.Finish(); err != nil {
		return nil, err
	}
	if err := space.Validate(); err != nil {
		return nil, err
	}
	return &Random{state: state}, nil
}

// maxTries is how many draws Random makes for one suggestion before it
// turns to the list of the points left (in a finite space).
const maxTries = 64

// enumerateLimit bounds the finite spaces whose untaken points Random lists.
const enumerateLimit = 1 << 20

// Suggest returns req.N random points.
func (a *Random) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	if err := checkRequest("random", req); err != nil {
		return nil, err
	}
	rng := rngFor(seedOf(a.state, req.Seed), len(req.History))
	taken := takenKeys(req.Space, req.History)
	finite := true
	for _, p := range req.Space {
		finite = finite && p.Type != tuning.Double
	}
	var out []tuning.Suggestion
	var left []tuning.Point // the untaken points of a finite space, once listed
	listed := false
	for len(out) < req.N {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var p tuning.Point
		for range maxTries {
			q := req.Space.Sample(rng)
			if !taken[req.Space.Key(q)] {
				p = q
				break
			}
		}
		if p == nil && finite {
			if !listed {
				left, listed = untaken(req.Space, taken), true
			}
			for len(left) > 0 && p == nil {
				i := rng.IntN(len(left))
				q := left[i]
				left[i] = left[len(left)-1]
				left = left[:len(left)-1]
				if !taken[req.Space.Key(q)] {
					p = q
				}
			}
		}
		if p == nil {
			break // a finite space with every point taken (or one too large to list)
		}
		taken[req.Space.Key(p)] = true
		out = append(out, tuning.Suggestion{Point: p})
	}
	return out, nil
}

// untaken lists the points of a finite space that are not taken, or none if
// the space has more than enumerateLimit points.
func untaken(space tuning.Space, taken map[string]bool) []tuning.Point {
	values := make([][]float64, len(space))
	for i, p := range space {
		v, err := GridValues(p)
		if err != nil {
			return nil
		}
		values[i] = v
	}
	n := gridSize(values, enumerateLimit)
	var out []tuning.Point
	for i := range n {
		p := gridPoint(values, i)
		if !taken[space.Key(p)] {
			out = append(out, p)
		}
	}
	return out
}
