package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

func main() {
	var buf bytes.Buffer
	buf.WriteString("hello ")
	buf.WriteByte('w')
	buf.Write([]byte("orld"))
	fmt.Fprintf(&buf, " %d", 42)
	fmt.Println(buf.String(), buf.Len())
	line, err := buf.ReadString(' ')
	fmt.Printf("%q %v %q\n", line, err, buf.String())
	sc := bufio.NewScanner(strings.NewReader("l1\nl2\n\nl4"))
	for sc.Scan() {
		fmt.Printf("[%s]", sc.Text())
	}
	fmt.Println()
	ws := bufio.NewScanner(strings.NewReader("the quick  brown fox"))
	ws.Split(bufio.ScanWords)
	n := 0
	for ws.Scan() {
		n++
	}
	fmt.Println(n)
	fmt.Println(bytes.Equal([]byte("a"), []byte("a")), bytes.HasPrefix([]byte("abc"), []byte("ab")))
	fields := bytes.Fields([]byte(" x y "))
	fmt.Println(len(fields), string(bytes.Join(fields, []byte("-"))))
}
