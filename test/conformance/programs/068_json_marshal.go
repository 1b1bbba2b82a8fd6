package main

import (
	"encoding/json"
	"fmt"
)

type Address struct {
	City string `json:"city"`
	Zip  string `json:"zip,omitempty"`
}

type Person struct {
	Name    string            `json:"name"`
	Age     int               `json:"age"`
	Email   string            `json:"email,omitempty"`
	Tags    []string          `json:"tags"`
	Addr    *Address          `json:"address,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Secret  string            `json:"-"`
	private int
}

func main() {
	p := Person{Name: "Ann", Age: 30, Tags: []string{"a", "b"}, Addr: &Address{City: "Oslo"}, Secret: "x"}
	b, err := json.Marshal(p)
	fmt.Println(string(b), err)
	b, _ = json.MarshalIndent(map[string]any{"b": 1, "a": []int{1, 2}}, "", "  ")
	fmt.Println(string(b))
	q := Person{Name: "Bob", Meta: map[string]string{"z": "1", "y": "2"}}
	b, _ = json.Marshal(q)
	fmt.Println(string(b))
}
