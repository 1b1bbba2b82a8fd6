package tracking_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/tracking"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ferry-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The embedded store; a team would use postgres://user@host:5432/ferry.
	tr, err := tracking.Open(ctx, "sqlite://"+filepath.Join(dir, "ferry.db"), tracking.Options{ArtifactRoot: "s3://ml/ferry"})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	exp, err := tr.CreateExperiment(ctx, "mnist", "", nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, lr := range []string{"0.1", "0.01"} {
		run, err := tr.CreateRun(ctx, storage.RunSpec{ExperimentID: exp.ID, Name: "lr=" + lr})
		if err != nil {
			log.Fatal(err)
		}
		var ms []storage.Metric
		for step := range 3 {
			acc := 0.8 + 0.05*float64(step)
			if lr == "0.01" {
				acc += 0.02
			}
			ms = append(ms, storage.Metric{Key: "accuracy", Value: acc, Step: int64(step)})
		}
		if err := tr.LogBatch(ctx, run.ID, ms, []storage.Param{{Key: "lr", Value: lr}}, nil); err != nil {
			log.Fatal(err)
		}
		if _, err := tr.UpdateRun(ctx, run.ID, storage.RunUpdate{Status: storage.RunFinished}); err != nil {
			log.Fatal(err)
		}
	}

	runs, _, err := tr.SearchRuns(ctx, storage.SearchRunsRequest{
		ExperimentIDs: []string{exp.ID},
		Filter:        "metrics.accuracy > 0.85 and attributes.status = 'FINISHED'",
		OrderBy:       []string{"metrics.accuracy DESC"},
	})
	if err != nil {
		log.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		fmt.Printf("%s lr=%s accuracy=%.2f\n", r.Name, r.Params["lr"], r.Metrics["accuracy"].Value)
		ids = append(ids, r.ID)
	}
	hist, err := tr.MetricHistory(ctx, ids, []string{"accuracy"})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range hist {
		fmt.Println(s.Key, len(s.Points), "points")
	}

	err = tr.LogParam(ctx, ids[0], storage.Param{Key: "lr", Value: "0.5"})
	fmt.Println(ferry.ErrorCode(err))
	// Output:
	// lr=0.01 lr=0.01 accuracy=0.92
	// lr=0.1 lr=0.1 accuracy=0.90
	// accuracy 3 points
	// accuracy 3 points
	// invalid
}
