package goeval_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ferryml/ferry/kernel/goeval"
)

func Example() {
	e, err := goeval.New(goeval.Options{Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	// A cell may mix imports, declarations and statements.
	e.Eval(ctx, `import "fmt"
func square(x int) int { return x * x }
for i := range 3 {
	fmt.Println(i, square(i))
}`)
	// State persists; a trailing expression gives the cell's result.
	b, _ := e.Eval(ctx, "square(12)")
	fmt.Println(b.Data["text/plain"])
	// Errors name the cell line.
	_, err = e.Eval(ctx, "x := 1\ny := x + missing")
	fmt.Println(err)
	// Output:
	// 0 0
	// 1 1
	// 2 4
	// 144
	// CompileError: undefined: missing
	// cell line 2, column 10: undefined: missing
	//     y := x + missing
	//              ^
}
