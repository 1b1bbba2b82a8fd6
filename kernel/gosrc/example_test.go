package gosrc_test

import (
	"fmt"

	"github.com/ferryml/ferry/kernel/gosrc"
)

func ExampleIsComplete() {
	for _, code := range []string{"1+1", "func f() {", "x := []int{1,", "a :=", "}"} {
		status, indent := gosrc.IsComplete(code)
		fmt.Printf("%-14q %s %q\n", code, status, indent)
	}
	// Output:
	// "1+1"          complete ""
	// "func f() {"   incomplete "    "
	// "x := []int{1," incomplete "    "
	// "a :="         incomplete "    "
	// "}"            invalid ""
}

func ExampleExprAt() {
	code := "x := strings.Split(s, sep)"
	cursor := len("x := strings.Sp") // the cursor is inside "Split"
	expr, start, end := gosrc.ExprAt(code, cursor)
	fmt.Printf("expr %q, prefix %q, range [%d, %d)\n", expr, code[start:cursor], start, end)

	expr, _, _ = gosrc.ExprAt("fmt.", 4)
	fmt.Printf("expr %q\n", expr)
	// Output:
	// expr "strings.Split", prefix "strings.Sp", range [5, 18)
	// expr "fmt."
}

func ExamplePackageDoc() {
	d, ok := gosrc.PackageDoc("strings", "Split")
	fmt.Println(ok, d.Name)
	fmt.Println(d.Signature)
	// Output:
	// true strings.Split
	// func Split(s, sep string) []string
}

func ExampleDeclDoc() {
	cells := `x := 1
// Double doubles n.
func Double(n int) int { return 2 * n }
fmt.Println(Double(x))
`
	d, ok := gosrc.DeclDoc(cells, "Double")
	fmt.Println(ok, d.Signature)
	fmt.Print(d.Text)
	fmt.Println(d.Source)
	// Output:
	// true func Double(n int) int
	// Double doubles n.
	// func Double(n int) int { return 2 * n }
}
