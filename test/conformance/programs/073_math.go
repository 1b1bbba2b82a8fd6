package main

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
)

func main() {
	fmt.Printf("%.4f %.4f %.4f\n", math.Sqrt(2), math.Pow(2, 0.5), math.Cbrt(27))
	fmt.Println(math.Floor(-2.5), math.Ceil(-2.5), math.Round(2.5), math.Trunc(-2.7), math.Abs(-3))
	fmt.Println(math.Max(3, 7), math.Min(3, 7), math.Mod(7, 3), math.Hypot(3, 4))
	fmt.Println(math.Inf(1), math.Inf(-1), math.IsNaN(math.NaN()), -math.MaxFloat64 < 0)
	fmt.Printf("%.6f %.6f %.6f\n", math.Sin(math.Pi/6), math.Log(math.E), math.Exp(1))
	fmt.Println(math.MaxInt32, math.MinInt64, math.MaxUint16)
	fmt.Println(bits.OnesCount(255), bits.LeadingZeros64(1), bits.Len(8))
	a := new(big.Int)
	a.Exp(big.NewInt(2), big.NewInt(100), nil)
	fmt.Println(a)
	r := big.NewRat(1, 3)
	r.Add(r, big.NewRat(1, 6))
	fmt.Println(r)
}
