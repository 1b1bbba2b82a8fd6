package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/sqldb"
	"github.com/ferryml/ferry/storage/sqlite"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "ferry-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	tr, err := sqlite.Open(ctx, filepath.Join(dir, "ferry.db"), sqldb.Options{ArtifactRoot: "file:///data/artifacts"})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	run, err := tr.CreateRun(ctx, storage.RunSpec{ExperimentID: storage.DefaultExperimentID, Name: "first"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tr.SchemaVersion(), run.Name, run.ArtifactURI == "file:///data/artifacts/0/"+run.ID+"/artifacts")
	// Output: 1 first true
}
