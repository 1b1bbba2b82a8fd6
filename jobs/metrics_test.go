package jobs_test

import (
	"math"
	"strings"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
)

func TestMetricParser(t *testing.T) {
	type m = storage.Metric
	tests := []struct {
		name  string
		spec  jobs.MetricsSpec
		lines []string
		want  []m
	}{
		{"katib pairs", jobs.MetricsSpec{}, []string{"loss=0.25", "loss = 0.125 accuracy=0.9"},
			[]m{{Key: "loss", Value: 0.25, Step: 0}, {Key: "loss", Value: 0.125, Step: 1}, {Key: "accuracy", Value: 0.9, Step: 0}}},
		{"epoch is the step", jobs.MetricsSpec{}, []string{"epoch=3 loss=0.5 acc=9.1e-1", "Epoch=4, loss=-.5"},
			[]m{{Key: "loss", Value: 0.5, Step: 3}, {Key: "acc", Value: 0.91, Step: 3}, {Key: "loss", Value: -0.5, Step: 4}}},
		{"step wins over epoch", jobs.MetricsSpec{}, []string{"epoch=1 step=120 loss=2"},
			[]m{{Key: "loss", Value: 2, Step: 120}}},
		{"json", jobs.MetricsSpec{}, []string{`{"loss": 0.25, "epoch": 3, "phase": "train", "ok": true}`, `  {"rmse": 1e-3}  `},
			[]m{{Key: "loss", Value: 0.25, Step: 3}, {Key: "rmse", Value: 0.001, Step: 0}}},
		{"text around", jobs.MetricsSpec{}, []string{"INFO 12:00 train loss=0.3 (best)", "no metrics here", "", "a=b c="},
			[]m{{Key: "loss", Value: 0.3, Step: 0}}},
		{"names filter", jobs.MetricsSpec{Names: []string{"loss"}}, []string{"loss=1 lr=0.1", `{"lr": 0.1, "loss": 2}`},
			[]m{{Key: "loss", Value: 1, Step: 0}, {Key: "loss", Value: 2, Step: 1}}},
		{"custom filter", jobs.MetricsSpec{Filters: []string{`([a-z]+):\s*([0-9.]+)`}}, []string{"loss: 0.5, acc: 0.75", "loss=9"},
			[]m{{Key: "loss", Value: 0.5, Step: 0}, {Key: "acc", Value: 0.75, Step: 0}}},
		{"broken json falls back to pairs", jobs.MetricsSpec{}, []string{`{"loss": 0.5`, `{"a": 1} trailing=2`},
			[]m{{Key: "trailing", Value: 2, Step: 0}}},
		{"names the store refuses", jobs.MetricsSpec{}, []string{`a|b=1 ok=2`, `{"../x": 1, "/y": 2, "z w": 3}`},
			[]m{{Key: "ok", Value: 2, Step: 0}, {Key: "z w", Value: 3, Step: 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := jobs.NewMetricParser(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			var got []m
			for _, l := range tt.lines {
				got = append(got, p.Parse(l)...)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Key != tt.want[i].Key || math.Abs(got[i].Value-tt.want[i].Value) > 1e-12 || got[i].Step != tt.want[i].Step {
					t.Errorf("metric %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestMetricParserContinues(t *testing.T) {
	p, _ := jobs.NewMetricParser(jobs.MetricsSpec{})
	p.Parse("loss=1")
	p.Parse("loss=2")
	q, _ := jobs.NewMetricParser(jobs.MetricsSpec{})
	q.NextStep = p.NextStep
	if got := q.Parse("loss=3"); len(got) != 1 || got[0].Step != 2 {
		t.Errorf("continued parse %+v, want step 2", got)
	}
}

func TestMetricParserRefusesBadFilter(t *testing.T) {
	for _, f := range []string{`(`, `loss=\d+`} {
		if _, err := jobs.NewMetricParser(jobs.MetricsSpec{Filters: []string{f}}); ferry.ErrorCode(err) != ferry.Invalid {
			t.Errorf("filter %q: %v, want Invalid", f, err)
		}
	}
}

func FuzzMetricParser(f *testing.F) {
	for _, s := range []string{"loss=0.25", "epoch=3 loss=1e-3 acc=.9", `{"loss": 0.25, "epoch": 3}`, `{"a": {"b": 1}, "c": [1, 2]}`,
		"x==1", "a=-", "step=99999999999999999999999 loss=1", `{"step": 1e300, "v": -0}`, "{", "a|b-c = +4.5E+2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p, err := jobs.NewMetricParser(jobs.MetricsSpec{})
		if err != nil {
			t.Fatal(err)
		}
		steps := map[string]int64{}
		for _, m := range p.Parse(line) {
			if !jobs.ValidMetricKey(m.Key) || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
				t.Fatalf("metric %+v from %q: want a named finite value", m, line)
			}
			if !strings.Contains(line, m.Key) {
				t.Fatalf("metric key %q is not in the line %q", m.Key, line)
			}
			steps[m.Key]++
		}
		// Parsing is deterministic apart from the step counters.
		q, _ := jobs.NewMetricParser(jobs.MetricsSpec{})
		if a, b := len(q.Parse(line)), len(steps); a < b {
			t.Fatalf("second parse found %d metrics, first %d keys", a, b)
		}
	})
}
