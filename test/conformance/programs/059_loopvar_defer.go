package main

import "fmt"

func run() {
	for i := 0; i < 3; i++ {
		defer func() { fmt.Println("deferred closure", i) }()
	}
	for _, s := range []string{"a", "b"} {
		defer func() { fmt.Println("deferred range", s) }()
	}
	fmt.Println("run body")
}

func main() {
	run()
	var prints []func()
	for i := range 3 {
		prints = append(prints, func() { fmt.Println("saved", i) })
	}
	for _, p := range prints {
		p()
	}
}
