package main

import (
	"fmt"
	"time"
)

const (
	KiB     = 1024
	MiB     = KiB * KiB
	Timeout = 2 * time.Second
	Label   = "v" + "1"
	Ratio   = 22 / 7.0
	IsBig   = MiB > 1000
)

type Level uint8

const (
	Debug Level = iota + 1
	Info
	Warn = Info * 10
)

func main() {
	fmt.Println(KiB, MiB, Timeout, Label, IsBig)
	fmt.Printf("%.5f %T\n", Ratio, Ratio)
	fmt.Println(Debug, Info, Warn)
	fmt.Printf("%T %v\n", Timeout, Timeout.Milliseconds())
	const local = len("hello")
	var arr [local]int
	fmt.Println(len(arr))
	fmt.Println(time.Duration(1500) * time.Millisecond)
}
