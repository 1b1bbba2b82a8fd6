package main

import "fmt"

type Number interface {
	~int | ~int64 | ~float64
}

func Sum[T ~int | ~float64](xs []T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}

func Avg[T Number](xs ...T) float64 {
	var s T
	for _, x := range xs {
		s += x
	}
	return float64(s) / float64(len(xs))
}

type Score int
type Weight float64

func main() {
	fmt.Println(Sum([]int{1, 2, 3}))
	fmt.Println(Sum([]float64{1.5, 2.25}))
	fmt.Println(Sum([]Score{10, 20}))
	fmt.Printf("%T\n", Sum([]Weight{0.5}))
	fmt.Println(Avg(1, 2, 3, 4))
	fmt.Println(Avg[int64](10, 20))
	fmt.Println(Avg(Score(3), Score(4)))
}
