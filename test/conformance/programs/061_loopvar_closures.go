package main

import "fmt"

func main() {
	var fs []func() int
	for i := 0; i < 3; i++ {
		fs = append(fs, func() int { return i * 10 })
	}
	for _, f := range fs {
		fmt.Print(f(), " ")
	}
	fmt.Println()
	var ptrs []*int
	for i := 0; i < 3; i++ {
		ptrs = append(ptrs, &i)
	}
	for _, p := range ptrs {
		fmt.Print(*p, " ")
	}
	fmt.Println()
	m := map[string]func() string{}
	for _, k := range []string{"a", "b"} {
		m[k] = func() string { return k + k }
	}
	fmt.Println(m["a"](), m["b"]())
	// The loop variable is copied per iteration, then incremented.
	for i := 0; i < 3; i++ {
		f := func() { i += 10 }
		if i == 1 {
			f()
		}
		fmt.Println("i", i)
	}
}
