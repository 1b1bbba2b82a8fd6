package main

import "fmt"

func day(n int) string {
	switch n {
	case 0, 6:
		return "weekend"
	case 1, 2, 3, 4, 5:
		return "weekday"
	default:
		return "invalid"
	}
}

func main() {
	for _, n := range []int{0, 3, 6, 9} {
		fmt.Println(n, day(n))
	}
	switch x := 5; {
	case x > 3:
		fmt.Println("gt3")
	case x > 1:
		fmt.Println("gt1")
	}
	switch s := "go"; s + "lang" {
	case "golang":
		fmt.Println("matched")
	}
}
