package main

import (
	"fmt"
	"reflect"
)

type Temp float64

type T struct {
	A int
	B string
	c bool
}

func (t T) Hello(name string) string { return "hello " + name }

func main() {
	vals := []any{1, "s", 2.5, []int{1}, map[string]int{}, T{}, &T{}, Temp(3)}
	for _, v := range vals {
		t := reflect.TypeOf(v)
		fmt.Println(t, t.Kind())
	}
	x := 3
	rv := reflect.ValueOf(&x).Elem()
	rv.SetInt(10)
	fmt.Println(x, rv.CanSet())
	t := T{1, "b", true}
	v := reflect.ValueOf(t)
	fmt.Println(v.NumField(), v.Field(0).Int(), v.Field(1).String())
	m := v.MethodByName("Hello")
	out := m.Call([]reflect.Value{reflect.ValueOf("bob")})
	fmt.Println(out[0].String(), reflect.TypeOf(t).NumMethod())
	fmt.Println(reflect.DeepEqual([]int{1, 2}, []int{1, 2}), reflect.DeepEqual(map[string]int{"a": 1}, map[string]int{"a": 2}))
}
