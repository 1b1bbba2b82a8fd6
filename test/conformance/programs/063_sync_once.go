package main

import (
	"fmt"
	"sync"
)

var (
	once   sync.Once
	config map[string]string
	loads  int
)

func getConfig() map[string]string {
	once.Do(func() {
		loads++
		config = map[string]string{"env": "test"}
	})
	return config
}

func main() {
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = getConfig()
		}()
	}
	wg.Wait()
	fmt.Println(getConfig()["env"], loads)
	v := sync.OnceValue(func() int { loads++; return 42 })
	fmt.Println(v(), v(), loads)
	var m sync.Map
	m.Store("a", 1)
	x, ok := m.Load("a")
	fmt.Println(x, ok)
}
