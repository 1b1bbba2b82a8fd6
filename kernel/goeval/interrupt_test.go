package goeval

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferryml/ferry/kernel"
)

// evalCancelled runs code and cancels it after delay; it returns how long
// Eval took after the cancellation, and the error.
func evalCancelled(t *testing.T, te *testEval, code string, delay time.Duration) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var cancelled time.Time
	timer := time.AfterFunc(delay, func() { cancelled = time.Now(); cancel() })
	t.Cleanup(func() { timer.Stop() })
	_, err := te.Eval(ctx, code)
	return time.Since(cancelled), err
}

func TestInterrupt(t *testing.T) {
	skipUnderRace(t)
	tests := []struct {
		name      string
		code      string
		abandoned bool
	}{
		{"busy loop", "for {}", false},
		{"busy loop in func", "func spin() { for { } }\nspin()", false},
		{"channel receive", "<-make(chan int)", false},
		{"compiled sleep", "time.Sleep(time.Hour)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newEval(t)
			te.mustEval(t, `import "time"`)
			took, err := evalCancelled(t, te, tt.code, 50*time.Millisecond)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Eval error = %v, want one wrapping context.Canceled", err)
			}
			if took > 1500*time.Millisecond {
				t.Errorf("Eval returned %v after the cancellation, want < 1.5s", took)
			}
			var ee *kernel.ExecError
			if !errors.As(err, &ee) || ee.Name != "Interrupted" {
				t.Fatalf("Eval error = %#v, want a *kernel.ExecError named Interrupted", err)
			}
			if got := strings.Contains(ee.Value, "abandoned"); got != tt.abandoned {
				t.Errorf("Value = %q: mentions abandoned = %v, want %v", ee.Value, got, tt.abandoned)
			}
			var ie *InterruptError
			if errors.As(err, &ie) && ie.Abandoned != tt.abandoned {
				t.Errorf("Abandoned = %v, want %v", ie.Abandoned, tt.abandoned)
			}
			for i := 0; i < 2; i++ { // usable afterwards, twice
				if got := te.mustEval(t, "1+1"); got != "2" {
					t.Errorf("after interrupt, 1+1 = %q, want 2", got)
				}
			}
		})
	}
}

func TestInterruptCancelledBefore(t *testing.T) {
	te := newEval(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := te.Eval(ctx, "1+1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Eval with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestInterruptStopsEarlierGoroutines documents yaegi's behaviour: an
// interrupt also stops the goroutines started by earlier cells.
func TestInterruptStopsEarlierGoroutines(t *testing.T) {
	te := newEval(t)
	te.mustEval(t, "import (\"fmt\"; \"time\")")
	te.mustEval(t, "go func() { for { fmt.Print(\"t\"); time.Sleep(5 * time.Millisecond) } }()")
	time.Sleep(50 * time.Millisecond)
	if !strings.Contains(te.out.String(), "t") {
		t.Fatalf("goroutine printed nothing: %q", te.out.String())
	}
	evalCancelled(t, te, "for {}", 20*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	before := te.out.String()
	time.Sleep(100 * time.Millisecond)
	if after := te.out.String(); after != before {
		t.Errorf("goroutine of an earlier cell kept running after an interrupt: %q -> %q", before, after)
	}
}
