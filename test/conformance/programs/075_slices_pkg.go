package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

type User struct {
	Name string
	Age  int
}

func main() {
	xs := []int{5, 2, 9, 1, 7}
	slices.Sort(xs)
	fmt.Println(xs)
	i, found := slices.BinarySearch(xs, 7)
	fmt.Println(i, found)
	i, found = slices.BinarySearch(xs, 6)
	fmt.Println(i, found)
	fmt.Println(slices.Index(xs, 9), slices.Contains(xs, 3), slices.Max(xs), slices.Min(xs))
	slices.Reverse(xs)
	fmt.Println(xs)
	users := []User{{"bob", 30}, {"al", 25}, {"cy", 30}}
	slices.SortFunc(users, func(a, b User) int {
		return cmp.Or(cmp.Compare(a.Age, b.Age), strings.Compare(a.Name, b.Name))
	})
	fmt.Println(users)
	j := slices.IndexFunc(users, func(u User) bool { return u.Name == "cy" })
	fmt.Println(j)
	ys := slices.Clone(xs)
	ys[0] = 100
	fmt.Println(xs[0], ys[0], slices.Equal(xs, ys))
	fmt.Println(slices.Compact([]int{1, 1, 2, 2, 2, 3, 1}))
	fmt.Println(slices.Insert([]int{1, 4}, 1, 2, 3), slices.Delete([]int{0, 1, 2, 3}, 1, 3))
	fmt.Println(slices.MaxFunc(users, func(a, b User) int { return cmp.Compare(a.Name, b.Name) }))
}
