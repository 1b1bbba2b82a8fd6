package main

import (
	"fmt"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	results := make([]int, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			results[n] = n * n
		}(i)
	}
	wg.Wait()
	fmt.Println(results)
	done := make(chan struct{})
	go func() {
		fmt.Println("in goroutine")
		close(done)
	}()
	<-done
	fmt.Println("after")
}
