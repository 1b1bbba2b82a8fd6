package main

import "fmt"

func main() {
	a, b := 0b1100, 0b1010
	fmt.Println(a&b, a|b, a^b, a&^b, ^a)
	fmt.Printf("%04b %04b %04b\n", a&b, a|b, a^b)
	x := 1
	x <<= 10
	fmt.Println(x, x>>3, -16>>2)
	var u uint8 = 0xF0
	fmt.Println(^u, u>>4, u<<1)
	flags := 0
	flags |= 1 << 3
	flags |= 1 << 0
	fmt.Println(flags, flags&(1<<3) != 0, flags&(1<<2) != 0)
	fmt.Println(0x1F, 0o17, 1_000_000, 'a')
	n := uint(3)
	fmt.Println(1<<n, int64(1)<<62)
}
