package main

import (
	"fmt"
	"strings"
)

type Celsius float64
type Fahrenheit float64

func (c Celsius) ToF() Fahrenheit { return Fahrenheit(c*9/5 + 32) }
func (c Celsius) String() string  { return fmt.Sprintf("%.1f°C", float64(c)) }

type Words []string

func (w Words) Join() string  { return strings.Join(w, "+") }
func (w *Words) Add(s string) { *w = append(*w, s) }

type Counter map[string]int

func (c Counter) Inc(k string) { c[k]++ }

func main() {
	c := Celsius(100)
	fmt.Println(c, c.ToF())
	fmt.Printf("%.1f\n", float64(Celsius(37).ToF()))
	var w Words
	w.Add("a")
	w.Add("b")
	fmt.Println(w.Join(), len(w))
	cnt := Counter{}
	cnt.Inc("x")
	cnt.Inc("x")
	fmt.Println(cnt["x"])
}
