package main

import "fmt"

func f() {
	for i := 0; i < 3; i++ {
		defer fmt.Println("deferred", i)
	}
	fmt.Println("body")
}

func trace(name string) func() {
	fmt.Println("enter", name)
	return func() { fmt.Println("exit", name) }
}

func g() {
	defer trace("g")()
	fmt.Println("in g")
}

func args() {
	x := 1
	defer fmt.Println("arg evaluated at defer:", x)
	x = 2
	fmt.Println("x now", x)
}

func main() {
	f()
	g()
	args()
}
