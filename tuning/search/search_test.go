package search

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
)

func suggest(t *testing.T, s tuning.Suggester, req tuning.Request) []tuning.Suggestion {
	t.Helper()
	out, err := s.Suggest(context.Background(), req)
	if err != nil {
		t.Fatalf("Suggest: %v", err)
	}
	return out
}

// observe appends the suggestions to the history as succeeded trials.
func observe(h []tuning.Observation, out []tuning.Suggestion) []tuning.Observation {
	for _, s := range out {
		h = append(h, tuning.Observation{Point: s.Point, State: tuning.Succeeded, Labels: s.Labels})
	}
	return h
}

func checkValid(t *testing.T, space tuning.Space, p tuning.Point) {
	t.Helper()
	if _, err := space.ParseAssignments(space.Assignments(p)); err != nil {
		t.Fatalf("point %v is not a value of the space: %v", p, err)
	}
	for i, prm := range space {
		if prm.Type == tuning.Categorical && (p[i] != math.Trunc(p[i]) || p[i] < 0 || int(p[i]) >= len(prm.Values)) {
			t.Fatalf("point %v: %q index %v out of range", p, prm.Name, p[i])
		}
	}
}

func TestSobolSequenceFirstPoints(t *testing.T) {
	// scipy.stats.qmc.Sobol(d, scramble=False).random(16).
	tests := []struct {
		d    int
		i    uint64
		want []float64
	}{
		{3, 0, []float64{0, 0, 0}},
		{3, 1, []float64{0.5, 0.5, 0.5}},
		{3, 2, []float64{0.75, 0.25, 0.25}},
		{3, 3, []float64{0.25, 0.75, 0.75}},
		{3, 4, []float64{0.375, 0.375, 0.625}},
		{3, 7, []float64{0.125, 0.625, 0.375}},
		{8, 10, []float64{0.9375, 0.0625, 0.6875, 0.1875, 0.3125, 0.5625, 0.1875, 0.1875}},
		{8, 12, []float64{0.3125, 0.1875, 0.3125, 0.5625, 0.9375, 0.4375, 0.0625, 0.0625}},
	}
	for _, tt := range tests {
		s, err := NewSobolSequence(tt.d, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, tt.d)
		s.Point(tt.i, got)
		for k := range got {
			if got[k] != tt.want[k] {
				t.Errorf("d=%d point %d = %v, want %v", tt.d, tt.i, got, tt.want)
				break
			}
		}
	}
	// Dimensions 61-64 of points 5-7.
	s, err := NewSobolSequence(64, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{0.625, 0.875, 0.375, 0.625}, {0.375, 0.625, 0.125, 0.875}, {0.875, 0.125, 0.625, 0.375}}
	u := make([]float64, 64)
	for i, w := range want {
		s.Point(uint64(5+i), u)
		for k := range w {
			if u[60+k] != w[k] {
				t.Errorf("d=64 point %d dims 61-64 = %v, want %v", 5+i, u[60:], w)
				break
			}
		}
	}
}

// Scrambled, each of the first 2^k points falls in its own cell of a
// 2^k grid in every dimension (the (0,m,1)-net property survives the
// scramble), and another seed gives other points.
func TestSobolSequenceScrambled(t *testing.T) {
	a, _ := NewSobolSequence(5, true, 1)
	b, _ := NewSobolSequence(5, true, 2)
	const n = 64
	u, v := make([]float64, 5), make([]float64, 5)
	cells := make([]map[int]bool, 5)
	for k := range cells {
		cells[k] = map[int]bool{}
	}
	same := 0
	for i := range uint64(n) {
		a.Point(i, u)
		b.Point(i, v)
		for k := range u {
			if u[k] <= 0 || u[k] >= 1 {
				t.Fatalf("point %d = %v, want inside (0,1)", i, u)
			}
			cells[k][int(u[k]*n)] = true
			if u[k] == v[k] {
				same++
			}
		}
	}
	for k, c := range cells {
		if len(c) != n {
			t.Errorf("dimension %d: %d points fill %d of %d cells, want all", k, n, len(c), n)
		}
	}
	if same > 0 {
		t.Errorf("seeds 1 and 2 share %d coordinates, want none", same)
	}
}

func TestSobolResumes(t *testing.T) {
	space := tuning.Space{tuning.Float("x", 0, 1), tuning.Float("y", -1, 1)}
	s, err := NewSobol(space, tuning.Settings{"scramble": "true"})
	if err != nil {
		t.Fatal(err)
	}
	all := suggest(t, s, tuning.Request{Space: space, N: 6, Seed: 3})
	first := suggest(t, s, tuning.Request{Space: space, N: 2, Seed: 3})
	h := observe(nil, first)
	// A trial from another algorithm does not advance the sequence.
	h = append(h, tuning.Observation{Point: tuning.Point{0.123, 0.456}, State: tuning.Succeeded})
	rest := suggest(t, s, tuning.Request{Space: space, History: h, N: 4, Seed: 3})
	got := append(first, rest...)
	for i := range all {
		if space.Key(got[i].Point) != space.Key(all[i].Point) {
			t.Errorf("suggestion %d resumed = %v, in one go %v", i, got[i].Point, all[i].Point)
		}
	}
}

func TestSobolFiniteSpace(t *testing.T) {
	space := tuning.Space{tuning.Choice("opt", "sgd", "adam", "rmsprop"), tuning.IntRange("n", 1, 3)}
	s, err := NewSobol(space, nil)
	if err != nil {
		t.Fatal(err)
	}
	var h []tuning.Observation
	seen := map[string]bool{}
	for range 5 {
		out := suggest(t, s, tuning.Request{Space: space, History: h, N: 2})
		for _, o := range out {
			checkValid(t, space, o.Point)
			if k := space.Key(o.Point); seen[k] {
				t.Fatalf("point %s suggested twice", k)
			} else {
				seen[k] = true
			}
		}
		h = observe(h, out)
	}
	if len(seen) != 9 {
		t.Errorf("%d distinct points, want all 9", len(seen))
	}
}

func TestGrid(t *testing.T) {
	space := tuning.Space{
		tuning.Choice("opt", "sgd", "adam"),
		tuning.Float("lr", 0.1, 0.3).By(0.1),
		tuning.Numbers("batch", 64, 32),
	}
	g, err := NewGrid(space, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Size() != 12 {
		t.Fatalf("Size() = %d, want 12", g.Size())
	}
	want := []string{
		"opt=sgd,lr=0.1,batch=32", "opt=sgd,lr=0.1,batch=64",
		"opt=sgd,lr=0.2,batch=32", "opt=sgd,lr=0.2,batch=64",
		"opt=sgd,lr=0.3,batch=32", "opt=sgd,lr=0.3,batch=64",
		"opt=adam,lr=0.1,batch=32", "opt=adam,lr=0.1,batch=64",
		"opt=adam,lr=0.2,batch=32", "opt=adam,lr=0.2,batch=64",
		"opt=adam,lr=0.3,batch=32", "opt=adam,lr=0.3,batch=64",
	}
	// A pending trial of the grid is skipped, and a batch of 5 comes in order.
	h := []tuning.Observation{{Point: tuning.Point{0, 0.2, 32}, State: tuning.Running}}
	var got []string
	for {
		out := suggest(t, g, tuning.Request{Space: space, History: h, N: 5})
		if len(out) == 0 {
			break
		}
		for _, o := range out {
			checkValid(t, space, o.Point)
			got = append(got, space.Key(o.Point))
		}
		h = observe(h, out)
	}
	want = append(want[:2:2], want[3:]...)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("grid order:\ngot  %v\nwant %v", got, want)
	}
}

func TestGridErrors(t *testing.T) {
	tests := []struct {
		name     string
		space    tuning.Space
		settings tuning.Settings
		want     string
	}{
		{"double without step", tuning.Space{tuning.Float("lr", 0, 1)}, nil, "give it a step"},
		{"setting", tuning.Space{tuning.IntRange("n", 0, 3)}, tuning.Settings{"random_state": "1"}, `unknown setting "random_state"`},
		{"invalid space", tuning.Space{tuning.Float("lr", 1, 0).By(0.1)}, nil, "inverted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGrid(tt.space, tt.settings)
			if err == nil || !strings.Contains(err.Error(), tt.want) || ferry.ErrorCode(err) != ferry.Invalid {
				t.Errorf("NewGrid() = %v, want an Invalid error containing %q", err, tt.want)
			}
		})
	}
}

func TestSettingsErrors(t *testing.T) {
	space := tuning.Space{tuning.Float("x", 0, 1)}
	tests := []struct {
		name string
		new  func() error
		want string
	}{
		{"random unknown", func() error { _, err := NewRandom(space, tuning.Settings{"n": "1"}); return err }, `unknown setting "n" (its settings: random_state)`},
		{"random bad state", func() error { _, err := NewRandom(space, tuning.Settings{"random_state": "x"}); return err }, "random_state"},
		{"sobol scramble", func() error { _, err := NewSobol(space, tuning.Settings{"scramble": "yes"}); return err }, "want one of true, false"},
		{"sobol too many dims", func() error {
			big := make(tuning.Space, MaxSobolDim+1)
			for i := range big {
				big[i] = tuning.Float("x"+string(rune('a'+i%26))+string(rune('a'+i/26)), 0, 1)
			}
			_, err := NewSobol(big, nil)
			return err
		}, "use fewer parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.new()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRandomReproducible(t *testing.T) {
	space := tuning.Space{tuning.Float("lr", 1e-4, 1).Log(), tuning.IntRange("n", 1, 100), tuning.Choice("c", "a", "b", "c")}
	r, err := NewRandom(space, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := observe(nil, suggest(t, r, tuning.Request{Space: space, N: 3, Seed: 7}))
	a := suggest(t, r, tuning.Request{Space: space, History: h, N: 4, Seed: 7})
	b := suggest(t, r, tuning.Request{Space: space, History: h, N: 4, Seed: 7})
	c := suggest(t, r, tuning.Request{Space: space, History: h, N: 4, Seed: 8})
	for i := range a {
		checkValid(t, space, a[i].Point)
		if space.Key(a[i].Point) != space.Key(b[i].Point) {
			t.Errorf("same request, suggestion %d: %v then %v", i, a[i].Point, b[i].Point)
		}
	}
	if space.Key(a[0].Point) == space.Key(c[0].Point) {
		t.Errorf("seeds 7 and 8 both suggest %v first", a[0].Point)
	}
	// random_state replaces the seed.
	rs, _ := NewRandom(space, tuning.Settings{"random_state": "5"})
	d := suggest(t, rs, tuning.Request{Space: space, History: h, N: 1, Seed: 7})
	e := suggest(t, rs, tuning.Request{Space: space, History: h, N: 1, Seed: 8})
	if space.Key(d[0].Point) != space.Key(e[0].Point) {
		t.Errorf("random_state set: seeds 7 and 8 give %v and %v, want the same", d[0].Point, e[0].Point)
	}
}

func TestRandomExhaustsFiniteSpace(t *testing.T) {
	space := tuning.Space{tuning.Choice("c", "a", "b", "c"), tuning.Numbers("n", 1, 2)}
	r, _ := NewRandom(space, nil)
	h := []tuning.Observation{{Point: tuning.Point{1, 2}, State: tuning.Failed}}
	out := suggest(t, r, tuning.Request{Space: space, History: h, N: 10})
	if len(out) != 5 {
		t.Fatalf("%d suggestions, want the 5 points left", len(out))
	}
	seen := map[string]bool{space.Key(h[0].Point): true}
	for _, o := range out {
		checkValid(t, space, o.Point)
		k := space.Key(o.Point)
		if seen[k] {
			t.Errorf("%s suggested although taken", k)
		}
		seen[k] = true
	}
	if out := suggest(t, r, tuning.Request{Space: space, History: observe(h, out), N: 1}); len(out) != 0 {
		t.Errorf("exhausted space: %d suggestions, want none", len(out))
	}
}
