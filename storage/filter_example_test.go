package storage_test

import (
	"fmt"

	"github.com/ferryml/ferry/storage"
)

func ExampleParseFilter() {
	f, err := storage.ParseFilter("metrics.accuracy > 0.9 and params.lr = '0.01' and run_name LIKE '%foo%'")
	if err != nil {
		panic(err)
	}
	for _, c := range f.Clauses {
		fmt.Println(c.Entity, c.Key, c.Op)
	}
	_, err = storage.ParseFilter("metrics.accuracy > 0.9 or params.lr = '0.01'")
	fmt.Println(err)
	// Output:
	// metrics accuracy >
	// params lr =
	// attributes run_name LIKE
	// filter "metrics.accuracy > 0.9 or params.lr = '0.01'": at position 23: OR is not supported: the filter grammar only joins clauses with AND
}
