package sqldb_test

import (
	"fmt"

	"github.com/ferryml/ferry/storage/sqldb"
)

func ExampleMigrations() {
	for _, dialect := range []string{"sqlite", "postgres"} {
		ms, err := sqldb.Migrations(dialect)
		if err != nil {
			panic(err)
		}
		for _, m := range ms {
			fmt.Printf("%s %04d_%s\n", dialect, m.Version, m.Name)
		}
	}
	// Output:
	// sqlite 0001_init
	// postgres 0001_init
}
