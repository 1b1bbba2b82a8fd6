package main

import (
	"errors"
	"fmt"
)

type P struct {
	Name string
	Tags []string
	Ptr  *int
	M    map[string]int
}

type E int

func main() {
	p := P{Name: "x", Tags: []string{"a"}, M: map[string]int{"b": 2, "a": 1}}
	fmt.Printf("%v\n%+v\n", p, p)
	fmt.Printf("%#v\n", []int{1, 2})
	fmt.Printf("%#v %#v %#v\n", "s", 42, map[string]bool{"t": true})
	fmt.Printf("%T %T %T %T %T\n", p, &p, []any{1}, E(1), errors.New("e"))
	fmt.Printf("%q %q %v %d\n", "quote\"d", 'x', 'x', 'x')
	fmt.Printf("%x %X % x %x\n", "hi", []byte{1, 171}, "abc", 3.5)
	fmt.Printf("%t %v %p\n", true, nil, nil)
	fmt.Printf("%5t|%-6v|%6v|\n", false, 12, "ab")
	fmt.Printf("%c%c %U\n", 'G', 'o', 'G')
	fmt.Printf("%d %s\n", []int{1, 2}, []string{"a", "b"})
	fmt.Printf("%!\n")
	fmt.Printf("%d\n", "str")
	fmt.Printf("%d %d\n", 1)
	fmt.Printf("%[2]d %[1]d\n", 1, 2)
	fmt.Println(fmt.Sprintf("%v", struct{ A, b int }{1, 2}))
	var ip *int
	fmt.Println(ip == nil, fmt.Sprint(ip))
}
