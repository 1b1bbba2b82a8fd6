package local_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/storage/tracking"
)

// Run a 2-worker job locally, wait for it to end, then read its log and the
// metrics it printed from the tracking store.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ferry-jobs-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tr, err := tracking.Open(ctx, tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	b, err := local.New(ctx, local.Options{Dir: filepath.Join(dir, "jobs"), Tracker: tr})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	// Each worker gets the JAX operator's environment; worker 0 (the
	// primary replica) prints metrics in Katib's format.
	script := `echo "process $PROCESS_ID of $NUM_PROCESSES"; [ "$PROCESS_ID" = 0 ] && echo "epoch=1 loss=0.5" || true`
	if _, err := b.Submit(ctx, jobs.Spec{
		Name: "hello", Kind: jobs.JAX,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 2}},
		Command:  []string{"/bin/sh", "-c", script},
	}); err != nil {
		log.Fatal(err)
	}

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events, err := b.Watch(wctx, "hello")
	if err != nil {
		log.Fatal(err)
	}
	var job jobs.Job
	for ev := range events {
		if job = ev.Job; job.Status.Finished() {
			stop()
		}
	}
	fmt.Println(job.Status.Phase())

	rc, err := b.Logs(ctx, "hello", jobs.LogOptions{Replica: jobs.Worker, Index: 1})
	if err != nil {
		log.Fatal(err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	fmt.Print(string(out))

	run, err := tr.GetRun(ctx, job.RunID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.Status, run.Metrics["loss"].Value, run.Metrics["loss"].Step)
	// Output:
	// Succeeded
	// process 1 of 2
	// FINISHED 0.5 1
}
