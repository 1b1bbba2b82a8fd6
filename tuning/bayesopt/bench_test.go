package bayesopt

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ferryml/ferry/tuning"
)

// BenchmarkSuggest times one suggestion from 100 observations in 6
// dimensions.
func BenchmarkSuggest(b *testing.B) {
	space := make(tuning.Space, 6)
	for i := range space {
		space[i] = tuning.Float(string(rune('a'+i)), 0, 1)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var h []tuning.Observation
	for range 100 {
		p := space.Sample(rng)
		var s float64
		for _, x := range p {
			s += math.Sin(5*x) * x
		}
		h = append(h, tuning.Observation{Point: p, State: tuning.Succeeded, Loss: s})
	}
	a, err := New(space, nil)
	if err != nil {
		b.Fatal(err)
	}
	req := tuning.Request{Space: space, History: h, N: 1}
	for b.Loop() {
		if _, err := a.Suggest(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
