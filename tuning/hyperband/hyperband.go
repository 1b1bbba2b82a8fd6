package hyperband

import (
	"cmp"
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/internal/taken"
)

// The labels of Hyperband's suggestions.
const (
	LabelBracket = "hyperband/bracket"
	LabelRung    = "hyperband/rung"
	// LabelParent is the index in the history of the trial a promotion
	// continues.
	LabelParent = "hyperband/parent"
)

// Hyperband is Katib's "hyperband".
type Hyperband struct {
	space tuning.Space
	res   int // index of the resource parameter
	eta   int
	rl    float64
	sMax  int
}

var _ tuning.Suggester = (*Hyperband)(nil)

// New returns Hyperband over space. Its settings, Katib's:
//
//   - resource_name: the int or double parameter that is the budget
//     (required);
//   - eta: the factor by which each rung cuts the trials and multiplies
//     the resource (default 3, at least 2);
//   - r_l: the largest resource (default the parameter's max).
//
// Every rung's resource must be a value the parameter takes.
func New(space tuning.Space, s tuning.Settings) (*Hyperband, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	r := tuning.NewReader("hyperband", s)
	name := r.String("resource_name", "", resourceChoices(space)...)
	h := &Hyperband{space: space, eta: r.Int("eta", 3, 2, 1_000_000)}
	h.rl = r.Float("r_l", 0, 0, math.MaxFloat64)
	if err := r.Finish(); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: hyperband: setting resource_name is required: name the int or double parameter that is the budget (%v)", resourceChoices(space))
	}
	h.res = space.Index(name)
	p := space[h.res]
	if _, ok := s["r_l"]; !ok || s["r_l"] == "" {
		h.rl = p.Max
	}
	if h.rl <= 0 || h.rl > p.Max {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: hyperband: setting r_l=%v: want a positive number no larger than %s's max %v", h.rl, name, p.Max)
	}
	h.sMax = int(math.Floor(math.Log(h.rl)/math.Log(float64(h.eta)) + 1e-9))
	h.sMax = max(h.sMax, 0)
	for s := 0; s <= h.sMax; s++ {
		for i := 0; i <= s; i++ {
			v := h.resource(s, i)
			if v < p.Min || v > p.Max || (p.Type == tuning.Int && !onGrid(p, v)) {
				return nil, ferry.Errorf(ferry.Invalid, "tuning: hyperband: resource %v (bracket %d, rung %d) is not a value of %s in [%v, %v]: lower min, raise r_l, or use step 1", v, s, i, name, p.Min, p.Max)
			}
		}
	}
	return h, nil
}

func resourceChoices(space tuning.Space) []string {
	var out []string
	for _, p := range space {
		if p.Type == tuning.Int || p.Type == tuning.Double {
			out = append(out, p.Name)
		}
	}
	return out
}

func onGrid(p tuning.Param, v float64) bool {
	step := p.Step
	if step == 0 {
		step = 1
	}
	k := (v - p.Min) / step
	return math.Abs(k-math.Round(k)) < 1e-9
}

// resource returns the resource of rung i of bracket s: r_l eta^(i-s),
// rounded down for an int parameter (as Katib's int()).
func (h *Hyperband) resource(s, i int) float64 {
	v := h.rl * math.Pow(float64(h.eta), float64(i-s))
	if h.space[h.res].Type == tuning.Int {
		return math.Floor(v + 1e-9)
	}
	return v
}

// Brackets returns the number of brackets, s_max+1.
func (h *Hyperband) Brackets() int { return h.sMax + 1 }

// Rung returns the size and resource of rung i of bracket s.
func (h *Hyperband) Rung(s, i int) (size int, resource float64) {
	n := int(math.Ceil(float64(h.sMax+1) * math.Pow(float64(h.eta), float64(s)) / float64(s+1)))
	d := 1
	for range i {
		d *= h.eta
	}
	return (n + d - 1) / d, h.resource(s, i)
}

// Done reports whether every bracket is done: Suggest has nothing more to
// give, now or later.
func (h *Hyperband) Done(req tuning.Request) bool {
	_, done := h.plan(req, 0)
	return done
}

// Suggest returns up to req.N trials of the current rung: new random
// configurations for a bracket's first rung, the best trials of the
// previous rung with a larger resource for the others. It returns fewer,
// none included, while a rung waits for running trials, and none once
// every bracket is done (see Done).
func (h *Hyperband) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	if len(req.Space) != len(h.space) {
		return nil, ferry.Errorf(ferry.Invalid, "tuning: hyperband: the request's space has %d parameters, the algorithm's %d: build the algorithm with the study's space", len(req.Space), len(h.space))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, _ := h.plan(req, req.N)
	return out, nil
}

// plan walks the brackets through the history and returns up to n
// suggestions, and whether every bracket is done.
func (h *Hyperband) plan(req tuning.Request, n int) ([]tuning.Suggestion, bool) {
	type key struct{ s, i int }
	members := map[key][]int{}
	for idx, o := range req.History {
		s, err1 := strconv.Atoi(o.Labels[LabelBracket])
		i, err2 := strconv.Atoi(o.Labels[LabelRung])
		if err1 == nil && err2 == nil && len(o.Point) == len(h.space) {
			members[key{s, i}] = append(members[key{s, i}], idx)
		}
	}
	finished := func(idxs []int) bool {
		for _, j := range idxs {
			if !req.History[j].State.Finished() {
				return false
			}
		}
		return true
	}
	labels := func(s, i int) map[string]string {
		return map[string]string{LabelBracket: strconv.Itoa(s), LabelRung: strconv.Itoa(i)}
	}
	for s := h.sMax; s >= 0; s-- {
		for i := 0; i <= s; i++ {
			size, r := h.Rung(s, i)
			cur := members[key{s, i}]
			if i == 0 {
				if len(cur) < size {
					return h.sample(req, s, min(n, size-len(cur)), r, labels(s, 0)), false
				}
				continue
			}
			prev := members[key{s, i - 1}]
			if !finished(prev) {
				return nil, false
			}
			var ranked []int
			for _, j := range prev {
				if req.History[j].State.HasResult() && !math.IsNaN(req.History[j].Loss) {
					ranked = append(ranked, j)
				}
			}
			slices.SortStableFunc(ranked, func(a, b int) int { return cmp.Compare(req.History[a].Loss, req.History[b].Loss) })
			ranked = ranked[:min(size, len(ranked))]
			promoted := map[int]bool{}
			for _, j := range cur {
				if p, err := strconv.Atoi(req.History[j].Labels[LabelParent]); err == nil {
					promoted[p] = true
				}
			}
			var out []tuning.Suggestion
			for _, j := range ranked {
				if promoted[j] || len(out) >= n {
					continue
				}
				p := slices.Clone(req.History[j].Point)
				p[h.res] = r
				l := labels(s, i)
				l[LabelParent] = strconv.Itoa(j)
				out = append(out, tuning.Suggestion{Point: p, Labels: l})
			}
			if len(out) > 0 || len(promoted) < len(ranked) {
				return out, false
			}
		}
		if !finished(members[key{s, s}]) {
			return nil, false
		}
	}
	return nil, true
}

// sample returns k random configurations with resource r, none already in
// the study where the space allows.
func (h *Hyperband) sample(req tuning.Request, s, k int, r float64, l map[string]string) []tuning.Suggestion {
	rng := rand.New(rand.NewPCG(uint64(req.Seed), uint64(len(req.History))<<8|uint64(s)))
	used := taken.New(h.space, req.History)
	var out []tuning.Suggestion
	for len(out) < k {
		var p tuning.Point
		for try := 0; try < 256; try++ {
			p = h.space.Sample(rng)
			p[h.res] = r
			if !used.Has(p) {
				break
			}
		}
		used.Add(p)
		out = append(out, tuning.Suggestion{Point: p, Labels: maps.Clone(l)})
	}
	return out
}
