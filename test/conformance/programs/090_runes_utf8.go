package main

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func main() {
	s := "Hello, 世界!"
	fmt.Println(len(s), utf8.RuneCountInString(s))
	fmt.Println(reverse(s))
	r, size := utf8.DecodeRuneInString("世界")
	fmt.Printf("%c %d %U\n", r, size, r)
	buf := make([]byte, 4)
	n := utf8.EncodeRune(buf, '€')
	fmt.Println(buf[:n], n)
	fmt.Println(utf8.ValidString("ok"), utf8.ValidString("\xff"))
	letters, digits, spaces := 0, 0, 0
	for _, c := range "ab 12 ç" {
		switch {
		case unicode.IsLetter(c):
			letters++
		case unicode.IsDigit(c):
			digits++
		case unicode.IsSpace(c):
			spaces++
		}
	}
	fmt.Println(letters, digits, spaces)
	fmt.Println(string([]rune{0x48, 0x49}), s[7:10], s[0])
	for i, c := range "\xffa" {
		fmt.Println(i, c == utf8.RuneError)
	}
}
