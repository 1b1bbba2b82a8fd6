package main

import "fmt"

func main() {
	fmt.Println("hello, world")
	fmt.Print("a", "b", 1, 2, "\n")
	fmt.Printf("%d-%s\n", 7, "x")
}
