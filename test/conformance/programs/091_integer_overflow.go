package main

import (
	"fmt"
	"math"
)

func main() {
	var i32 int32 = math.MaxInt32
	i32++
	fmt.Println(i32)
	var u uint = 0
	u--
	fmt.Println(u == math.MaxUint)
	var i64 int64 = math.MinInt64
	fmt.Println(-i64 == i64)
	var b byte = 250
	b += 10
	fmt.Println(b)
	x := math.MaxInt64
	x++
	fmt.Println(x == math.MinInt64)
	var u16 uint16 = 1
	fmt.Println(u16<<15, u16<<16)
	m8, n1 := int8(-128), int8(-1)
	fmt.Println(m8/n1 == -128)
}
