package goeval

import (
	"context"
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	te := newEval(t)
	for _, c := range []string{
		`import "fmt"`,
		"import \"fmt\"\nfmt.Println(1)",
		"import (\n\t\"fmt\"\n\t\"strings\"\n)\nfmt.Println(strings.ToUpper(\"a\"))",
		"import (\n\t\"fmt\"\n\t\"strings\"\n)\nfmt.Println(strings.ToUpper(\"b\"))\nx := undefinedY",
		`import "math/rand"`,
		`import rand "crypto/rand"`,
		`import _ "embed"`,
		`import _ "embed"`,
		`import . "strings"`,
		`import . "strings"`,
		`ToUpper("x")`,
	} {
		b, err := te.Eval(context.Background(), c)
		fmt.Printf("%q\n  -> %v %v\n", c, b, err)
	}
	fmt.Println(te.out.String())
}
