package main

import "fmt"

type Opts struct {
	Name  *string
	Limit *int
}

func main() {
	p := new(42)
	fmt.Println(*p)
	o := Opts{Name: new("ferry"), Limit: new(10 * 2)}
	fmt.Println(*o.Name, *o.Limit)
	q := new(int)
	fmt.Println(*q)
}
