package main

import "fmt"

func main() {
	fmt.Println(min(3, 1, 2), max(3, 1, 2), min(2.5, 1), max("a", "b"))
	x, y := 10, 20
	fmt.Println(min(x, y), max(x, y, 15))
	m := map[string]int{"a": 1, "b": 2}
	clear(m)
	fmt.Println(len(m))
	s := []int{1, 2, 3}
	clear(s)
	fmt.Println(s, len(s))
	var f float64 = 1.5
	fmt.Println(max(f, 2))
}
