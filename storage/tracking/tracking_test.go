package tracking_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/sqldb"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/storage/trackingtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testsrv.StopSharedPostgres()
	stopBenchPostgres()
	os.Exit(code)
}

const artifactRoot = "s3://bucket/ferry"

func open(t testing.TB, url string) storage.Tracker {
	t.Helper()
	tr, err := tracking.Open(context.Background(), url, tracking.Options{ArtifactRoot: artifactRoot})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// backends returns a URL of a new, empty store per backend.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "ferry.db") },
		"postgres": func(t *testing.T) string { return testsrv.NewPostgresDB(t) },
	}
}

func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct {
		url      string
		file     string // the SQLite file it must create
		root     string // the default artifact root
		wantCode ferry.Code
	}{
		{url: "sqlite://" + filepath.Join(dir, "abs", "ferry.db"), file: filepath.Join(dir, "abs", "ferry.db"), root: "file://" + filepath.Join(dir, "abs", "artifacts") + "/0"},
		{url: "sqlite://rel/ferry.db", file: filepath.Join(dir, "rel", "ferry.db"), root: "file://" + filepath.Join(dir, "rel", "artifacts") + "/0"},
		{url: "sqlite:plain.db", file: filepath.Join(dir, "plain.db")},
		{url: tracking.DefaultURL("data"), file: filepath.Join(dir, "data", "ferry.db")},
		{url: "sqlite://", wantCode: ferry.Invalid},
		{url: "mysql://u@h/db", wantCode: ferry.Invalid},
		{url: "ferry.db", wantCode: ferry.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			tr, err := tracking.Open(t.Context(), tc.url, tracking.Options{})
			if tc.wantCode != "" {
				if ferry.ErrorCode(err) != tc.wantCode {
					t.Fatalf("error %v, want %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if _, err := os.Stat(tc.file); err != nil {
				t.Errorf("database file: %v", err)
			}
			if tc.root != "" {
				e, err := tr.GetExperiment(t.Context(), "0")
				if err != nil {
					t.Fatal(err)
				}
				if e.ArtifactLocation != tc.root {
					t.Errorf("default experiment location %q, want %q", e.ArtifactLocation, tc.root)
				}
			}
		})
	}
	_, err := tracking.Open(t.Context(), "postgres://u:secret@127.0.0.1:1/db", tracking.Options{})
	if ferry.ErrorCode(err) != ferry.Invalid || !strings.Contains(err.Error(), "artifact root") || strings.Contains(err.Error(), "secret") {
		t.Errorf("postgres without an artifact root: %v, want an Invalid error asking for one (and no password)", err)
	}
}

// TestContract runs the contract suite through Open on both backends.
func TestContract(t *testing.T) {
	for name, newURL := range backends(t) {
		t.Run(name, func(t *testing.T) {
			trackingtest.Run(t, func(t *testing.T) storage.Tracker {
				tr, err := tracking.Open(t.Context(), newURL(t), tracking.Options{ArtifactRoot: artifactRoot})
				if err != nil {
					t.Fatal(err)
				}
				return tr
			})
		})
	}
}

// helper runs this test binary as a child process executing
// TestHelperProcess with env.
func helper(ctx context.Context, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "FERRY_TRACKING_HELPER=1")
	return cmd
}

// TestHelperProcess is a child process of TestProcesses and
// TestKillMidBatch, not a test.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("FERRY_TRACKING_HELPER") != "1" {
		t.Skip("helper process of other tests")
	}
	ctx := context.Background()
	tr, err := tracking.Open(ctx, os.Getenv("FERRY_URL"), tracking.Options{ArtifactRoot: artifactRoot})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	run := os.Getenv("FERRY_RUN")
	switch os.Getenv("FERRY_MODE") {
	case "points":
		w, _ := strconv.Atoi(os.Getenv("FERRY_WRITER"))
		n, _ := strconv.Atoi(os.Getenv("FERRY_N"))
		err = trackingtest.LogPoints(ctx, tr, run, fmt.Sprintf("w%d", w), w, n)
	case "batches":
		first, _ := strconv.Atoi(os.Getenv("FERRY_FIRST"))
		err = logBatchesForever(ctx, tr, run, first)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

const batchKeys, batchSteps = 10, 100

// logBatchesForever logs batch after batch from number first on: batch b has batchKeys metrics
// of batchSteps points each and the param batch-b.
func logBatchesForever(ctx context.Context, tr storage.Tracker, run string, first int) error {
	for b := first; ; b++ {
		var ms []storage.Metric
		for k := range batchKeys {
			for s := range batchSteps {
				ms = append(ms, storage.Metric{Key: fmt.Sprintf("k%d", k), Value: float64(b), Step: int64(b*batchSteps + s), Timestamp: 1})
			}
		}
		if err := tr.LogBatch(ctx, run, ms, []storage.Param{{Key: fmt.Sprintf("batch-%d", b), Value: strconv.Itoa(b)}}, nil); err != nil {
			return err
		}
	}
}

// TestProcesses has 8 goroutines and 2 other processes log metrics to one
// run at once; no point may be lost.
func TestProcesses(t *testing.T) {
	for name, newURL := range backends(t) {
		t.Run(name, func(t *testing.T) {
			url := newURL(t)
			tr := open(t, url)
			r, err := tr.CreateRun(t.Context(), storage.RunSpec{ExperimentID: "0"})
			if err != nil {
				t.Fatal(err)
			}
			const goroutines, procs, n = 8, 2, 400
			var wg sync.WaitGroup
			errs := make(chan error, goroutines+procs)
			for p := range procs {
				cmd := helper(t.Context(), "FERRY_URL="+url, "FERRY_RUN="+r.ID, "FERRY_MODE=points",
					fmt.Sprintf("FERRY_WRITER=%d", goroutines+p), fmt.Sprintf("FERRY_N=%d", n))
				wg.Add(1)
				go func() {
					defer wg.Done()
					if out, err := cmd.CombinedOutput(); err != nil {
						errs <- fmt.Errorf("process %d: %v\n%s", p, err, out)
					}
				}()
			}
			for w := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := trackingtest.LogPoints(t.Context(), tr, r.ID, fmt.Sprintf("w%d", w), w, n); err != nil {
						errs <- fmt.Errorf("goroutine %d: %w", w, err)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			hist, err := tr.MetricHistory(t.Context(), []string{r.ID}, nil)
			if err != nil {
				t.Fatal(err)
			}
			byKey := map[string][]storage.MetricPoint{}
			for _, s := range hist {
				byKey[s.Key] = s.Points
			}
			for w := range goroutines + procs {
				if got := len(byKey[fmt.Sprintf("w%d", w)]); got != n {
					t.Errorf("writer %d: %d points, want %d", w, got, n)
				}
			}
			trackingtest.CheckPoints(t, byKey["shared"], goroutines+procs, n)
		})
	}
}

// TestKillMidBatch SIGKILLs a process that logs batches in a loop and
// checks that every batch is in the database whole or not at all, and that
// the store reopens with its schema intact.
func TestKillMidBatch(t *testing.T) {
	for name, newURL := range backends(t) {
		t.Run(name, func(t *testing.T) {
			url := newURL(t)
			tr := open(t, url)
			r, err := tr.CreateRun(t.Context(), storage.RunSpec{ExperimentID: "0"})
			if err != nil {
				t.Fatal(err)
			}
			for kill := range 3 {
				cmd := helper(t.Context(), "FERRY_URL="+url, "FERRY_RUN="+r.ID, "FERRY_MODE=batches", fmt.Sprintf("FERRY_FIRST=%d", kill*100000))
				var out strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				var waitErr error
				go func() { waitErr = cmd.Wait(); close(done) }()
				// Let it commit a few more batches, then kill it.
				before := countBatches(t, tr, r.ID)
			wait:
				for countBatches(t, tr, r.ID) < before+3+kill {
					select {
					case <-done:
						break wait
					case <-time.After(5 * time.Millisecond):
					}
				}
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
					t.Fatalf("helper was not killed: %v\n%s", waitErr, out.String())
				}
			}
			tr.Close()
			tr = open(t, url) // reopens: migrations intact
			got, err := tr.GetRun(t.Context(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			batches := len(got.Params)
			hist, err := tr.MetricHistory(t.Context(), []string{r.ID}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != batchKeys {
				t.Fatalf("%d metrics, want %d", len(hist), batchKeys)
			}
			for _, s := range hist {
				perBatch := map[int]int{}
				for _, p := range s.Points {
					perBatch[int(p.Value)]++
				}
				for b, n := range perBatch {
					if _, ok := got.Params[fmt.Sprintf("batch-%d", b)]; !ok || n != batchSteps {
						t.Errorf("metric %s: batch %d has %d points (param logged: %v), want %d with its param", s.Key, b, n, ok, batchSteps)
					}
				}
				if len(s.Points) != batches*batchSteps {
					t.Errorf("metric %s: %d points, want %d for %d whole batches", s.Key, len(s.Points), batches*batchSteps, batches)
				}
			}
			if sq, ok := tr.(*sqldb.Tracker); ok && name == "sqlite" {
				var res string
				if err := sq.DB().QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
					t.Errorf("integrity check: %q, %v", res, err)
				}
			}
			t.Logf("%d whole batches after 3 kills", batches)
		})
	}
}

func countBatches(t *testing.T, tr storage.Tracker, run string) int {
	t.Helper()
	r, err := tr.GetRun(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	return len(r.Params)
}
