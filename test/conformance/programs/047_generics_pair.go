package main

import (
	"fmt"
	"sort"
)

type Pair[K comparable, V any] struct {
	Key K
	Val V
}

func (p Pair[K, V]) String() string { return fmt.Sprintf("%v=%v", p.Key, p.Val) }

func (p Pair[K, V]) Swap() Pair[string, K] {
	return Pair[string, K]{fmt.Sprint(p.Val), p.Key}
}

func Entries[K comparable, V any](m map[K]V, less func(a, b K) bool) []Pair[K, V] {
	out := make([]Pair[K, V], 0, len(m))
	for k, v := range m {
		out = append(out, Pair[K, V]{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i].Key, out[j].Key) })
	return out
}

func main() {
	p := Pair[string, int]{"a", 1}
	fmt.Println(p, p.Key, p.Val)
	fmt.Println(p.Swap())
	es := Entries(map[string]float64{"y": 2.5, "x": 1.5}, func(a, b string) bool { return a < b })
	fmt.Println(es)
	ps := []Pair[int, []string]{{1, []string{"a"}}, {2, nil}}
	fmt.Println(len(ps), ps[0].Val)
	fmt.Printf("%T\n", p)
}
