package main

import "fmt"

func main() {
	s := "héllo, 世界"
	for i, r := range s {
		fmt.Printf("%d:%c(%d) ", i, r, r)
	}
	fmt.Println()
	fmt.Println(len(s), len([]rune(s)))
	b := []byte("abc")
	for i := range b {
		b[i] -= 32
	}
	fmt.Println(string(b))
}
