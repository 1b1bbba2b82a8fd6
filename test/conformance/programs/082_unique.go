package main

import (
	"fmt"
	"unique"
)

type Key struct {
	A string
	B int
}

func main() {
	h1 := unique.Make("hello")
	h2 := unique.Make("hel" + "lo")
	h3 := unique.Make("world")
	fmt.Println(h1 == h2, h1 == h3, h1.Value())
	k1 := unique.Make(Key{"x", 1})
	k2 := unique.Make(Key{"x", 1})
	fmt.Println(k1 == k2, k1.Value().B)
	set := map[unique.Handle[string]]int{}
	for _, w := range []string{"a", "b", "a", "a"} {
		set[unique.Make(w)]++
	}
	fmt.Println(len(set), set[unique.Make("a")])
}
