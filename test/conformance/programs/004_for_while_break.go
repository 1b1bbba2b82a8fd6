package main

import "fmt"

func main() {
	n := 27
	steps := 0
	for n != 1 {
		if n%2 == 0 {
			n /= 2
		} else {
			n = 3*n + 1
		}
		steps++
	}
	fmt.Println("collatz steps", steps)
	i := 0
	for {
		i++
		if i%2 == 1 {
			continue
		}
		if i > 8 {
			break
		}
		fmt.Println("even", i)
	}
}
