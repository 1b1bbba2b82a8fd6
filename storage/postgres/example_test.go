package postgres_test

import (
	"context"
	"log"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage/postgres"
	"github.com/ferryml/ferry/storage/sqldb"
)

// Open needs a running server, so this example is compiled, not run.
func ExampleOpen() {
	ctx := context.Background()
	tr, err := postgres.Open(ctx, "postgres://ferry@db.internal:5432/ferry?sslmode=disable", sqldb.Options{ArtifactRoot: "s3://ml-artifacts/ferry"})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.CreateExperiment(ctx, "churn", "", map[string]string{"team": "growth"}); ferry.ErrorCode(err) == ferry.AlreadyExists {
		log.Print("experiment churn exists already")
	}
}
