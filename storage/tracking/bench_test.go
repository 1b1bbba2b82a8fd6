package tracking_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/storage"
)

// The benchmarks run on SQLite (WAL, synchronous=NORMAL) and on a durable
// PostgreSQL (fsync and synchronous_commit on) started for them over
// loopback TCP.

var benchPG struct {
	once sync.Once
	srv  *testsrv.Postgres
	err  error
}

func stopBenchPostgres() {
	if benchPG.srv != nil {
		benchPG.srv.Stop()
	}
}

func benchBackends() []string { return []string{"sqlite", "postgres"} }

// logBackends adds PostgreSQL with fsync and synchronous commit off (the
// shared test server): what a team trading the last moments of metrics in a
// server crash for speed would run.
func logBackends() []string { return []string{"sqlite", "postgres", "postgres-nosync"} }

func benchURL(b *testing.B, backend string) string {
	b.Helper()
	switch backend {
	case "sqlite":
		return "sqlite://" + filepath.Join(b.TempDir(), "ferry.db")
	case "postgres-nosync":
		return testsrv.NewPostgresDB(b)
	}
	benchPG.once.Do(func() {
		benchPG.srv, benchPG.err = testsrv.StartPostgres(context.Background(), testsrv.PostgresOptions{Durable: true})
	})
	if benchPG.err != nil {
		b.Fatal(benchPG.err)
	}
	u, err := benchPG.srv.CreateDatabase(b.Context(), b.Name())
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// BenchmarkLogMetric logs one point per call (one transaction each).
func BenchmarkLogMetric(b *testing.B) {
	for _, backend := range logBackends() {
		b.Run(backend, func(b *testing.B) {
			tr := open(b, benchURL(b, backend))
			r, err := tr.CreateRun(b.Context(), storage.RunSpec{ExperimentID: "0"})
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				if err := tr.LogMetric(b.Context(), r.ID, storage.Metric{Key: "loss", Value: float64(i), Step: int64(i)}); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// BenchmarkLogBatch logs batches of 1000 points (10 metrics x 100 steps).
func BenchmarkLogBatch(b *testing.B) {
	for _, backend := range logBackends() {
		b.Run(backend, func(b *testing.B) {
			tr := open(b, benchURL(b, backend))
			r, err := tr.CreateRun(b.Context(), storage.RunSpec{ExperimentID: "0"})
			if err != nil {
				b.Fatal(err)
			}
			const keys, steps = 10, 100
			ms := make([]storage.Metric, 0, keys*steps)
			n := 0
			for b.Loop() {
				ms = ms[:0]
				for k := range keys {
					for s := range steps {
						ms = append(ms, storage.Metric{Key: fmt.Sprintf("m%d", k), Value: float64(s), Step: int64(n*steps + s)})
					}
				}
				if err := tr.LogBatch(b.Context(), r.ID, ms, nil, nil); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*keys*steps)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

const cmpRuns, cmpKeys, cmpSteps = 1000, 10, 1000

// loadCompare fills a store with cmpRuns finished runs of cmpKeys metrics of
// cmpSteps points each (10 M points), one batch per run.
func loadCompare(b *testing.B, tr storage.Tracker) []string {
	b.Helper()
	ctx := b.Context()
	e, err := tr.CreateExperiment(ctx, "compare", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ids := make([]string, cmpRuns)
	ms := make([]storage.Metric, 0, cmpKeys*cmpSteps)
	for i := range cmpRuns {
		r, err := tr.CreateRun(ctx, storage.RunSpec{ExperimentID: e.ID, Name: fmt.Sprintf("trial-%04d", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = r.ID
		ms = ms[:0]
		for k := range cmpKeys {
			for s := range cmpSteps {
				ms = append(ms, storage.Metric{Key: fmt.Sprintf("m%d", k), Value: math.Sin(float64(i*s + k)), Step: int64(s), Timestamp: 1_700_000_000_000 + int64(s)})
			}
		}
		if err := tr.LogBatch(ctx, r.ID, ms, []storage.Param{{Key: "lr", Value: fmt.Sprint(0.001 * float64(i%10+1))}}, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := tr.UpdateRun(ctx, r.ID, storage.RunUpdate{Status: storage.RunFinished}); err != nil {
			b.Fatal(err)
		}
	}
	load := time.Since(start)
	b.Logf("loaded %d runs x %d metrics x %d steps in %v (%.0f points/s)", cmpRuns, cmpKeys, cmpSteps, load.Round(time.Millisecond), float64(cmpRuns*cmpKeys*cmpSteps)/load.Seconds())
	return ids
}

// BenchmarkCompare reads the whole history of 1,000 runs x 10 metrics x
// 1,000 steps (what %runs compare charts), and searches the 1,000 runs
// ordered by a metric.
func BenchmarkCompare(b *testing.B) {
	for _, backend := range benchBackends() {
		b.Run(backend, func(b *testing.B) {
			tr := open(b, benchURL(b, backend))
			ids := loadCompare(b, tr)
			b.Run("MetricHistory", func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					hist, err := tr.MetricHistory(b.Context(), ids, nil)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for _, s := range hist {
						n += len(s.Points)
					}
					if n != cmpRuns*cmpKeys*cmpSteps {
						b.Fatalf("%d points, want %d", n, cmpRuns*cmpKeys*cmpSteps)
					}
				}
			})
			b.Run("SearchRunsOrderByMetric", func(b *testing.B) {
				defer reportCPU(b)()
				for b.Loop() {
					runs, _, err := tr.SearchRuns(b.Context(), storage.SearchRunsRequest{
						ExperimentIDs: []string{"1"},
						Filter:        "metrics.m3 > -2 and params.lr != '1'",
						OrderBy:       []string{"metrics.m3 DESC"},
						MaxResults:    cmpRuns,
					})
					if err != nil {
						b.Fatal(err)
					}
					if len(runs) != cmpRuns {
						b.Fatalf("%d runs, want %d", len(runs), cmpRuns)
					}
				}
			})
		})
	}
}

// reportCPU reports the CPU time (user + system) of this process per
// operation, a steadier figure than wall time on a shared machine. It
// counts the database's CPU only for SQLite, which runs in the process.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
