package local_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/local"
)

// BenchmarkSubmitToRunning times Submit → the Running condition (every
// replica started) of a 2-replica PyTorch job; go run
// ./jobs/internal/jobsbench writes the Markdown table with the floor.
func BenchmarkSubmitToRunning(b *testing.B) {
	be, err := local.New(b.Context(), local.Options{Dir: b.TempDir(), GPUs: []string{}, Logger: slog.New(slog.DiscardHandler), GracePeriod: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	spec := jobs.Spec{Kind: jobs.PyTorch, Command: []string{"sleep", "300"},
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}}}
	i := 0
	for b.Loop() {
		i++
		spec.Name = fmt.Sprintf("bench-%d", i)
		ctx, stop := context.WithCancel(b.Context())
		if _, err := be.Submit(ctx, spec); err != nil {
			stop()
			b.Fatal(err)
		}
		events, err := be.Watch(ctx, spec.Name)
		if err != nil {
			stop()
			b.Fatal(err)
		}
		for ev := range events {
			if ev.Job.Status.Phase() == jobs.Running {
				stop()
			}
		}
		stop()
		b.StopTimer()
		if err := be.Delete(b.Context(), spec.Name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
