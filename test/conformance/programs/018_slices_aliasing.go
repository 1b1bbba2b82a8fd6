package main

import "fmt"

func main() {
	base := []int{0, 1, 2, 3, 4, 5}
	a := base[1:3]
	fmt.Println(a, len(a), cap(a))
	a = append(a, 100)
	fmt.Println(base)
	b := base[1:3:3]
	fmt.Println(len(b), cap(b))
	b = append(b, 200)
	fmt.Println(base, b)
	c := base[:0]
	for _, v := range base {
		if v%2 == 0 {
			c = append(c, v)
		}
	}
	fmt.Println(c)
	arr := [5]int{1, 2, 3, 4, 5}
	sl := arr[:]
	sl[0] = 9
	fmt.Println(arr)
}
