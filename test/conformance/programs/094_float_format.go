package main

import "fmt"

func main() {
	fmt.Println(0.1+0.2, 1.0, 3.0/2, 1e21, 1e20, 1e-7, 100.0)
	var f32 float32 = 0.1
	fmt.Println(f32, float64(f32), f32*3)
	fmt.Printf("%v %.2f %6.1f %g %G %e\n", 2.0/3, 2.0/3, 2.0/3, 1e6, 1e-10, 123456.789)
	fmt.Printf("%.0f %.0f %.0f\n", 0.5, 1.5, 2.5)
	fmt.Println(complex(1, 2), real(complex(3, 4)), imag(2i))
	c := (1 + 2i) * (3 - 1i)
	fmt.Println(c)
	fmt.Printf("%.2f\n", c)
	fmt.Printf("%08.3f|%+.2f|% .1f\n", 3.14159, 2.0, 5.55)
}
