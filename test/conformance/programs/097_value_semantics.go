package main

import "fmt"

type Inner struct{ V []int }
type Outer struct {
	A   [2]int
	In  Inner
	Ptr *Inner
}

func modify(o Outer) {
	o.A[0] = 100
	o.In.V[0] = 100
	o.Ptr.V = append(o.Ptr.V, 9)
}

func main() {
	o := Outer{A: [2]int{1, 2}, In: Inner{[]int{1}}, Ptr: &Inner{[]int{7}}}
	modify(o)
	fmt.Println(o.A, o.In.V, o.Ptr.V)
	c := o
	c.A[1] = 50
	fmt.Println(o.A, c.A)
	arrs := [][2]int{{1, 2}}
	for _, a := range arrs {
		a[0] = 99
	}
	fmt.Println(arrs)
	m := map[string]Inner{"k": {[]int{1}}}
	in := m["k"]
	in.V = nil
	fmt.Println(m["k"].V)
	structs := []Outer{{A: [2]int{1, 1}}}
	structs[0].A[0] = 5
	fmt.Println(structs[0].A)
}
