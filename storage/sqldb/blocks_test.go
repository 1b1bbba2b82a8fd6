package sqldb

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/ferryml/ferry/storage"
)

func TestBlockRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var want []storage.MetricPoint
	var block []byte
	var step, ts int64
	// Appends in pieces, with small, large, negative and extreme deltas.
	for piece := range 20 {
		var pts []storage.MetricPoint
		for i := range 50 {
			p := storage.MetricPoint{Step: int64(piece*50 + i), Timestamp: 1_700_000_000_000 + int64(i), Value: r.NormFloat64()}
			switch i % 7 {
			case 1:
				p.Step = -p.Step * 1000
			case 2:
				p.Timestamp = math.MaxInt64 - int64(i)
			case 3:
				p.Step = math.MinInt64 + int64(i)
			case 4:
				p.Value = math.NaN()
			}
			pts = append(pts, p)
		}
		block, step, ts = appendPoints(block, step, ts, pts)
		want = append(want, pts...)
	}
	got, err := decodePoints(nil, block, len(want))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d points, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Step != w.Step || g.Timestamp != w.Timestamp || math.Float64bits(g.Value) != math.Float64bits(w.Value) {
			t.Fatalf("point %d: got %+v, want %+v", i, g, w)
		}
	}
	if _, err := decodePoints(nil, block[:len(block)-1], len(want)); err == nil {
		t.Error("a truncated block decoded without error")
	}
	if _, err := decodePoints(nil, block, len(want)-1); err == nil {
		t.Error("a block with a wrong count decoded without error")
	}
	if got, _ := decodePoints(nil, nil, 0); !reflect.DeepEqual(got, []storage.MetricPoint(nil)) {
		t.Errorf("empty block: %v", got)
	}
}

func FuzzDecodePoints(f *testing.F) {
	b, _, _ := appendPoints(nil, 0, 0, []storage.MetricPoint{{Step: 1, Timestamp: 2, Value: 3}, {Step: 300, Timestamp: -5, Value: 4}})
	f.Add(b, 2)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		_, _ = decodePoints(nil, b, n) // must not panic
	})
}
