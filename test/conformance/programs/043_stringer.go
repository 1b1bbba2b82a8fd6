package main

import (
	"fmt"
	"strings"
)

type Point struct{ X, Y int }

func (p Point) String() string { return fmt.Sprintf("(%d,%d)", p.X, p.Y) }

type Path []Point

func (p Path) String() string {
	parts := make([]string, len(p))
	for i, pt := range p {
		parts[i] = pt.String()
	}
	return strings.Join(parts, "->")
}

type Temp float64

func (t *Temp) String() string { return fmt.Sprintf("%.1f deg", float64(*t)) }

func main() {
	p := Point{1, 2}
	fmt.Println(p)
	fmt.Printf("%v %s %d\n", p, p, p)
	fmt.Println(Path{{0, 0}, {1, 1}})
	fmt.Println([]Point{{3, 4}})
	m := map[string]Point{"a": {5, 6}}
	fmt.Println(m)
	t := Temp(21.5)
	fmt.Println(&t)
	fmt.Println(fmt.Sprint(p) + "!")
}
