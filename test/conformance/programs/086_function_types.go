package main

import (
	"fmt"
	"sort"
	"strings"
)

type Handler func(string) string

func (h Handler) Twice(s string) string { return h(h(s)) }

type Middleware func(Handler) Handler

func chain(h Handler, ms ...Middleware) Handler {
	for i := len(ms) - 1; i >= 0; i-- {
		h = ms[i](h)
	}
	return h
}

func main() {
	up := Handler(strings.ToUpper)
	fmt.Println(up("x"), up.Twice("y"))
	exclaim := func(h Handler) Handler { return func(s string) string { return h(s) + "!" } }
	bracket := func(h Handler) Handler { return func(s string) string { return "[" + h(s) + "]" } }
	fmt.Println(chain(up, exclaim, bracket)("go"))
	ops := map[string]func(int, int) int{
		"add": func(a, b int) int { return a + b },
		"mul": func(a, b int) int { return a * b },
	}
	names := []string{}
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n, ops[n](3, 4))
	}
	var f func()
	fmt.Println(f == nil)
}
