package goeval

import (
	"strings"
	"testing"
	"time"
)

// TestGoroutinePanic checks that a panic in a goroutine started by a cell is
// reported on the cell's stderr instead of ending the process, and that go
// statements keep Go's semantics (arguments evaluated at the go statement).
func TestGoroutinePanic(t *testing.T) {
	te := newEval(t)
	te.mustEval(t, `import "fmt"`)
	te.mustEval(t, "func boom(x int) { panic(fmt.Sprint(\"boom\", x)) }\ntype T struct{ n int }\nfunc (t T) M() { panic(fmt.Sprint(\"method\", t.n)) }")
	for _, tc := range []struct {
		name, code, want string
	}{
		{"named func", "go boom(1)", "boom1"},
		{"func literal", "go func() { var m map[string]int; m[\"a\"] = 1 }()", "assignment to entry in nil map"},
		{"method value", "go T{2}.M()", "method2"},
		{"call argument", "func two() int { return 2 }\ngo boom(two())", "boom2"},
		{"inside a function", "func starter() { go boom(3) }\nstarter()", "boom3"},
		{"builtin", "go panic(\"builtin\")", "builtin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te.errOut.Reset()
			te.mustEval(t, tc.code)
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(te.errOut.String(), tc.want) {
				if time.Now().After(deadline) {
					t.Fatalf("stderr = %q, want a recovered panic mentioning %q", te.errOut.String(), tc.want)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if got := te.mustEval(t, "1+1"); got != "2" {
				t.Errorf("after the panic: 1+1 = %q, want 2", got)
			}
		})
	}

	t.Run("arguments evaluated at the go statement", func(t *testing.T) {
		skipUnderRace(t)
		te.mustEval(t, "ch := make(chan int, 1)\nx := 1\nfunc send(c chan int, v int) { c <- v }")
		te.mustEval(t, "go send(ch, x)\nx = 2")
		if got := te.mustEval(t, "<-ch"); got != "1" {
			t.Errorf("value sent: got %s, want 1 (x when the go statement ran)", got)
		}
		te.mustEval(t, "var e error\nres := make(chan bool, 1)\nfunc isNil(c chan bool, err error) { c <- err == nil }")
		te.mustEval(t, "go isNil(res, e)")
		if got := te.mustEval(t, "<-res"); got != "true" {
			t.Errorf("nil interface argument: got %s, want true", got)
		}
	})
}
