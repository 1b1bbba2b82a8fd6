package main

import (
	"errors"
	"fmt"
)

func safe(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint("recovered: ", r)
		}
	}()
	f()
	return "ok"
}

type MyErr struct{ Code int }

func (e *MyErr) Error() string { return fmt.Sprintf("code %d", e.Code) }

func main() {
	fmt.Println(safe(func() {}))
	fmt.Println(safe(func() { panic("boom") }))
	fmt.Println(safe(func() { panic(42) }))
	fmt.Println(safe(func() { panic(errors.New("an error")) }))
	func() {
		defer func() {
			r := recover()
			if e, ok := r.(*MyErr); ok {
				fmt.Println("typed panic", e.Code)
			}
		}()
		panic(&MyErr{7})
	}()
	fmt.Println(recover())
	func() {
		defer fmt.Println("deferred runs during panic")
		defer func() { fmt.Println("recover:", recover()) }()
		panic("second")
	}()
	fmt.Println("end")
}
