package main

import (
	"errors"
	"fmt"
)

type TempErr struct{ N int }

func (t TempErr) Error() string   { return fmt.Sprintf("temp %d", t.N) }
func (t TempErr) Temporary() bool { return true }

func main() {
	base := TempErr{3}
	e1 := fmt.Errorf("layer1: %w", base)
	e2 := fmt.Errorf("layer2: %w", e1)
	fmt.Println(e2)
	var te TempErr
	fmt.Println(errors.As(e2, &te), te.N)
	var tmp interface{ Temporary() bool }
	fmt.Println(errors.As(e2, &tmp), tmp.Temporary())
	multi := fmt.Errorf("both: %w and %w", errors.New("a"), base)
	fmt.Println(multi, errors.Is(multi, base))
	joined := errors.Join(errors.New("x"), nil, errors.New("y"))
	fmt.Println(joined)
	fmt.Println(errors.Is(fmt.Errorf("no wrap: %v", base), base))
}
