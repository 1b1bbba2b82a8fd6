package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

type upper struct{ r io.Reader }

func (u upper) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	copy(p, bytes.ToUpper(p[:n]))
	return n, err
}

type counter struct {
	n     int
	lines int
}

func (c *counter) Write(p []byte) (int, error) {
	c.n += len(p)
	c.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

type ReadWriter interface {
	io.Reader
	io.Writer
}

type buf struct{ data []byte }

func (b *buf) Write(p []byte) (int, error) { b.data = append(b.data, p...); return len(p), nil }
func (b *buf) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func main() {
	var sb strings.Builder
	n, err := io.Copy(&sb, upper{strings.NewReader("hello\nworld\n")})
	fmt.Println(n, err, sb.String())
	c := &counter{}
	fmt.Fprintf(c, "a\nb\nc\n")
	io.WriteString(c, "xyz")
	fmt.Println(c.n, c.lines)
	var rw ReadWriter = &buf{}
	fmt.Fprint(rw, "round trip")
	all, _ := io.ReadAll(rw)
	fmt.Println(string(all))
	w := io.MultiWriter(c, &sb)
	fmt.Fprint(w, "!")
	fmt.Println(c.n, sb.Len())
}
