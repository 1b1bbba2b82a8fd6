package main

import (
	"fmt"
	"strconv"
)

type ParseError struct {
	Line int
	Err  error
}

func (e *ParseError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

func parseAll(lines []string) ([]int, error) {
	var out []int
	for i, l := range lines {
		n, err := strconv.Atoi(l)
		if err != nil {
			return out, &ParseError{i + 1, err}
		}
		out = append(out, n)
	}
	return out, nil
}

func mayFail(fail bool) error {
	var p *ParseError
	if fail {
		p = &ParseError{0, fmt.Errorf("x")}
		return p
	}
	return nil
}

func main() {
	xs, err := parseAll([]string{"1", "2", "x3"})
	fmt.Println(xs, err)
	if pe, ok := err.(*ParseError); ok {
		fmt.Println(pe.Line, pe.Unwrap())
	}
	fmt.Println(mayFail(false) == nil, mayFail(true) == nil)
	_, err = parseAll([]string{"7"})
	fmt.Println(err == nil)
}
