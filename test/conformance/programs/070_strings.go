package main

import (
	"fmt"
	"strings"
	"unicode"
)

func main() {
	s := "  Hello, World! Hello, Go!  "
	t := strings.TrimSpace(s)
	fmt.Printf("%q\n", t)
	fmt.Println(strings.Count(t, "Hello"), strings.Index(t, "World"), strings.LastIndex(t, "Hello"))
	fmt.Println(strings.ToUpper(t), strings.ToLower(t))
	fmt.Println(strings.ReplaceAll(t, "Hello", "Bye"), strings.Replace(t, "l", "L", 2))
	fmt.Printf("%q\n", strings.Split("a,b,,c", ","))
	fmt.Printf("%q\n", strings.Fields(" a  b c "))
	fmt.Println(strings.HasPrefix(t, "Hell"), strings.HasSuffix(t, "Go!"), strings.Contains(t, "World"))
	fmt.Println(strings.Repeat("ab", 3), strings.Title("x"), strings.TrimLeft("xxabc", "x"))
	fmt.Println(strings.Map(func(r rune) rune {
		if unicode.IsUpper(r) {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, "AbC"))
	before, after, found := strings.Cut("key=value", "=")
	fmt.Println(before, after, found)
	fmt.Println(strings.EqualFold("Go", "GO"), strings.TrimFunc("123abc456", unicode.IsDigit))
	r := strings.NewReplacer("<", "&lt;", ">", "&gt;")
	fmt.Println(r.Replace("<b>"))
}
