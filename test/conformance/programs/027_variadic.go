package main

import (
	"fmt"
	"strings"
)

func sum(base int, xs ...int) int {
	for _, x := range xs {
		base += x
	}
	return base
}

func join(sep string, parts ...string) string {
	return strings.Join(parts, sep)
}

func count(xs ...any) int { return len(xs) }

func main() {
	fmt.Println(sum(0), sum(1, 2, 3), sum(10, []int{1, 2}...))
	fmt.Println(join("-", "a", "b", "c"))
	fmt.Println(count(), count(1, "a", nil), count([]any{1, 2}...))
	xs := []int{4, 5}
	fmt.Println(sum(1, xs...))
	fmt.Println(append([]int{0}, xs...))
}
