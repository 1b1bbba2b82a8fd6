package widgets

import (
	"fmt"
	"sync"
	"time"
)

// ProgressInterval is the least time between two updates a Progress or
// JobMonitor sends (10 per second): a loop may report every step, and the
// frontend still gets a steady, bounded stream.
const ProgressInterval = 100 * time.Millisecond

// Progress is a progress bar with a count, rate and ETA for long loops:
//
//	p := widgets.NewProgress(len(files), "load")
//	for _, f := range files { load(f); p.Add(1) }
//	p.Done()
//
// Add and Set may be called from any goroutine and as often as wanted:
// the widgets are updated at most every ProgressInterval, and the last
// value is always sent.
type Progress struct {
	*Box
	bar   *IntProgress
	label *Label

	mu      sync.Mutex
	total   int
	n       int
	start   time.Time
	last    time.Time
	timer   *time.Timer
	pending bool
	done    bool
}

// NewProgress displays a progress bar for total steps described by description.
func NewProgress(total int, description string) *Progress {
	p := &Progress{total: max(total, 0), start: time.Now()}
	p.bar = NewIntProgress(0, Max(float64(max(total, 1))), Description(description))
	p.label = NewLabel(fmt.Sprintf("0/%d", total))
	p.Box = NewHBox(p.bar, p.label)
	Display(p.Box)
	return p
}

// Add advances the bar by n steps.
func (p *Progress) Add(n int) {
	p.mu.Lock()
	p.n += n
	p.mu.Unlock()
	p.changed()
}

// Set sets the number of steps done.
func (p *Progress) Set(n int) {
	p.mu.Lock()
	p.n = n
	p.mu.Unlock()
	p.changed()
}

// N returns the number of steps done.
func (p *Progress) N() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// changed sends now if the interval has passed, else schedules a send.
func (p *Progress) changed() {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	wait := ProgressInterval - time.Since(p.last)
	if wait > 0 {
		if !p.pending {
			p.pending = true
			p.timer = time.AfterFunc(wait, p.flush)
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.flush()
}

// flush sends the current count.
func (p *Progress) flush() {
	p.mu.Lock()
	p.pending = false
	p.last = time.Now()
	n, total, elapsed := p.n, p.total, time.Since(p.start)
	p.mu.Unlock()
	p.bar.SetValue(min(n, max(total, 1)))
	p.label.SetValue(progressText(n, total, elapsed))
}

// Done sends the final count and marks the bar successful.
func (p *Progress) Done() {
	p.finish("success")
}

// Fail sends the final count and marks the bar failed.
func (p *Progress) Fail() {
	p.finish("danger")
}

func (p *Progress) finish(style string) {
	p.mu.Lock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.done = true
	p.mu.Unlock()
	p.flush()
	p.bar.SetBarStyle(style)
}

func progressText(n, total int, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	text := fmt.Sprintf("%d/%d [%s", n, total, fmtDuration(elapsed))
	if rate > 0 && total > n {
		text += "<" + fmtDuration(time.Duration(float64(total-n)/rate*float64(time.Second)))
	}
	return text + fmt.Sprintf(", %.3g it/s]", rate)
}

func fmtDuration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}
