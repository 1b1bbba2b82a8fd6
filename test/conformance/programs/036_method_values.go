package main

import "fmt"

type Counter struct{ n int }

func (c *Counter) Inc()    { c.n++ }
func (c Counter) Get() int { return c.n }

type Greeter struct{ name string }

func (g Greeter) Greet(s string) string { return s + ", " + g.name }

func apply(f func(), n int) {
	for i := 0; i < n; i++ {
		f()
	}
}

func main() {
	c := &Counter{}
	inc := c.Inc
	inc()
	inc()
	apply(inc, 3)
	fmt.Println(c.Get())
	g := Greeter{"bob"}
	greet := g.Greet
	g.name = "alice" // the method value bound a copy
	fmt.Println(greet("hi"), g.Greet("hey"))
	get := c.Get
	c.Inc()
	fmt.Println(get(), c.Get())
	fs := []func() string{func() string { return greet("yo") }}
	fmt.Println(fs[0]())
}
