package main

import "fmt"

type Point struct {
	X, Y int
}

type Rect struct {
	Min, Max Point
	Name     string
}

func (r Rect) Area() int { return (r.Max.X - r.Min.X) * (r.Max.Y - r.Min.Y) }

func main() {
	p := Point{1, 2}
	q := Point{Y: 5}
	r := Rect{Min: p, Max: Point{4, 6}, Name: "r"}
	fmt.Println(p, q, r)
	fmt.Printf("%+v\n", r)
	fmt.Println(r.Area())
	pp := &r.Min
	pp.X = 0
	fmt.Println(r.Min, r.Area())
	fmt.Println(p == Point{1, 2}, p != q)
	var z Rect
	fmt.Printf("%q %d\n", z.Name, z.Max.X)
}
