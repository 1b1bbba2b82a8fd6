//go:build duckdb_arrow

package sqlmagic_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferryml/ferry/kernel/goeval"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/magics/sqlmagic"
)

func ExampleRegister() {
	g, err := goeval.New(goeval.Options{})
	if err != nil {
		panic(err)
	}
	reg := magics.NewRegistry()
	sqlmagic.Register(reg, sqlmagic.Options{Globals: g})
	ev := magics.NewEvaluator(g, reg)
	ctx := context.Background()

	cells := []string{
		"threshold := 2",
		"%%sql -o big\nSELECT range AS n FROM range(5) WHERE range > {threshold}",
		"big.NumRows()",
	}
	for _, c := range cells {
		b, err := ev.Eval(ctx, c)
		if err != nil {
			panic(err)
		}
		if b != nil {
			// The last line of a table says how long the query took.
			text := b.Data["text/plain"].(string)
			if i := strings.LastIndex(text, "\n"); i > 0 && strings.Contains(text[i:], "rows") {
				text = text[:i]
			}
			fmt.Println(text)
		}
	}
	// Output:
	// n (int64)
	// ---------
	//         3
	//         4
	// 2
}
