package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

type Named interface{ Name() string }
type Aged interface{ Age() int }
type Person interface {
	Named
	Aged
	fmt.Stringer
}

type emp struct {
	n string
	a int
}

func (e emp) Name() string   { return e.n }
func (e emp) Age() int       { return e.a }
func (e emp) String() string { return fmt.Sprintf("%s(%d)", e.n, e.a) }

type ReadCloser interface {
	io.Reader
	io.Closer
}

type rc struct {
	io.Reader
	closed bool
}

func (r *rc) Close() error { r.closed = true; return nil }

func main() {
	ps := []Person{emp{"b", 40}, emp{"a", 30}}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name() < ps[j].Name() })
	fmt.Println(ps)
	var n Named = ps[0]
	if a, ok := n.(Aged); ok {
		fmt.Println("age", a.Age())
	}
	r := &rc{Reader: strings.NewReader("data")}
	var c ReadCloser = r
	b, _ := io.ReadAll(c)
	c.Close()
	fmt.Println(string(b), r.closed)
	var _ io.ReadCloser = c
}
