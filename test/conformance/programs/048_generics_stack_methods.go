package main

import "fmt"

type Stack[T any] struct {
	items []T
}

func (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }

func (s *Stack[T]) Pop() (T, bool) {
	var zero T
	if len(s.items) == 0 {
		return zero, false
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, true
}

func (s Stack[T]) Len() int { return len(s.items) }

func NewStack[T any](vs ...T) *Stack[T] {
	s := &Stack[T]{}
	for _, v := range vs {
		s.Push(v)
	}
	return s
}

func main() {
	s := NewStack(1, 2, 3)
	s.Push(4)
	fmt.Println(s.Len())
	for {
		v, ok := s.Pop()
		if !ok {
			break
		}
		fmt.Print(v, " ")
	}
	fmt.Println()
	var ss Stack[string]
	ss.Push("x")
	v, ok := ss.Pop()
	fmt.Println(v, ok)
	v, ok = ss.Pop()
	fmt.Printf("%q %v\n", v, ok)
}
