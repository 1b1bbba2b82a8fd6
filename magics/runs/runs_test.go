package runs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/kernel"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/storage/tracking"
)

type capture struct{ published []map[string]any }

func (c *capture) Publish(data, _ map[string]any, _ string, _ bool) {
	c.published = append(c.published, data)
}
func (c *capture) Clear(bool)                         {}
func (c *capture) Input(string, bool) (string, error) { return "", errors.New("no stdin") }

// goStub evaluates nothing: these tests only run magic lines.
type goStub struct{}

func (goStub) Eval(context.Context, string) (*kernel.Bundle, error) { return nil, nil }
func (goStub) Complete(string, int) kernel.Completion               { return kernel.Completion{} }
func (goStub) Inspect(string, int, int) (kernel.Bundle, bool)       { return kernel.Bundle{}, false }
func (goStub) IsComplete(string) (string, string)                   { return "complete", "" }

func setup(t *testing.T) (*magics.Evaluator, *tracking.Session, *capture) {
	t.Helper()
	dir := t.TempDir()
	tr, err := tracking.Open(t.Context(), tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	s := tracking.NewSession(tr, dir)
	reg := magics.NewRegistry()
	Register(reg, func() (*tracking.Session, error) { return s, nil })
	c := &capture{}
	display.SetPublisher(c)
	return magics.NewEvaluator(goStub{}, reg), s, c
}

func plain(t *testing.T, b *kernel.Bundle) string {
	t.Helper()
	if b == nil {
		t.Fatal("no result")
	}
	return b.Data["text/plain"].(string)
}

func TestExperimentAndRuns(t *testing.T) {
	ev, s, c := setup(t)
	ctx := t.Context()
	b, err := ev.Eval(ctx, "%experiment 'my model'")
	if err != nil {
		t.Fatal(err)
	}
	if got := plain(t, b); !strings.Contains(got, `experiment "my model"`) {
		t.Errorf("%%experiment: %s", got)
	}
	for i, lr := range []string{"0.01", "0.1"} {
		r, err := s.StartRun(ctx, "r"+lr)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.LogParams(map[string]any{"lr": lr, "epochs": 3}); err != nil {
			t.Fatal(err)
		}
		for step := range 5 {
			if err := r.LogMetric("acc", 0.5+float64(i)*0.4+float64(step)*0.01, step); err != nil {
				t.Fatal(err)
			}
		}
		art := filepath.Join(t.TempDir(), "model.txt")
		os.WriteFile(art, []byte("weights"), 0o644)
		if err := r.LogArtifact(art); err != nil {
			t.Fatal(err)
		}
		if err := r.End(); err != nil {
			t.Fatal(err)
		}
	}
	b, err = ev.Eval(ctx, `%runs --filter "metrics.acc > 0.9" --order-by "metrics.acc DESC"`)
	if err != nil {
		t.Fatal(err)
	}
	got := plain(t, b)
	if !strings.Contains(got, "r0.1") || strings.Contains(got, "r0.01") || !strings.Contains(got, "1 runs of experiment") {
		t.Errorf("%%runs --filter:\n%s", got)
	}
	b, err = ev.Eval(ctx, "%runs compare r0.01 r0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Data["application/vnd.vegalite.v5+json"]; !ok {
		t.Errorf("compare result has no Vega-Lite chart: %v", b.Data)
	}
	if len(c.published) != 1 {
		t.Fatalf("compare published %d displays, want the table", len(c.published))
	}
	table := c.published[0]["text/plain"].(string)
	if !strings.Contains(table, "params.lr") || !strings.Contains(table, "0.01*") || strings.Contains(table, "3*") {
		t.Errorf("compare table (lr differs, epochs does not):\n%s", table)
	}
	b, err = ev.Eval(ctx, "%runs show r0.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := plain(t, b); !strings.Contains(got, "model.txt (7 bytes)") || !strings.Contains(got, "params.lr") {
		t.Errorf("%%runs show:\n%s", got)
	}
}

func TestErrors(t *testing.T) {
	ev, _, _ := setup(t)
	for _, tt := range []struct{ code, want string }{
		{"%runs --filter 'metrics.acc >'", "filter"},
		{"%runs --experiment nope", "nope"},
		{"%runs compare nope", `no run "nope"`},
		{"%runs frobnicate", `unknown subcommand "frobnicate"`},
		{"%experiment a b", "one experiment name"},
	} {
		_, err := ev.Eval(t.Context(), tt.code)
		t.Logf("%s -> %v", tt.code, err)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.code, err, tt.want)
		}
	}
}
