package main

import "fmt"

func main() {
	for i := 0; i < 4; i++ {
		switch {
		case i == 0:
			fmt.Println("zero")
			fallthrough
		case i == 1:
			fmt.Println("zero or one")
		case i == 2:
			fmt.Println("two")
			break
		default:
			fmt.Println("other")
		}
	}
loop:
	for i := 0; ; i++ {
		switch i {
		case 3:
			break loop
		}
		fmt.Println("i", i)
	}
}
