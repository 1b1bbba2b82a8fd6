package postgres_test

import (
	"os"
	"sync"
	"testing"

	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/postgres"
	"github.com/ferryml/ferry/storage/sqldb"
	"github.com/ferryml/ferry/storage/trackingtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testsrv.StopSharedPostgres()
	os.Exit(code)
}

func TestContract(t *testing.T) {
	trackingtest.Run(t, func(t *testing.T) storage.Tracker {
		tr, err := postgres.Open(t.Context(), testsrv.NewPostgresDB(t), sqldb.Options{ArtifactRoot: "s3://bucket/ferry"})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	})
}

// TestConcurrentOpen opens one new database from several clients at once:
// the advisory lock lets exactly one apply the migrations.
func TestConcurrentOpen(t *testing.T) {
	url := testsrv.NewPostgresDB(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := postgres.Open(t.Context(), url, sqldb.Options{ArtifactRoot: "s3://b/f"})
			if err == nil {
				err = tr.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	tr, err := postgres.Open(t.Context(), url, sqldb.Options{ArtifactRoot: "s3://b/f"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var n int
	if err := tr.DB().QueryRow(`SELECT count(*) FROM ferry_schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != tr.SchemaVersion() {
		t.Errorf("%d migrations recorded, want %d", n, tr.SchemaVersion())
	}
}

func TestOpenUnreachable(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", sqldb.Options{})
	if err == nil {
		t.Fatal("opened a server that does not exist")
	}
}
