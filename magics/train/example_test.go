package train_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/jobs/jobsclient"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/magics/train"
	"github.com/ferryml/ferry/storage/tracking"
)

// Run a %%train cell on a local backend: two processes with the PyTorchJob
// environment; rank 0 prints the loss, which becomes a metric of the job's
// tracking run and a column of the summary.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ferry-train-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tr, err := tracking.Open(ctx, tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	b, err := local.New(ctx, local.Options{Dir: filepath.Join(dir, "jobs"), Tracker: tr, GPUs: []string{}})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	s := jobsclient.NewSession(b, "example")
	ts := tracking.NewSession(tr, dir)

	reg := magics.NewRegistry()
	train.Register(reg, train.Options{
		Session:  func() (*jobsclient.Session, error) { return s, nil },
		Tracking: func() (*tracking.Session, error) { return ts, nil },
	})
	m, _ := reg.Lookup("train")
	v, err := m.Cell(ctx, `--kind pytorch --workers 2 --name demo -- /bin/sh -c '[ "$RANK" = 0 ] && echo "epoch=1 loss=0.25" || true'`, "")
	if err != nil {
		log.Fatal(err)
	}
	t := v.(display.Table)
	for i, c := range t.Columns {
		if c != "duration" && c != "run" {
			fmt.Printf("%s: %s\n", c, display.Cell(t.Rows[0][i]))
		}
	}
	// Output:
	// job: demo
	// kind: pytorch
	// status: Succeeded
	// replicas: 2 succeeded
	// loss: 0.25
}
