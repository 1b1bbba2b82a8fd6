// Command jobsbench measures the local jobs backend: the time from Submit to
// every replica running (the job's Running condition, seen through Watch),
// next to the floor of starting the same processes with os/exec directly,
// and writes a Markdown section.
//
//	go run ./jobs/internal/jobsbench -n 30 -o /tmp/ferry-bench-jobs.md
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"log/slog"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/storage/tracking"
)

type result struct {
	name    string
	samples []time.Duration
}

func main() {
	n := flag.Int("n", 30, "iterations per case")
	out := flag.String("o", "", "write the Markdown section to this file (default: stdout)")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ferry-jobsbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tr, err := tracking.Open(ctx, tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	quiet := slog.New(slog.DiscardHandler)
	plain, err := local.New(ctx, local.Options{Dir: filepath.Join(dir, "plain"), GPUs: []string{}, Logger: quiet, GracePeriod: time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer plain.Close()
	tracked, err := local.New(ctx, local.Options{Dir: filepath.Join(dir, "tracked"), Tracker: tr, GPUs: []string{}, Logger: quiet, GracePeriod: time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer tracked.Close()

	sleep := []string{"sleep", "300"}
	pt := jobs.Spec{Kind: jobs.PyTorch, Command: sleep, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}}}
	tf := jobs.Spec{Kind: jobs.TensorFlow, Command: sleep, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Chief: {Replicas: 1}, jobs.PS: {Replicas: 1}, jobs.Worker: {Replicas: 6}}}
	var results []result
	results = append(results, floor(*n, 2), measure(ctx, plain, "pytorch, Master + 1 Worker", pt, *n))
	results = append(results, measure(ctx, tracked, "pytorch, Master + 1 Worker, with tracking run (SQLite)", pt, *n))
	results = append(results, floor(*n, 8), measure(ctx, plain, "tensorflow, Chief + PS + 6 Workers", tf, *n))

	var sb strings.Builder
	fmt.Fprintf(&sb, "## Local jobs: submit → all replicas running\n\n")
	fmt.Fprintf(&sb, "`go run ./jobs/internal/jobsbench -n %d` on %s, %d CPUs (shared, noisy), %s. Each replica runs `sleep 300`; a job is measured from `Submit` to its `Running` condition arriving through `Watch` (every replica started: state saved, process group, log file, wrapper shell), then cancelled. The floor starts the same number of `/bin/sh -c '\"$@\"' sleep 300` processes with os/exec and nothing else.\n\n",
		*n, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(&sb, "Load average at the end: %s.\n\n", strings.Join(strings.Fields(string(la))[:3], " "))
	}
	fmt.Fprintf(&sb, "| case | min | p50 | p90 | max |\n|---|---:|---:|---:|---:|\n")
	for _, r := range results {
		s := slices.Clone(r.samples)
		slices.Sort(s)
		q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s |\n", r.name, ms(s[0]), ms(q(0.5)), ms(q(0.9)), ms(s[len(s)-1]))
	}
	if *out == "" {
		fmt.Print(sb.String())
		return
	}
	if err := os.WriteFile(*out, []byte(sb.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Print(sb.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// measure submits spec n times and times Submit → Running.
func measure(ctx context.Context, b *local.Backend, name string, spec jobs.Spec, n int) result {
	r := result{name: name}
	for i := range n {
		spec.Name = fmt.Sprintf("bench-%d-%d", time.Now().UnixNano()%1e6, i)
		wctx, stop := context.WithCancel(ctx)
		start := time.Now()
		if _, err := b.Submit(ctx, spec); err != nil {
			log.Fatal(err)
		}
		events, err := b.Watch(wctx, spec.Name)
		if err != nil {
			log.Fatal(err)
		}
		for ev := range events {
			if ev.Job.Status.Phase() == jobs.Running {
				r.samples = append(r.samples, time.Since(start))
				stop()
			} else if ev.Job.Status.Finished() {
				log.Fatalf("%s ended before running: %+v", spec.Name, ev.Job.Status.Conditions)
			}
		}
		stop()
		if err := b.Delete(ctx, spec.Name); err != nil && !ferry.IsNotFound(err) {
			log.Fatal(err)
		}
	}
	return r
}

// floor starts k wrapper shells running sleep directly, n times.
func floor(n, k int) result {
	r := result{name: fmt.Sprintf("floor: os/exec of %d processes", k)}
	for range n {
		start := time.Now()
		var cmds []*exec.Cmd
		for range k {
			c := exec.Command("/bin/sh", "-c", `"$@"`, "sh", "sleep", "300")
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := c.Start(); err != nil {
				log.Fatal(err)
			}
			cmds = append(cmds, c)
		}
		r.samples = append(r.samples, time.Since(start))
		for _, c := range cmds {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		}
	}
	return r
}
