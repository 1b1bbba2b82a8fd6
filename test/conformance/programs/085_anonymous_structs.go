package main

import (
	"encoding/json"
	"fmt"
)

func main() {
	pt := struct {
		X, Y int
	}{1, 2}
	fmt.Println(pt, pt.X)
	tests := []struct {
		in   string
		want int
	}{
		{"a", 1},
		{"abc", 3},
	}
	for _, tc := range tests {
		fmt.Println(tc.in, len(tc.in) == tc.want)
	}
	var cfg struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	json.Unmarshal([]byte(`{"name":"z","n":4}`), &cfg)
	fmt.Printf("%+v\n", cfg)
	type local struct{ A int }
	l := local{5}
	fmt.Printf("%v %+v\n", l, l)
	m := map[string]struct{}{"x": {}}
	_, ok := m["x"]
	fmt.Println(ok)
}
