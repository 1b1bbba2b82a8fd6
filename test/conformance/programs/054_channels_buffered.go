package main

import "fmt"

func main() {
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	fmt.Println(len(ch), cap(ch))
	fmt.Println(<-ch, <-ch)
	var send chan<- string
	var recv <-chan string
	c := make(chan string, 1)
	send, recv = c, c
	send <- "hello"
	fmt.Println(<-recv)
	results := make(chan int)
	go func() {
		defer close(results)
		for i := 1; i <= 3; i++ {
			results <- i * 100
		}
	}()
	sum := 0
	for v := range results {
		sum += v
	}
	fmt.Println(sum)
	var nilCh chan int
	fmt.Println(nilCh == nil)
}
