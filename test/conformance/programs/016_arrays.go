package main

import "fmt"

func double(a [3]int) [3]int {
	for i := range a {
		a[i] *= 2
	}
	return a
}

func main() {
	a := [3]int{1, 2, 3}
	b := double(a)
	fmt.Println(a, b, len(a))
	c := [...]string{2: "c", 0: "a"}
	fmt.Println(len(c), c)
	var m [2][3]int
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			m[i][j] = i*3 + j
		}
	}
	fmt.Println(m)
	fmt.Println(a == [3]int{1, 2, 3})
	s := a[1:]
	s[0] = 20
	fmt.Println(a, s)
}
