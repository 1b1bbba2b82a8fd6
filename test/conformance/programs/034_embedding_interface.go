package main

import (
	"fmt"
	"strings"
)

type Animal interface {
	Sound() string
	Name() string
}

type Dog struct{}

func (Dog) Sound() string { return "woof" }
func (Dog) Name() string  { return "dog" }

type Loud struct {
	Animal
}

func (l Loud) Sound() string { return strings.ToUpper(l.Animal.Sound()) + "!" }

type Logger interface{ Log(string) }
type prefixLogger struct{ p string }

func (l prefixLogger) Log(s string) { fmt.Println(l.p + s) }

type Service struct {
	Logger
	name string
}

func main() {
	var a Animal = Loud{Dog{}}
	fmt.Println(a.Name(), a.Sound())
	var b Animal = Dog{}
	fmt.Println(b.Name(), b.Sound())
	s := Service{prefixLogger{"[svc] "}, "x"}
	s.Log("started " + s.name)
}
