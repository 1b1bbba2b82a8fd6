package main

import (
	"fmt"
	"strings"
)

func table(rows [][]string) string {
	var b strings.Builder
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				b.WriteString(" | ")
			}
			fmt.Fprintf(&b, "%-*s", widths[i], c)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func main() {
	fmt.Print(table([][]string{{"name", "qty"}, {"apple", "3"}, {"kiwi", "12"}}))
	var sb strings.Builder
	for i := 0; i < 3; i++ {
		sb.WriteRune('α' + rune(i))
	}
	fmt.Println(sb.String(), sb.Len())
	fmt.Printf("|%5s|%-5s|%05d|%x|%X|%o|%b|\n", "ab", "cd", 42, 255, 255, 8, 5)
	fmt.Printf("|%8.3f|%-8.2f|%e|%g|\n", 3.14159, 2.5, 1234.5678, 0.000012)
}
