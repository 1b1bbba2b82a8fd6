package trackingtest_test

import (
	"path/filepath"
	"testing"

	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/sqldb"
	"github.com/ferryml/ferry/storage/sqlite"
	"github.com/ferryml/ferry/storage/trackingtest"
)

// A backend's test runs the suite with a function that opens a tracker on
// an empty database.
func ExampleRun() {
	testContract := func(t *testing.T) {
		trackingtest.Run(t, func(t *testing.T) storage.Tracker {
			tr, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ferry.db"), sqldb.Options{ArtifactRoot: "file:///data"})
			if err != nil {
				t.Fatal(err)
			}
			return tr
		})
	}
	_ = testContract // func TestContract(t *testing.T) { testContract(t) }
}
