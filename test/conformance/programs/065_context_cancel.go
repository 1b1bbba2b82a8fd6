package main

import (
	"context"
	"errors"
	"fmt"
)

type key string

func worker(ctx context.Context, in <-chan int, out chan<- int) {
	for {
		select {
		case <-ctx.Done():
			close(out)
			return
		case v := <-in:
			out <- v * 2
		}
	}
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan int)
	out := make(chan int)
	go worker(ctx, in, out)
	in <- 1
	fmt.Println(<-out)
	in <- 2
	fmt.Println(<-out)
	cancel()
	_, ok := <-out
	fmt.Println("closed", !ok, ctx.Err(), errors.Is(ctx.Err(), context.Canceled))
	vctx := context.WithValue(context.Background(), key("user"), "ann")
	fmt.Println(vctx.Value(key("user")), vctx.Value(key("none")))
}
