package main

import "fmt"

type Account struct {
	Deposit func(int)
	Balance func() int
}

func newAccount() Account {
	bal := 0
	return Account{
		Deposit: func(n int) { bal += n },
		Balance: func() int { return bal },
	}
}

func memo(f func(int) int) func(int) int {
	cache := map[int]int{}
	return func(n int) int {
		if v, ok := cache[n]; ok {
			return v
		}
		v := f(n)
		cache[n] = v
		return v
	}
}

func main() {
	a := newAccount()
	a.Deposit(10)
	a.Deposit(5)
	b := newAccount()
	b.Deposit(1)
	fmt.Println(a.Balance(), b.Balance())
	calls := 0
	sq := memo(func(n int) int { calls++; return n * n })
	fmt.Println(sq(4), sq(4), sq(5), calls)
	x := 0
	incs := []func(){}
	for range 3 {
		incs = append(incs, func() { x++ })
	}
	for _, f := range incs {
		f()
	}
	fmt.Println(x)
}
