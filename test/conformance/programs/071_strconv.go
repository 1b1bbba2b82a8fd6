package main

import (
	"fmt"
	"strconv"
)

func main() {
	n, err := strconv.Atoi("123")
	fmt.Println(n, err)
	_, err = strconv.Atoi("12a")
	fmt.Println(err)
	i, _ := strconv.ParseInt("-ff", 16, 64)
	u, _ := strconv.ParseUint("777", 8, 32)
	f, _ := strconv.ParseFloat("3.25", 64)
	b, _ := strconv.ParseBool("true")
	fmt.Println(i, u, f, b)
	fmt.Println(strconv.Itoa(-45), strconv.FormatInt(255, 2), strconv.FormatFloat(1.5, 'f', 3, 64), strconv.FormatFloat(1234.5678, 'e', 2, 64))
	fmt.Println(strconv.Quote("hi\n\"there\""), strconv.QuoteRune('☺'))
	s, err := strconv.Unquote(`"a\tb"`)
	fmt.Printf("%q %v\n", s, err)
	buf := strconv.AppendInt([]byte("n="), 42, 10)
	fmt.Println(string(buf))
	_, err = strconv.ParseInt("99999999999999999999", 10, 64)
	fmt.Println(err)
}
