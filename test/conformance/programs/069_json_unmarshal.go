package main

import (
	"encoding/json"
	"fmt"
	"sort"
)

type Item struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Price float64  `json:"price"`
	Tags  []string `json:"tags"`
}

type Order struct {
	Items []Item `json:"items"`
	Note  string `json:"note"`
}

func main() {
	data := `{"items":[{"id":1,"name":"pen","price":1.5,"tags":["office"]},{"id":2,"name":"cup","price":3}],"note":"rush","extra":true}`
	var o Order
	err := json.Unmarshal([]byte(data), &o)
	fmt.Println(err, len(o.Items), o.Note)
	for _, it := range o.Items {
		fmt.Printf("%+v\n", it)
	}
	var generic map[string]any
	json.Unmarshal([]byte(data), &generic)
	keys := make([]string, 0)
	for k := range generic {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println(keys)
	items := generic["items"].([]any)
	fmt.Printf("%T %v\n", items[0].(map[string]any)["price"], items[0].(map[string]any)["price"])
	var bad Item
	err = json.Unmarshal([]byte(`{"id":"x"}`), &bad)
	fmt.Println(err != nil)
}
