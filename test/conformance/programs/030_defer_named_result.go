package main

import (
	"errors"
	"fmt"
)

func double() (n int) {
	defer func() { n *= 2 }()
	n = 5
	return n + 1
}

func withErr() (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("wrapped: %w", err)
		}
	}()
	return errors.New("inner")
}

func cleanup() (log []string) {
	defer func() { log = append(log, "cleanup") }()
	log = append(log, "work")
	return log
}

func main() {
	fmt.Println(double())
	fmt.Println(withErr())
	fmt.Println(cleanup())
}
