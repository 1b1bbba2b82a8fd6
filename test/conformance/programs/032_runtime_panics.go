package main

import (
	"fmt"
	"strings"
)

func try(name string, f func()) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		msg := fmt.Sprint(r)
		if ok {
			msg = err.Error()
		}
		// Keep only the stable part of the runtime message.
		if i := strings.Index(msg, "["); i >= 0 {
			msg = msg[:i]
		}
		fmt.Printf("%s: is error %v: %s\n", name, ok, strings.TrimSpace(msg))
	}()
	f()
}

func main() {
	try("index", func() {
		xs := []int{1}
		i := 5
		_ = xs[i]
	})
	try("nil map", func() {
		var m map[string]int
		m["a"] = 1
	})
	try("div", func() {
		a, b := 1, 0
		fmt.Println(a / b)
	})
	try("nil pointer", func() {
		var p *struct{ X int }
		fmt.Println(p.X)
	})
	try("assert", func() {
		var x any = "s"
		_ = x.(int)
	})
}
