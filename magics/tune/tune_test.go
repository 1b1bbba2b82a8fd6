package tune_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/magics/tune"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
	"github.com/ferryml/ferry/tuning/runner"
	"github.com/ferryml/ferry/tuning/tuningclient"
)

const waitLimit = 2 * time.Minute

// capture records what the magics display.
type capture struct {
	mu        sync.Mutex
	published []map[string]any
}

func (c *capture) Publish(data, _ map[string]any, _ string, _ bool) {
	c.mu.Lock()
	c.published = append(c.published, data)
	c.mu.Unlock()
}
func (c *capture) Clear(bool)                         {}
func (c *capture) Input(string, bool) (string, error) { return "", errors.New("no stdin") }

type env struct {
	reg *magics.Registry
	s   *tuningclient.Session
	out *capture
}

func setup(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	tr, err := tracking.Open(t.Context(), tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := local.New(t.Context(), local.Options{Dir: filepath.Join(dir, "jobs"), Tracker: tr, GPUs: []string{},
		Logger: log, GracePeriod: 3 * time.Second, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.Open(t.Context(), runner.Options{Dir: filepath.Join(dir, "studies"), Jobs: b, Tracker: tr,
		Suggesters: algorithms.New, Stoppers: algorithms.NewEarlyStopper, Poll: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		js, _ := b.List(ctx, jobs.ListOptions{})
		for _, j := range js {
			_ = b.Cancel(ctx, j.Name())
		}
		b.Close()
		tr.Close()
	})
	s := &tuningclient.Session{Backend: r, Where: dir}
	reg := magics.NewRegistry()
	tune.Register(reg, tune.Options{Session: func() (*tuningclient.Session, error) { return s, nil }})
	out := &capture{}
	display.SetPublisher(out)
	t.Cleanup(func() { display.SetPublisher(nil) })
	return &env{reg: reg, s: s, out: out}
}

func (e *env) magic(t *testing.T) *magics.Magic {
	t.Helper()
	m, ok := e.reg.Lookup("tune")
	if !ok {
		t.Fatal("the tune magic is not registered")
	}
	return m
}

func text(v any) string {
	data, _ := display.MIMEBundle(v)
	s, _ := data["text/plain"].(string)
	return s
}

// script reads its parameters with argparse, as the default command
// passes them, and prints a learning curve.
const script = `import argparse, math
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
p.add_argument("--opt")
a = p.parse_args()
final = (a.x - 0.3) ** 2 + (0.0 if a.opt == "adam" else 0.5)
for epoch in range(1, 5):
    print(f"epoch={epoch} loss={final + math.exp(-epoch):.6f}", flush=True)
`

func TestTuneCell(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	m := e.magic(t)
	v, err := m.Cell(ctx, `--name quad --objective loss --param x=double:0:1 --param opt=categorical:sgd,adam --algorithm random --trials 6 --parallel 2 --seed 3`, script)
	if err != nil {
		t.Fatal(err)
	}
	got := text(v)
	if !strings.Contains(got, "Succeeded") || !strings.Contains(got, "best loss") {
		t.Errorf("summary:\n%s\nwant the study Succeeded with its best loss", got)
	}
	st, err := e.s.Backend.Get(ctx, "quad")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Trials) != 6 || st.Count()[tuning.Succeeded] != 6 {
		t.Fatalf("trials %v, want 6 Succeeded", st.Count())
	}
	best, _ := st.Best()
	want := -1.0
	for _, tr := range st.Trials {
		x := tr.Point[0]
		opt := 0.5
		if tr.Assignments[1].Value == "adam" {
			opt = 0
		}
		// The job's last report is the result (strategy latest).
		f := (x-0.3)*(x-0.3) + opt + 0.0183156
		if d := *tr.Value - f; d > 1e-4 || d < -1e-4 {
			t.Errorf("trial %s: value %v, want %v from its parameters", tr.Name, *tr.Value, f)
		}
		if want < 0 || *tr.Value < want {
			want = *tr.Value
		}
	}
	if *best.Value != want {
		t.Errorf("best %v, want the least value %v", *best.Value, want)
	}
	// The dashboard was displayed, with its charts.
	if !e.out.hasWidget() {
		t.Error("no dashboard widget was displayed")
	}
	for _, args := range []string{"list", "show quad"} {
		v, err := m.Line(ctx, args)
		if err != nil {
			t.Fatalf("%%tune %s: %v", args, err)
		}
		if s := text(v); !strings.Contains(s, "quad") {
			t.Errorf("%%tune %s:\n%s", args, s)
		}
	}
	if _, err := m.Line(ctx, "delete quad"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Line(ctx, "show quad"); err == nil || !strings.Contains(err.Error(), "no study") {
		t.Errorf("show after delete: %v", err)
	}
}

func (c *capture) hasWidget() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.published {
		if _, ok := d["application/vnd.jupyter.widget-view+json"]; ok {
			return true
		}
	}
	return false
}

// Bad input is refused before any trial starts, with the fix.
func TestTuneErrors(t *testing.T) {
	e := setup(t)
	m := e.magic(t)
	for _, tc := range []struct{ args, body, want string }{
		{"--objective loss --param x=double:0:1", script, "--name"},
		{"--name q --param x=double:0:1", script, "--objective"},
		{"--name q --objective loss", script, "--param"},
		{"--name q --objective loss --param x=double:1:0", script, "inverted"},
		{"--name q --objective loss --param x=double:0:1", "", "the cell is empty"},
		{"--name q --objective loss --param x=double:0:1 --algorithm annealing", script, "unknown algorithm"},
		{"--name q --objective loss --param x=double:0:1 --setting n_initial_points=-2", script, "n_initial_points"},
		{"--name q --objective loss --param x=double:0:1 --parallel 5 --trials 2", script, "parallelTrials"},
		{"--name q --objective loss --param x=double:0:1 --param y=int:1:3 -- python3 train.py --x ${trialParameters.x}", script, `does not use parameter "y"`},
		{"--name q --objective loss --param x=double:0:1 --early-stopping medianstop --early-setting start_stpe=2", script, "start_stpe"},
	} {
		_, err := m.Cell(t.Context(), tc.args, tc.body)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%%%%tune %s: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	if sts, _ := e.s.Backend.List(t.Context()); len(sts) != 0 {
		t.Errorf("%d studies were created by bad cells", len(sts))
	}
	if _, err := m.Line(t.Context(), "frobnicate x"); err == nil {
		t.Error("tune frobnicate: no error")
	}
}
