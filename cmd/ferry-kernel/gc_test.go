package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCFloodsOffWithGOGC(t *testing.T) {
	t.Setenv("GOGC", "50")
	if newGCFloods(1<<20).hook() != nil {
		t.Error("a hook while GOGC is set; want none")
	}
}

// While flooding, the GC percentage gives the heap headroom, recomputed
// after each collection; afterwards it is 100 again.
func TestGCFloodsHeadroom(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	g := newGCFloods(256 << 20)
	h := g.hook()
	runtime.GC() // a live heap to measure
	h(true)
	pct := debug.SetGCPercent(-1)
	debug.SetGCPercent(pct)
	if pct <= 100 {
		t.Errorf("GC percent %d while flooding, want more than 100 for a small heap", pct)
	}
	g.mu.Lock()
	before := g.adjusted
	g.mu.Unlock()
	runtime.GC()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		g.mu.Lock()
		n := g.adjusted
		g.mu.Unlock()
		if n > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no adjustment after a collection while flooding")
		}
		runtime.GC() // finalizers run after the collection that follows
	}
	h(false)
	if pct := debug.SetGCPercent(100); pct != 100 {
		t.Errorf("GC percent %d after the flood, want 100", pct)
	}
	g.mu.Lock()
	before = g.adjusted
	g.mu.Unlock()
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.adjusted != before {
		t.Error("adjusted after the flood ended")
	}
}
