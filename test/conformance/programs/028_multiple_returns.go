package main

import (
	"errors"
	"fmt"
)

func divmod(a, b int) (q, r int) {
	q = a / b
	r = a % b
	return
}

func parse(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad digit %q", c)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

func swap(a, b string) (string, string) { return b, a }

func main() {
	q, r := divmod(17, 5)
	fmt.Println(q, r)
	for _, s := range []string{"123", "", "1x"} {
		n, err := parse(s)
		fmt.Println(n, err)
	}
	a, b := swap("x", "y")
	fmt.Println(a, b)
	_, r2 := divmod(9, 4)
	fmt.Println(r2)
	fmt.Println(divmod(100, 7))
}
