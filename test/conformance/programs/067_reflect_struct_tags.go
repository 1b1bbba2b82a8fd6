package main

import (
	"fmt"
	"reflect"
)

type Config struct {
	Host    string `env:"HOST" default:"localhost"`
	Port    int    `env:"PORT" default:"8080"`
	Debug   bool   `env:"DEBUG"`
	private int
}

func main() {
	t := reflect.TypeOf(Config{})
	fmt.Println(t.Name(), t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		env, ok := f.Tag.Lookup("env")
		fmt.Printf("%s %s env=%q(%v) default=%q exported=%v\n", f.Name, f.Type, env, ok, f.Tag.Get("default"), f.IsExported())
	}
	c := Config{}
	v := reflect.ValueOf(&c).Elem()
	v.FieldByName("Host").SetString("example.org")
	v.FieldByName("Port").SetInt(443)
	fmt.Printf("%+v\n", c)
}
