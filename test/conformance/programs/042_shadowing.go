package main

import "fmt"

var x = "package"

func show() string { return x }

func main() {
	fmt.Println(x)
	x := 1
	fmt.Println(x)
	{
		x := "s"
		fmt.Println(x)
		x += "t"
		fmt.Println(x)
	}
	fmt.Println(x)
	if x := 2.5; x > 1 {
		fmt.Println(x)
	}
	for x := 0; x < 2; x++ {
		fmt.Println("loop", x)
	}
	fmt.Println(x, show())
	err := fmt.Errorf("outer")
	if true {
		err := fmt.Errorf("inner")
		_ = err
	}
	fmt.Println(err)
}
