package main

import (
	"fmt"
	"sort"
)

type Point struct{ X, Y int }

type Edge struct {
	From, To Point
}

func main() {
	visits := map[Point]int{}
	path := []Point{{0, 0}, {1, 0}, {0, 0}, {1, 1}, {0, 0}}
	for _, p := range path {
		visits[p]++
	}
	fmt.Println(visits[Point{0, 0}], len(visits))
	grid := map[[2]int]string{{0, 1}: "a", {1, 0}: "b"}
	fmt.Println(grid[[2]int{1, 0}])
	edges := map[Edge]bool{{Point{0, 0}, Point{1, 1}}: true}
	fmt.Println(edges[Edge{Point{0, 0}, Point{1, 1}}], edges[Edge{}])
	var ik map[any]int = map[any]int{1: 1, "1": 2, 1.0: 3}
	fmt.Println(ik[1], ik["1"], ik[1.0], len(ik))
	keys := make([]Point, 0)
	for k := range visits {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].X != keys[j].X {
			return keys[i].X < keys[j].X
		}
		return keys[i].Y < keys[j].Y
	})
	fmt.Println(keys)
}
