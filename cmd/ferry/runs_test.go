package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryml/ferry/storage/tracking"
)

func TestRunsCLI(t *testing.T) {
	dir := t.TempDir()
	u := tracking.DefaultURL(dir)
	ctx := t.Context()
	tr, err := tracking.Open(ctx, u, tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := tracking.NewSession(tr, u)
	if _, err := s.SetExperiment(ctx, "cli"); err != nil {
		t.Fatal(err)
	}
	for i, lr := range []string{"0.01", "0.1"} {
		r, err := s.StartRun(ctx, "run-"+lr)
		if err != nil {
			t.Fatal(err)
		}
		r.LogParam("lr", lr)
		for step := range 3 {
			r.LogMetric("loss", 1/float64(step+1+i), step)
		}
		r.End()
	}
	tr.Close()

	run := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := Run(ctx, append([]string{"runs"}, args...), &out, &errb)
		return out.String() + errb.String(), err
	}
	out, err := run("list", "--tracking-url", u, "--experiment", "cli", "--order-by", "params.lr DESC")
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if i, j := strings.Index(out, "run-0.1 "), strings.Index(out, "run-0.01"); i < 0 || j < 0 || i > j {
		t.Errorf("list ordered by lr desc:\n%s", out)
	}
	chart := filepath.Join(dir, "chart.json")
	out, err = run("compare", "run-0.01", "run-0.1", "--tracking-url", u, "--experiment", "cli", "--chart", chart)
	if err != nil || !strings.Contains(out, "params.lr") || !strings.Contains(out, "0.1*") {
		t.Errorf("compare: %v\n%s", err, out)
	}
	b, err := os.ReadFile(chart)
	var spec map[string]any
	if err != nil || json.Unmarshal(b, &spec) != nil || !strings.Contains(spec["$schema"].(string), "vega-lite/v5") {
		t.Errorf("chart: %v %s", err, b)
	}
	out, err = run("show", "run-0.1", "--tracking-url", u, "--experiment", "cli")
	if err != nil || !strings.Contains(out, "metrics.loss") {
		t.Errorf("show: %v\n%s", err, out)
	}
	if out, err := run("list", "--tracking-url", u, "--filter", "params.lr = "); err == nil || !strings.Contains(err.Error(), "filter") {
		t.Errorf("bad filter: %v\n%s", err, out)
	}
	if _, err := run("list", "--tracking-url", u, "--experiment", "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown experiment: %v", err)
	}
}
