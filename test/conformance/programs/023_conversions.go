package main

import "fmt"

type MyInt int

func main() {
	f := 3.99
	fmt.Println(int(f), int(-f))
	var i8 int8 = 127
	i8++
	fmt.Println(i8)
	var u8 uint8 = 200
	fmt.Println(u8+100, int(u8)+100)
	fmt.Println(uint32(1<<32-1), int32(-1), uint16(70000%65536))
	x := -1
	fmt.Println(uint8(x))
	fmt.Println(string(rune(65)), []byte("hi"), []rune("hé"))
	fmt.Println(float32(0.1) == 0.1, float64(float32(0.5)))
	m := MyInt(5)
	n := int(m) * 2
	fmt.Printf("%T %v %T %v\n", m, m, n, n)
	b := []byte{104, 105}
	fmt.Println(string(b))
	fmt.Println(int64(1)<<40, float64(7)/2, 7/2)
}
