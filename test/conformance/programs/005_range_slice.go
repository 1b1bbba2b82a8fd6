package main

import "fmt"

func main() {
	xs := []string{"a", "b", "c"}
	for i, x := range xs {
		fmt.Println(i, x)
	}
	for i := range xs {
		xs[i] += "!"
	}
	fmt.Println(xs)
	arr := [3]int{1, 2, 3}
	for _, v := range arr {
		arr[2] = 100
		fmt.Println(v)
	}
	total := 0
	for range 4 {
		total++
	}
	fmt.Println(total)
}
