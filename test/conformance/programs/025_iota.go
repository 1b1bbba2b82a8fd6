package main

import "fmt"

type Color int

const (
	Red Color = iota
	Green
	Blue
)

func (c Color) String() string {
	return [...]string{"Red", "Green", "Blue"}[c]
}

type ByteSize float64

const (
	_           = iota
	KB ByteSize = 1 << (10 * iota)
	MB
	GB
)

const (
	A, B = iota, iota * 10
	C, D
	_, _
	E, F
)

type Flags uint

const (
	FlagA Flags = 1 << iota
	FlagB
	FlagC
)

func main() {
	fmt.Println(Red, Green, Blue)
	fmt.Printf("%d %v\n", Blue, Blue)
	fmt.Println(KB, MB, GB)
	fmt.Println(A, B, C, D, E, F)
	f := FlagA | FlagC
	fmt.Println(f, f&FlagB != 0, f&FlagC != 0)
}
