package main

import "fmt"

func find(xs []int, t int) int {
	i := 0
loop:
	if i < len(xs) {
		if xs[i] == t {
			goto found
		}
		i++
		goto loop
	}
	return -1
found:
	return i
}

func main() {
	fmt.Println(find([]int{4, 5, 6}, 6))
	fmt.Println(find([]int{4, 5, 6}, 9))
	n := 0
again:
	n++
	if n < 3 {
		goto again
	}
	fmt.Println("n", n)
}
