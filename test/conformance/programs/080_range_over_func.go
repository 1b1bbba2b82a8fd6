package main

import "fmt"

func Fib(yield func(int) bool) {
	a, b := 0, 1
	for {
		if !yield(a) {
			return
		}
		a, b = b, a+b
	}
}

func Pairs(yield func(string, int) bool) {
	_ = yield("one", 1) && yield("two", 2) && yield("three", 3)
}

func Nothing(yield func() bool) {
	yield()
	yield()
}

func main() {
	for f := range Fib {
		if f > 50 {
			break
		}
		fmt.Print(f, " ")
	}
	fmt.Println()
	for k, v := range Pairs {
		if v == 2 {
			continue
		}
		fmt.Println(k, v)
	}
	n := 0
	for range Nothing {
		n++
	}
	fmt.Println("nothing ran", n)
	sum := 0
	func() {
		defer func() { fmt.Println("deferred after loop, sum", sum) }()
		for f := range Fib {
			if f > 10 {
				return
			}
			sum += f
		}
	}()
}
