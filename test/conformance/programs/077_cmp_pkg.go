package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

type Emp struct {
	Dept string
	Name string
	Pay  int
}

func main() {
	fmt.Println(cmp.Compare(1, 2), cmp.Compare("b", "a"), cmp.Compare(2.0, 2.0))
	fmt.Println(cmp.Less(1, 2), cmp.Compare(math.NaN(), 1))
	fmt.Println(cmp.Or("", "default"), cmp.Or(0, 0, 3), cmp.Or("set", "default"))
	emps := []Emp{{"eng", "b", 10}, {"ops", "a", 5}, {"eng", "a", 10}, {"eng", "c", 20}}
	slices.SortFunc(emps, func(x, y Emp) int {
		return cmp.Or(
			cmp.Compare(x.Dept, y.Dept),
			-cmp.Compare(x.Pay, y.Pay),
			cmp.Compare(x.Name, y.Name),
		)
	})
	for _, e := range emps {
		fmt.Println(e)
	}
}
