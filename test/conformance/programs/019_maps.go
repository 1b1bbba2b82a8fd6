package main

import (
	"fmt"
	"sort"
)

func main() {
	m := map[string][]int{}
	m["a"] = append(m["a"], 1)
	m["a"] = append(m["a"], 2)
	m["b"] = append(m["b"], 3)
	fmt.Println(m)
	v, ok := m["c"]
	fmt.Println(v, ok, len(v))
	delete(m, "a")
	fmt.Println(len(m))
	counts := make(map[rune]int)
	for _, r := range "mississippi" {
		counts[r]++
	}
	keys := []string{}
	for r := range counts {
		keys = append(keys, string(r))
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Print(k, counts[rune(k[0])], " ")
	}
	fmt.Println()
	var nilMap map[string]int
	fmt.Println(nilMap["x"], len(nilMap))
	nested := map[string]map[string]int{"x": {"y": 1}}
	nested["x"]["z"] = 2
	fmt.Println(nested)
}
