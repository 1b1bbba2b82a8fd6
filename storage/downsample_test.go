package storage

import "testing"

func TestDownsample(t *testing.T) {
	pts := make([]MetricPoint, 1000)
	for i := range pts {
		pts[i] = MetricPoint{Step: int64(i), Value: float64(i % 7)}
	}
	pts[500].Value = 1e6 // a spike
	got := Downsample(pts, 100)
	if len(got) > 100 {
		t.Fatalf("len %d > 100", len(got))
	}
	if got[0].Step != 0 || got[len(got)-1].Step != 999 {
		t.Errorf("first %d last %d, want 0 and 999", got[0].Step, got[len(got)-1].Step)
	}
	spike := false
	for i, p := range got {
		if i > 0 && p.Step <= got[i-1].Step {
			t.Fatalf("steps not increasing at %d: %d after %d", i, p.Step, got[i-1].Step)
		}
		spike = spike || p.Value == 1e6
	}
	if !spike {
		t.Error("the spike at step 500 was dropped")
	}
	if small := pts[:50]; len(Downsample(small, 100)) != 50 {
		t.Error("short series changed")
	}
}
