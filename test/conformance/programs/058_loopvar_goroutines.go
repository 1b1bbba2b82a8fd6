package main

import (
	"fmt"
	"sort"
)

func main() {
	ch := make(chan int, 5)
	for i := 0; i < 5; i++ {
		go func() { ch <- i * i }()
	}
	got := make([]int, 0, 5)
	for range 5 {
		got = append(got, <-ch)
	}
	sort.Ints(got)
	fmt.Println(got)

	names := []string{"x", "y", "z"}
	out := make(chan string, len(names))
	for _, n := range names {
		go func() { out <- n }()
	}
	res := []string{<-out, <-out, <-out}
	sort.Strings(res)
	fmt.Println(res)
}
