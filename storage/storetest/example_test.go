package storetest_test

import (
	"testing"

	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/file"
	"github.com/ferryml/ferry/storage/storetest"
)

// A backend's tests run the contract suite with a fresh store per subtest.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestContract(t *testing.T)
		storetest.Run(t, func(t *testing.T) storage.ObjectStore {
			s, err := file.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	}
}
