// Package taken keeps the set of points a study already holds, so that
// suggesters never propose one of them again in a finite search space, and
// draws random points that are not taken.
package taken

import (
	"math"
	"math/rand/v2"

	"github.com/ferryml/ferry/tuning"
)

// enumerateLimit is the largest finite space Random enumerates.
const enumerateLimit = 1 << 16

// Set is the set of points of a space that a study holds.
type Set struct {
	space tuning.Space
	keys  map[string]bool
	size  float64 // number of points of the space; +Inf for a continuum
}

// New returns the set of the points in history.
func New(space tuning.Space, history []tuning.Observation) *Set {
	s := &Set{space: space, keys: map[string]bool{}, size: Size(space)}
	for _, o := range history {
		if len(o.Point) == len(space) {
			s.keys[space.Key(o.Point)] = true
		}
	}
	return s
}

// Size returns the number of points of the space: the product of the
// parameters' counts, +Inf when a double parameter makes it a continuum.
func Size(space tuning.Space) float64 {
	n := 1.0
	for _, p := range space {
		if p.Type == tuning.Double {
			return math.Inf(1)
		}
		n *= float64(p.Count())
	}
	return n
}

// Has reports whether p is taken.
func (s *Set) Has(p tuning.Point) bool { return s.keys[s.space.Key(p)] }

// Add marks p taken.
func (s *Set) Add(p tuning.Point) { s.keys[s.space.Key(p)] = true }

// Full reports whether every point of a finite space is taken.
func (s *Set) Full() bool { return float64(len(s.keys)) >= s.size }

// Random returns a point drawn from the space's distributions that is not
// taken, or false when there is none (the space is full).
func (s *Set) Random(rng *rand.Rand) (tuning.Point, bool) {
	if s.Full() {
		return nil, false
	}
	for range 64 {
		p := s.space.Sample(rng)
		if !s.Has(p) {
			return p, true
		}
	}
	if s.size <= enumerateLimit {
		var free []tuning.Point
		s.each(func(p tuning.Point) {
			if !s.Has(p) {
				free = append(free, p)
			}
		})
		if len(free) == 0 {
			return nil, false
		}
		return free[rng.IntN(len(free))], true
	}
	for range 4096 {
		p := s.space.Sample(rng)
		if !s.Has(p) {
			return p, true
		}
	}
	return nil, false
}

// each calls f with every point of a finite space.
func (s *Set) each(f func(tuning.Point)) {
	counts := make([]int, len(s.space))
	for i, p := range s.space {
		counts[i] = p.Count()
	}
	idx := make([]int, len(s.space))
	for {
		p := make(tuning.Point, len(s.space))
		for i, prm := range s.space {
			if prm.Type == tuning.Int {
				step := prm.Step
				if step == 0 {
					step = 1
				}
				p[i] = prm.Min + float64(idx[i])*step
			} else {
				p[i] = prm.FromUnit((float64(idx[i]) + 0.5) / float64(counts[i]))
			}
		}
		f(p)
		i := 0
		for ; i < len(idx); i++ {
			idx[i]++
			if idx[i] < counts[i] {
				break
			}
			idx[i] = 0
		}
		if i == len(idx) {
			return
		}
	}
}
