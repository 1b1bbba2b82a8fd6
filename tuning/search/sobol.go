package search

import (
	"context"
	"math/bits"
	"math/rand/v2"
	"strconv"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
)

// sobolBits is the precision of the sequence: 2^32 points.
const sobolBits = 32

// MaxSobolDim is the largest dimension the direction numbers cover.
const MaxSobolDim = len(sobolPoly)

// SobolSequence is the Sobol sequence in [0,1)^d, plain or scrambled. Point
// i is computed directly from i (through its Gray code), so the sequence
// can be entered anywhere.
type SobolSequence struct {
	dim   int
	v     [][sobolBits]uint32 // direction numbers, per dimension
	shift []uint32            // digital shift (scrambled only)
	scram bool
}

// NewSobolSequence returns the d-dimensional Sobol sequence. Scrambled, it
// applies a random linear matrix scramble and a digital shift drawn from
// seed (as scipy.stats.qmc.Sobol(scramble=True) does), and its points are
// the centres of their cells, never 0.
func NewSobolSequence(d int, scramble bool, seed uint64) (*SobolSequence, error) {
	if d < 1 || d > MaxSobolDim {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: sobol: %d dimensions: the direction numbers cover 1 to %d parameters: use fewer parameters or another algorithm", d, MaxSobolDim)
	}
	s := &SobolSequence{dim: d, v: make([][sobolBits]uint32, d), scram: scramble}
	for j := range sobolBits {
		s.v[0][j] = 1 << (sobolBits - 1 - j)
	}
	for k := 1; k < d; k++ {
		p := sobolPoly[k]
		m := bits.Len32(p) - 1 // degree
		var w [sobolBits]uint32
		copy(w[:], sobolInit[k][:m])
		for j := m; j < sobolBits; j++ {
			nw := w[j-m]
			pow := uint32(1)
			for i := range m {
				pow <<= 1
				if (p>>(m-1-i))&1 == 1 {
					nw ^= pow * w[j-i-1]
				}
			}
			w[j] = nw
		}
		for j := range sobolBits {
			s.v[k][j] = w[j] << (sobolBits - 1 - j)
		}
	}
	if scramble {
		rng := rand.New(rand.NewPCG(seed, 0x50b01))
		s.shift = make([]uint32, d)
		for k := range d {
			// A lower-triangular matrix with a unit diagonal, row r a mask
			// over the bits (most significant first) that output bit r
			// sums.
			var rows [sobolBits]uint32
			for r := range sobolBits {
				top := uint32(1) << (sobolBits - 1 - r)
				rows[r] = top | (rng.Uint32() &^ (top<<1 - 1))
			}
			for j := range sobolBits {
				var out uint32
				for r := range sobolBits {
					if bits.OnesCount32(rows[r]&s.v[k][j])&1 == 1 {
						out |= 1 << (sobolBits - 1 - r)
					}
				}
				s.v[k][j] = out
			}
			s.shift[k] = rng.Uint32()
		}
	}
	return s, nil
}

// Dim returns the sequence's dimension.
func (s *SobolSequence) Dim() int { return s.dim }

// Point writes point number i of the sequence (from 0) into u, which has
// length Dim.
func (s *SobolSequence) Point(i uint64, u []float64) {
	g := uint32(i ^ (i >> 1)) // Gray code
	for k := range s.dim {
		var x uint32
		for b, gg := 0, g; gg != 0; b, gg = b+1, gg>>1 {
			if gg&1 == 1 {
				x ^= s.v[k][b]
			}
		}
		if s.scram {
			x ^= s.shift[k]
			u[k] = (float64(x) + 0.5) / (1 << sobolBits)
		} else {
			u[k] = float64(x) / (1 << sobolBits)
		}
	}
}

// SobolLabel is the label that numbers the trials Sobol suggests.
const SobolLabel = "sobol.index"

// Sobol is Katib's "sobol" search: the points of the Sobol sequence, mapped
// to the space by Space.FromUnit. The next index is the number of trials of
// the history Sobol suggested (those with SobolLabel), so a resumed study
// continues the sequence. In a finite space, points of the sequence that
// map to a taken point are passed over.
type Sobol struct {
	scramble bool
	state    int64
}

var _ tuning.Suggester = (*Sobol)(nil)

// NewSobol returns Sobol search over space with settings s: scramble
// ("true" or "false", default "false": Katib's goptuna sampler is plain;
// scrambled, the sequence is drawn from the study's seed) and random_state
// (replaces the study's seed for the scramble).
func NewSobol(space tuning.Space, s tuning.Settings) (*Sobol, error) {
	r := tuning.NewReader("sobol", s)
	scramble := r.String("scramble", "false", "true", "false") == "true"
	state := randomState(r)
	if err := r.Finish(); err != nil {
		return nil, err
	}
	if err := space.Validate(); err != nil {
		return nil, err
	}
	if len(space) > MaxSobolDim {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: sobol: %d parameters: the direction numbers cover at most %d: use fewer parameters or another algorithm", len(space), MaxSobolDim)
	}
	return &Sobol{scramble: scramble, state: state}, nil
}

// maxSkip bounds how many taken points Sobol passes over per suggestion.
const maxSkip = 1 << 16

// Suggest returns the next req.N points of the sequence.
func (a *Sobol) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	if err := checkRequest("sobol", req); err != nil {
		return nil, err
	}
	seq, err := NewSobolSequence(len(req.Space), a.scramble, uint64(seedOf(a.state, req.Seed)))
	if err != nil {
		return nil, err
	}
	// The next index is the number of Sobol's trials, or one past the
	// largest index they carry if points were passed over.
	var next uint64
	for _, o := range req.History {
		if v, ok := o.Labels[SobolLabel]; ok {
			next++
			if i, err := strconv.ParseUint(v, 10, 64); err == nil && i >= next {
				next = i + 1
			}
		}
	}
	taken := takenKeys(req.Space, req.History)
	u := make([]float64, len(req.Space))
	var out []tuning.Suggestion
	for len(out) < req.N {
		skipped := 0
		for ; skipped < maxSkip; skipped++ {
			seq.Point(next, u)
			next++
			p := req.Space.FromUnit(u)
			if k := req.Space.Key(p); !taken[k] {
				taken[k] = true
				out = append(out, tuning.Suggestion{Point: p, Labels: map[string]string{SobolLabel: strconv.FormatUint(next-1, 10)}})
				break
			}
		}
		if skipped == maxSkip {
			break // a finite space that is (nearly) all taken
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
