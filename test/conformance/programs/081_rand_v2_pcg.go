package main

import (
	"fmt"
	"math/rand/v2"
)

func main() {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5; i++ {
		fmt.Print(r.IntN(100), " ")
	}
	fmt.Println()
	fmt.Println(r.Uint64(), r.Int64N(1000))
	fmt.Printf("%.6f\n", r.Float64())
	xs := []int{1, 2, 3, 4, 5}
	r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	fmt.Println(xs)
	fmt.Println(r.Perm(5))
	r2 := rand.New(rand.NewChaCha8([32]byte{1}))
	fmt.Println(r2.IntN(1000))
}
