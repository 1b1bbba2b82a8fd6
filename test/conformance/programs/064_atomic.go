package main

import (
	"fmt"
	"sync"
	"sync/atomic"
)

func main() {
	var n atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.Add(5)
		}()
	}
	wg.Wait()
	fmt.Println(n.Load())
	fmt.Println(n.CompareAndSwap(100, 1), n.Load())
	fmt.Println(n.Swap(7), n.Load())
	var b atomic.Bool
	b.Store(true)
	fmt.Println(b.Load())
	var old int32
	atomic.AddInt32(&old, 3)
	fmt.Println(atomic.LoadInt32(&old))
	var v atomic.Value
	v.Store("hello")
	fmt.Println(v.Load().(string))
	var p atomic.Pointer[string]
	s := "ptr"
	p.Store(&s)
	fmt.Println(*p.Load())
}
