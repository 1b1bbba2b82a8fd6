package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// gcFloodHeadroom is the least the heap may grow between two collections
// while widget updates flood iopub: 256 MB, or a sixteenth of the machine's
// memory when that is less. A flood of 10,000 updates, with the requests
// answered meanwhile, allocates about 30 MB; the widgets benchmark's
// latencies were best with no collection during most floods.
func gcFloodHeadroom() uint64 {
	h := uint64(256 << 20)
	if total := totalMemory(); total > 0 && uint64(total)/16 < h {
		h = uint64(total) / 16
	}
	return h
}

// gcFloods gives the GC more headroom while widget updates flood iopub.
// While a loop sends updates as fast as it can, after each collection the
// GC percentage is set so that the heap may grow by headroom (or by the
// live heap, as GOGC=100 allows, when that is more) before the next one.
// The kernel's live heap is small (a few MB), so at GOGC=100 such a loop,
// with the cells being compiled meanwhile, starts a collection every few
// megabytes — several per second — and each one takes CPU time from the
// goroutine answering the next request (see the widgets benchmark in
// docs/benchmarks.md). When the flood ends, GOGC=100 is restored and the
// flood's garbage collected. GOGC in the environment turns this off.
type gcFloods struct {
	headroom uint64

	mu       sync.Mutex
	flooding bool
	armed    bool // a sentinel waits for the next collection
	adjusted int  // times adjust ran
	samples  []metrics.Sample
}

func newGCFloods(headroom uint64) *gcFloods {
	return &gcFloods{headroom: headroom, samples: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
}

// hook returns the kernel's OnCommFlood hook, nil when GOGC is set.
func (g *gcFloods) hook() func(bool) {
	if os.Getenv("GOGC") != "" {
		return nil
	}
	return g.flood
}

func (g *gcFloods) flood(flooding bool) {
	g.mu.Lock()
	g.flooding = flooding
	if flooding {
		g.adjust()
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	debug.SetGCPercent(100)
	// Collect the flood's garbage now that the goal is back, and return
	// it to the OS at once: the background scavenger would take tens of
	// seconds for a flood's hundreds of megabytes.
	debug.FreeOSMemory()
}

// adjust sets the GC percentage from the live heap the last collection
// found, and arms a sentinel to do it again after the next one. g.mu is
// held.
func (g *gcFloods) adjust() {
	g.adjusted++
	metrics.Read(g.samples)
	if g.samples[0].Value.Kind() == metrics.KindUint64 {
		pct := 100
		if live := g.samples[0].Value.Uint64(); live > 0 && live < g.headroom {
			pct = min(int(g.headroom*100/live), 10000)
		}
		debug.SetGCPercent(pct)
	}
	if !g.armed {
		g.armed = true
		// A finalizer runs after the collection that finds its object
		// unreachable: the next one.
		runtime.SetFinalizer(new(gcSentinel), func(*gcSentinel) { g.collected() })
	}
}

func (g *gcFloods) collected() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = false
	if g.flooding {
		g.adjust()
	}
}

// gcSentinel holds a pointer, so the allocator never batches it with other
// tiny objects (whose finalizers may never run).
type gcSentinel struct{ _ *int }
