package main

import (
	"fmt"
	"strconv"
	"strings"
)

type Stringer interface{ String() string }

type ID int

func (i ID) String() string { return "#" + strconv.Itoa(int(i)) }

type Name string

func (n Name) String() string { return strings.ToUpper(string(n)) }

func JoinAll[T Stringer](xs []T, sep string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.String()
	}
	return strings.Join(parts, sep)
}

type Numeric interface {
	~int | ~float64
	String() string
}

func Describe[T Numeric](x T) string { return x.String() + "=" + fmt.Sprint(x*2) }

func main() {
	fmt.Println(JoinAll([]ID{1, 2, 3}, ","))
	fmt.Println(JoinAll([]Name{"a", "b"}, " "))
	fmt.Println(Describe(ID(21)))
}
