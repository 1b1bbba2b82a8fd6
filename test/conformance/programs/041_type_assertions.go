package main

import (
	"fmt"
	"io"
	"strings"
)

func main() {
	var x any = 42
	v, ok := x.(int)
	fmt.Println(v, ok)
	s, ok := x.(string)
	fmt.Printf("%q %v\n", s, ok)
	n := x.(int) + 1
	fmt.Println(n)
	var r io.Reader = strings.NewReader("abc")
	if sr, ok := r.(*strings.Reader); ok {
		fmt.Println("len", sr.Len())
	}
	_, isWriter := r.(io.Writer)
	_, isSeeker := r.(io.Seeker)
	fmt.Println(isWriter, isSeeker)
	vals := []any{1, "two", 3.0, nil}
	for _, v := range vals {
		if f, ok := v.(float64); ok {
			fmt.Println("float", f)
		} else if v == nil {
			fmt.Println("nil")
		}
	}
}
