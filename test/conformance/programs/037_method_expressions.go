package main

import "fmt"

type Counter struct{ n int }

func (c *Counter) Inc()         { c.n++ }
func (c Counter) Get() int      { return c.n }
func (c Counter) Add(d int) int { return c.n + d }

type Op func(Counter, int) int

func main() {
	get := Counter.Get
	inc := (*Counter).Inc
	c := Counter{3}
	inc(&c)
	fmt.Println(get(c))
	fmt.Printf("%T\n", get)
	var add Op = Counter.Add
	fmt.Println(add(c, 10))
	pget := (*Counter).Get
	fmt.Println(pget(&c))
	fs := map[string]func(Counter) int{"get": Counter.Get}
	fmt.Println(fs["get"](Counter{9}))
}
