package main

import "fmt"

func main() {
	var s []int
	fmt.Println(s == nil, len(s), cap(s))
	for i := 0; i < 5; i++ {
		s = append(s, i*i)
	}
	fmt.Println(s, len(s))
	t := make([]int, 3)
	n := copy(t, s)
	fmt.Println(n, t)
	s = append(s, t...)
	fmt.Println(s)
	s = append(s[:2], s[3:]...)
	fmt.Println(s)
	m := make([]string, 2, 10)
	fmt.Println(len(m), cap(m))
	b := append([]byte("ab"), "cd"...)
	fmt.Println(string(b))
	grid := make([][]int, 3)
	for i := range grid {
		grid[i] = make([]int, i+1)
	}
	fmt.Println(grid)
}
