package main

import "fmt"

func source(xs ...int) <-chan int {
	out := make(chan int)
	go func() {
		defer close(out)
		for _, x := range xs {
			out <- x
		}
	}()
	return out
}

func square(in <-chan int) <-chan int {
	out := make(chan int)
	go func() {
		defer close(out)
		for x := range in {
			out <- x * x
		}
	}()
	return out
}

func filter(in <-chan int, pred func(int) bool) <-chan int {
	out := make(chan int)
	go func() {
		defer close(out)
		for x := range in {
			if pred(x) {
				out <- x
			}
		}
	}()
	return out
}

func main() {
	for v := range filter(square(source(1, 2, 3, 4, 5, 6)), func(x int) bool { return x%2 == 0 }) {
		fmt.Println(v)
	}
	jobs := make(chan int, 10)
	results := make(chan int, 10)
	for w := 0; w < 3; w++ {
		go func() {
			for j := range jobs {
				results <- j * 2
			}
		}()
	}
	for j := 1; j <= 5; j++ {
		jobs <- j
	}
	close(jobs)
	sum := 0
	for range 5 {
		sum += <-results
	}
	fmt.Println("sum", sum)
}
