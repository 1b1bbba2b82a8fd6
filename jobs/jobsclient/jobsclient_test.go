package jobsclient_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsclient"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/storage/tracking"
)

// sink records what Monitor writes.
type sink struct {
	mu       sync.Mutex
	statuses []string
	lines    []string
	metrics  map[string][]float64
	progress [2]float64
	flushed  int
}

func (s *sink) SetStatus(st string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses = append(s.statuses, st)
}

func (s *sink) SetProgress(done, total float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.progress = [2]float64{done, total}
}

func (s *sink) Log(lines ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, lines...)
}

func (s *sink) Metric(name string, step, value float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metrics[name] = append(s.metrics[name], value)
}

func (s *sink) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushed++
}

func backend(t *testing.T) (*local.Backend, *tracking.Session) {
	t.Helper()
	dir := t.TempDir()
	tr, err := tracking.Open(t.Context(), tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := local.New(t.Context(), local.Options{
		Dir: filepath.Join(dir, "jobs"), Tracker: tr, GPUs: []string{},
		Logger:      slog.New(slog.NewTextHandler(t.Output(), nil)),
		GracePeriod: 3 * time.Second, PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		tr.Close()
	})
	return b, tracking.NewSession(tr, dir)
}

// TestMonitor follows a job to its end through a Sink and without one (the
// CLI), and summarizes it from the tracking run and from the parsed
// metrics.
func TestMonitor(t *testing.T) {
	b, ts := backend(t)
	for _, withSink := range []bool{true, false} {
		name := "mon-nosink"
		if withSink {
			name = "mon-sink"
		}
		t.Run(name, func(t *testing.T) {
			spec := jobs.Spec{Name: name, Kind: jobs.PyTorch,
				Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}},
				Command:  []string{"sh", "-c", "echo step=0 loss=0.5; echo step=1 loss=0.25"}}
			j, err := b.Submit(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			var mon jobsclient.Sink
			rec := &sink{metrics: map[string][]float64{}}
			if withSink {
				mon = rec
			}
			res := jobsclient.Monitor(t.Context(), b, j, mon, jobsclient.MonitorOptions{Steps: 2})
			if res.Err != nil || res.Deleted || res.Job.Status.Phase() != jobs.Succeeded {
				t.Fatalf("Monitor: %s deleted=%v err=%v, want Succeeded", res.Job.Status.Phase(), res.Deleted, res.Err)
			}
			if got := res.Metrics["loss"]; got != 0.25 {
				t.Errorf("final loss %v, want 0.25", got)
			}
			for _, ts := range []*tracking.Session{ts, nil} {
				tab := jobsclient.Summary(t.Context(), res.Job, ts, res.Metrics)
				if got := tab.Rows[0][len(tab.Rows[0])-1]; tab.Columns[len(tab.Columns)-1] != "loss" || got != 0.25 {
					t.Errorf("Summary (tracking %v): %v %v, want loss 0.25 last", ts != nil, tab.Columns, tab.Rows)
				}
			}
			if !withSink {
				return
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.statuses) == 0 || rec.statuses[len(rec.statuses)-1] != string(jobs.Succeeded) {
				t.Errorf("statuses %q, want Succeeded last", rec.statuses)
			}
			if !slices.Contains(rec.lines, "step=1 loss=0.25") || !slices.ContainsFunc(rec.lines, func(l string) bool {
				return strings.HasPrefix(l, "[ferry] Master-0 Succeeded")
			}) {
				t.Errorf("log lines %q, want the job's output and its replica's state", rec.lines)
			}
			if got := rec.metrics["loss"]; !slices.Equal(got, []float64{0.5, 0.25}) {
				t.Errorf("loss metrics %v, want [0.5 0.25]", got)
			}
			if rec.progress[0] != rec.progress[1] || rec.progress[1] == 0 {
				t.Errorf("progress %v, want done", rec.progress)
			}
			if rec.flushed == 0 {
				t.Error("Monitor did not flush the sink")
			}
		})
	}
}

func TestListFilter(t *testing.T) {
	lo, statuses, err := jobsclient.ListFilter("PyTorch", "running,Failed", []string{"team=ml"})
	if err != nil || lo.Kind != jobs.PyTorch || lo.Labels["team"] != "ml" || !slices.Equal(statuses, []jobs.ConditionType{jobs.Running, jobs.Failed}) {
		t.Errorf("ListFilter = %+v, %v, %v", lo, statuses, err)
	}
	for _, bad := range [][3]string{{"tf", "", ""}, {"", "Done", ""}, {"", "", "team"}} {
		var labels []string
		if bad[2] != "" {
			labels = []string{bad[2]}
		}
		if _, _, err := jobsclient.ListFilter(bad[0], bad[1], labels); err == nil {
			t.Errorf("ListFilter(%q) accepted", bad)
		}
	}
}

// TestDefault: with FERRY_API_URL the session is a client of the control
// plane, without connecting.
func TestDefault(t *testing.T) {
	t.Setenv("FERRY_API_URL", "http://127.0.0.1:1/api/ferry/v1/")
	s, err := jobsclient.Connect(context.Background(), nil)
	if err != nil || s.Remote == nil || s.Where != "http://127.0.0.1:1/api/ferry/v1/" {
		t.Fatalf("Connect with FERRY_API_URL = %+v, %v; want a client of it", s, err)
	}
	jobsclient.SetDefault(s)
	t.Cleanup(func() { jobsclient.SetDefault(nil) })
	if got, err := jobsclient.Default(); got != s || err != nil {
		t.Errorf("Default after SetDefault = %p, %v; want %p", got, err, s)
	}
}
