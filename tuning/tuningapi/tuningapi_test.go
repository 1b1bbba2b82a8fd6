package tuningapi_test

import (
	"context"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/runner"
	"github.com/ferryml/ferry/tuning/tuningapi"
)

type sampler struct{}

func (sampler) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	rng := rand.New(rand.NewPCG(uint64(req.Seed), uint64(len(req.History))))
	out := make([]tuning.Suggestion, req.N)
	for i := range out {
		out[i] = tuning.Suggestion{Point: req.Space.Sample(rng)}
	}
	return out, nil
}

func serve(t *testing.T) *tuningapi.Client {
	t.Helper()
	r, err := runner.Open(t.Context(), runner.Options{Dir: t.TempDir(),
		Suggesters: func(name string, _ tuning.Space, _ tuning.Settings) (tuning.Suggester, error) {
			if name != "random" {
				return nil, ferry.Errorf(ferry.Invalid, "tuning: unknown algorithm %q", name)
			}
			return sampler{}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	srv := httptest.NewServer(tuningapi.NewHandler(r, nil))
	t.Cleanup(srv.Close)
	return tuningapi.NewClient(srv.URL+"/", "", nil)
}

func spec(name string) tuning.Spec {
	return tuning.Spec{Name: name, Objective: tuning.Objective{Metric: "loss"},
		Space: tuning.Space{tuning.Float("x", -1, 1)}, Algorithm: tuning.Algorithm{Name: "random"},
		MaxTrials: 4, ParallelTrials: 2}
}

func TestAPI(t *testing.T) {
	c := serve(t)
	ctx := t.Context()
	if _, err := c.Create(ctx, spec("quad")); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	events, err := c.Watch(wctx, "quad")
	if err != nil {
		t.Fatal(err)
	}
	for {
		tr, ok, err := c.Ask(ctx, "quad")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		x := tr.Point[0]
		if _, err := c.Tell(ctx, "quad", tr.Name, tuning.Report{Step: 1, Metrics: map[string]float64{"loss": x * x}}); err != nil {
			t.Fatal(err)
		}
		d, err := c.Tell(ctx, "quad", tr.Name, tuning.Report{Final: true})
		if err != nil {
			t.Fatal(err)
		}
		if d.Trial.State != tuning.Succeeded || *d.Trial.Value != x*x {
			t.Errorf("trial %s: %s %v, want Succeeded %v", tr.Name, d.Trial.State, d.Trial.Value, x*x)
		}
	}
	st, err := c.Get(ctx, "quad")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != tuning.StudySucceeded || len(st.Trials) != 4 {
		t.Fatalf("study %s with %d trials, want Succeeded with 4", st.State, len(st.Trials))
	}
	var last tuning.Study
	for ev := range events {
		last = ev.Study
		if last.State == tuning.StudySucceeded {
			break
		}
	}
	if last.State != tuning.StudySucceeded {
		t.Errorf("watch ended at %s", last.State)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List() = %d studies, %v; want 1", len(list), err)
	}
	if err := c.Delete(ctx, "quad"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "quad"); !ferry.IsNotFound(err) {
		t.Errorf("Get after Delete: %v, want NotFound", err)
	}
}

func TestAPIErrors(t *testing.T) {
	c := serve(t)
	ctx := t.Context()
	bad := spec("quad")
	bad.Space = tuning.Space{tuning.Float("x", 1, -1)}
	_, err := c.Create(ctx, bad)
	if ferry.ErrorCode(err) != ferry.Invalid || !strings.Contains(err.Error(), "inverted") {
		t.Errorf("inverted range: %v, want Invalid naming it", err)
	}
	bad = spec("quad")
	bad.Algorithm.Name = "annealing"
	if _, err := c.Create(ctx, bad); ferry.ErrorCode(err) != ferry.Invalid || !strings.Contains(err.Error(), "annealing") {
		t.Errorf("unknown algorithm: %v", err)
	}
	if _, err := c.Create(ctx, spec("quad")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, spec("quad")); ferry.ErrorCode(err) != ferry.AlreadyExists {
		t.Errorf("second create: %v, want AlreadyExists", err)
	}
	if err := c.Stop(ctx, "quad"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Ask(ctx, "quad"); ok || err != nil {
		t.Errorf("Ask on a stopped study = %v, %v; want no trial", ok, err)
	}
	st, err := c.Resume(ctx, "quad")
	if err != nil || st.State != tuning.StudyRunning {
		t.Errorf("Resume = %s, %v", st.State, err)
	}
	if _, err := c.Tell(ctx, "nope", "nope-1", tuning.Report{}); !ferry.IsNotFound(err) {
		t.Errorf("Tell on an unknown study: %v, want NotFound", err)
	}
}
