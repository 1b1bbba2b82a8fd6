package main

import (
	"fmt"
	"math"
)

func main() {
	for _, p := range [][2]int{{7, 2}, {-7, 2}, {7, -2}, {-7, -2}} {
		fmt.Println(p[0], p[1], p[0]/p[1], p[0]%p[1])
	}
	fmt.Println(7.0/2, float64(-7)/2, math.Mod(-7, 2), math.Remainder(7, 2))
	var f float64 = 1
	var z float64
	fmt.Println(f/z, -f/z, z/z == z/z)
	fmt.Println(10/3*3, 10*3/3, 10/3.0)
	x := 17
	x /= 3
	x %= 4
	fmt.Println(x)
}
