package main

import "fmt"

func First[T any](xs []T) T { return xs[0] }

func Keys[M ~map[K]V, K comparable, V any](m M) int { return len(m) }

func Apply[T any, R any](x T, f func(T) R) R { return f(x) }

func Ptr[T any](v T) *T { return &v }

func Zero[T any]() T {
	var z T
	return z
}

type Set map[string]bool

func Convert[From, To ~int | ~float64](x From) To { return To(x) }

func main() {
	fmt.Println(First([]string{"a", "b"}))
	fmt.Println(Keys(Set{"x": true, "y": false}))
	fmt.Println(Apply(3, func(i int) string { return fmt.Sprint(i * 2) }))
	p := Ptr(5)
	*p++
	fmt.Println(*p)
	fmt.Printf("%q %v %v\n", Zero[string](), Zero[int](), Zero[*int]() == nil)
	fmt.Println(Convert[int, float64](3) / 2)
	fmt.Println(Convert[float64, int](3.9))
}
