package main

import "fmt"

func gen(n int) <-chan int {
	ch := make(chan int)
	go func() {
		for i := 0; i < n; i++ {
			ch <- i * 10
		}
		close(ch)
	}()
	return ch
}

func main() {
	for v := range gen(5) {
		fmt.Println(v)
	}
	ch := make(chan string, 3)
	ch <- "x"
	ch <- "y"
	close(ch)
	for s := range ch {
		fmt.Println(s)
	}
	v, ok := <-ch
	fmt.Printf("%q %v\n", v, ok)
}
