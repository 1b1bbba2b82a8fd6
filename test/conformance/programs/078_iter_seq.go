package main

import (
	"fmt"
	"iter"
	"slices"
)

func Count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

func Filter[T any](seq iter.Seq[T], f func(T) bool) iter.Seq[T] {
	return func(yield func(T) bool) {
		for v := range seq {
			if f(v) && !yield(v) {
				return
			}
		}
	}
}

func main() {
	for i := range Count(3) {
		fmt.Println("i", i)
	}
	for v := range Filter(Count(20), func(x int) bool { return x%7 == 0 }) {
		fmt.Println("mult7", v)
	}
	for i := range Count(100) {
		if i == 2 {
			break
		}
		fmt.Println("early", i)
	}
	fmt.Println(slices.Collect(Count(4)))
	next, stop := iter.Pull(Count(2))
	defer stop()
	a, ok1 := next()
	b, ok2 := next()
	_, ok3 := next()
	fmt.Println(a, ok1, b, ok2, ok3)
}
