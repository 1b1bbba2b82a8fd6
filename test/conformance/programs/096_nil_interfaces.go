package main

import (
	"errors"
	"fmt"
)

type MyErr struct{}

func (*MyErr) Error() string { return "my err" }

func returnsTypedNil() error {
	var p *MyErr
	return p
}

func returnsNil() error { return nil }

type T struct{}

func (t *T) Hello() string {
	if t == nil {
		return "nil receiver ok"
	}
	return "hello"
}

func main() {
	e1 := returnsTypedNil()
	e2 := returnsNil()
	fmt.Println(e1 == nil, e2 == nil)
	fmt.Printf("%T %v\n", e1, e1 == (*MyErr)(nil))
	var t *T
	fmt.Println(t.Hello())
	var x any
	fmt.Println(x == nil, x)
	x = (*T)(nil)
	fmt.Println(x == nil)
	var err error = &MyErr{}
	var target *MyErr
	fmt.Println(errors.As(err, &target), target != nil)
	var s []int
	var m map[string]int
	fmt.Println(s == nil, m == nil, len(s), len(m))
}
