package main

import "fmt"

type Count int

func main() {
	for i := range 3 {
		fmt.Println("i", i)
	}
	n := 4
	s := 0
	for i := range n {
		s += i
	}
	fmt.Println(s)
	var c Count = 2
	for i := range c {
		fmt.Printf("%T %v\n", i, i)
	}
	xs := []int{5, 6, 7}
	for i := range len(xs) {
		fmt.Println(xs[i])
	}
}
