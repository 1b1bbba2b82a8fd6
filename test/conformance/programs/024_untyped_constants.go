package main

import (
	"fmt"
	"math"
)

const Big = 1 << 100
const Small = Big >> 99
const Pi = 3.14159265358979323846264338327950288419716939937510582097494459
const Greeting = "hi"

type Weekday int

const Sunday Weekday = 0

func main() {
	fmt.Println(Small)
	fmt.Println(Big / (1 << 98))
	var f32 float32 = Pi
	var f64 float64 = Pi
	fmt.Println(f32, f64)
	fmt.Println(Pi * 2)
	var d = 'a' + 1
	fmt.Printf("%T %v\n", d, d)
	x := 1.0 / 3
	fmt.Printf("%T %.4f\n", x, x)
	const c = 10
	var i8 int8 = c
	var fl float64 = c
	fmt.Println(i8, fl, c/3, c/3.0)
	fmt.Println(math.MaxInt64, uint64(math.MaxUint64))
	fmt.Printf("%T\n", Sunday+1)
	fmt.Println(len(Greeting), Greeting+"!")
}
