package main

import "fmt"

type Incer interface{ Inc() }
type Getter interface{ Get() int }

type C struct{ n int }

func (c *C) Inc()    { c.n++ }
func (c C) Get() int { return c.n }

func main() {
	c := C{}
	c.Inc() // addressable: (&c).Inc()
	var i Incer = &c
	i.Inc()
	var g Getter = c
	var g2 Getter = &c
	fmt.Println(c.Get(), g.Get(), g2.Get())
	_, ok := any(c).(Incer)
	_, ok2 := any(&c).(Incer)
	fmt.Println(ok, ok2)
	cs := []C{{1}, {2}}
	for i := range cs {
		cs[i].Inc()
	}
	fmt.Println(cs)
	m := map[string]*C{"a": {5}}
	m["a"].Inc()
	fmt.Println(m["a"].Get())
}
