package main

import (
	"fmt"
	"slices"
)

type Set[T comparable] = map[T]struct{}

type IntList = []int

type Vec[T any] []T

func (v Vec[T]) Map(f func(T) T) Vec[T] {
	out := make(Vec[T], len(v))
	for i, x := range v {
		out[i] = f(x)
	}
	return out
}

type Floats = Vec[float64]

func Add[T comparable](s Set[T], v T) { s[v] = struct{}{} }

func main() {
	s := Set[string]{}
	Add(s, "a")
	Add(s, "b")
	Add(s, "a")
	fmt.Println(len(s))
	var l IntList = []int{3, 1, 2}
	slices.Sort(l)
	fmt.Println(l)
	f := Floats{1, 2}.Map(func(x float64) float64 { return x * 1.5 })
	fmt.Println(f)
	fmt.Printf("%T\n", s)
}
