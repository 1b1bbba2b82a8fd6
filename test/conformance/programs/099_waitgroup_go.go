package main

import (
	"fmt"
	"slices"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []string
	for _, w := range []string{"c", "a", "b"} {
		wg.Go(func() {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, w)
		})
	}
	wg.Wait()
	slices.Sort(got)
	fmt.Println(got)
}
