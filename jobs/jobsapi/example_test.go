package jobsapi_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsapi"
	"github.com/ferryml/ferry/jobs/local"
)

// Serve a local backend over HTTP and run a job through the client, which
// is a jobs.Backend like the backend it talks to.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ferry-jobs-api-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := local.New(ctx, local.Options{Dir: dir, GPUs: []string{}})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	srv := httptest.NewServer(http.StripPrefix("/api/ferry/v1", jobsapi.NewHandler(b, local.BackendName, nil)))
	defer srv.Close()

	var c jobs.Backend = jobsapi.NewClient(srv.URL+"/api/ferry/v1/", "", nil)
	if _, err := c.Submit(ctx, jobs.Spec{
		Name: "hello", Kind: jobs.PyTorch,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}},
		Command:  []string{"/bin/sh", "-c", `echo "rank $RANK of $WORLD_SIZE"`},
	}); err != nil {
		log.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events, err := c.Watch(wctx, "hello")
	if err != nil {
		log.Fatal(err)
	}
	for ev := range events {
		if ev.Job.Status.Finished() {
			fmt.Println(ev.Job.Status.Phase())
			stop()
		}
	}
	rc, err := c.Logs(ctx, "hello", jobs.LogOptions{Replica: jobs.Master}) // the Master ending is what makes a PyTorch job succeed
	if err != nil {
		log.Fatal(err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	fmt.Print(string(out))

	_, err = c.Submit(ctx, jobs.Spec{Name: "hello", Kind: "spark"})
	fmt.Println(err)
	// Output:
	// Succeeded
	// rank 0 of 2
	// job spec: kind "spark" is not a training kind: use one of pytorch, tensorflow, xgboost, mpi, paddle, mxnet, jax; command is empty: give the command every replica runs, e.g. ["python3", "train.py"]
}
