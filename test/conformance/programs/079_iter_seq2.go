package main

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
)

type Table struct {
	names []string
	ages  []int
}

func (t *Table) All() iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		for i, n := range t.names {
			if !yield(n, t.ages[i]) {
				return
			}
		}
	}
}

func main() {
	t := &Table{[]string{"ann", "bob"}, []int{31, 42}}
	for name, age := range t.All() {
		fmt.Println(name, age)
	}
	for i, s := range slices.All([]string{"x", "y"}) {
		fmt.Println(i, s)
	}
	for i, v := range slices.Backward([]int{1, 2, 3}) {
		fmt.Print(i, ":", v, " ")
	}
	fmt.Println()
	m := maps.Collect(t.All())
	fmt.Println(m)
	for k := range t.All() {
		fmt.Println(strings.ToUpper(k))
	}
	sorted := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return strings.Compare(b, a) })
	fmt.Println(sorted)
}
