package main

import "fmt"

type Shape interface{ Area() float64 }
type Sq struct{ S float64 }

func (s Sq) Area() float64 { return s.S * s.S }

func describe(x any) string {
	switch v := x.(type) {
	case nil:
		return "nil"
	case int, int64:
		return fmt.Sprintf("integer %v", v)
	case string:
		return "string of len " + fmt.Sprint(len(v))
	case []int:
		return fmt.Sprint("slice ", len(v))
	case Shape:
		return fmt.Sprintf("shape %.1f", v.Area())
	case error:
		return "error " + v.Error()
	default:
		return fmt.Sprintf("other %T", v)
	}
}

func main() {
	for _, x := range []any{nil, 1, int64(2), "abc", []int{1, 2}, Sq{3}, fmt.Errorf("e"), 2.5} {
		fmt.Println(describe(x))
	}
}
