package widgets

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ferryml/ferry/display"
)

// Dashboard shows work made of many parts, such as a tuning study: a
// header with a status badge, a progress bar, buttons, a table and charts
// (any displayable values: Vega-Lite charts render natively). Set may be
// called from any goroutine as often as wanted: the widgets are updated
// at most every ProgressInterval, and the last state is always shown.
type Dashboard struct {
	*Box
	header  *HTML
	bar     *FloatProgress
	buttons *Box
	table   *HTML
	charts  *Output

	throttle
	mu    sync.Mutex
	state DashboardState
}

// DashboardState is what a Dashboard shows.
type DashboardState struct {
	Title  string
	Status string // shown as a colored badge: Running, Succeeded, Failed, Stopped, ...
	// Done out of Total fills the progress bar.
	Done, Total float64
	Table       display.Table
	Charts      []any
}

// NewDashboard makes an empty dashboard; display it with Display.
func NewDashboard() *Dashboard {
	d := &Dashboard{}
	d.header = NewHTML("")
	d.bar = NewFloatProgress(0, Max(1), Width("100%"))
	d.buttons = NewHBox()
	d.table = NewHTML("")
	d.charts = NewOutput()
	d.Box = NewVBox(d.header, d.bar, d.buttons, d.charts, d.table)
	d.throttle.render = d.render
	return d
}

// AddButton adds a button that calls fn when clicked.
func (d *Dashboard) AddButton(label string, fn func()) *Button {
	b := NewButton(label)
	b.OnClick(func(*Button) { fn() })
	d.buttons.SetChildren(append(d.buttons.Children(), b)...)
	return b
}

// Set shows st (within ProgressInterval).
func (d *Dashboard) Set(st DashboardState) {
	d.mu.Lock()
	d.state = st
	d.mu.Unlock()
	d.changed()
}

// Flush shows the last state now.
func (d *Dashboard) Flush() { d.flush() }

// State returns the last state set.
func (d *Dashboard) State() DashboardState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

func (d *Dashboard) render() {
	st := d.State()
	c, ok := statusColors[strings.ToLower(st.Status)]
	if !ok {
		c = [2]string{"#616161", ""}
	}
	d.header.SetValue(fmt.Sprintf(`<b>%s</b> <span style="background:%s;color:white;border-radius:4px;padding:1px 6px">%s</span>`, htmlEscape(st.Title), c[0], htmlEscape(st.Status)))
	d.bar.SetBarStyle(c[1])
	frac := 0.0
	if st.Total > 0 {
		frac = min(max(st.Done/st.Total, 0), 1)
	}
	d.bar.SetValue(frac)
	if len(st.Table.Columns) > 0 {
		d.table.SetValue(`<div style="max-height:24em;overflow:auto">` + st.Table.HTML() + `</div>`)
	} else {
		d.table.SetValue("")
	}
	d.charts.Replace(st.Charts...)
}

// throttle calls render at most every ProgressInterval, and once more
// after the last change.
type throttle struct {
	render func()

	mu    sync.Mutex
	dirty bool
	timer *time.Timer
	last  time.Time
}

func (t *throttle) changed() {
	t.mu.Lock()
	wait := ProgressInterval - time.Since(t.last)
	if wait > 0 {
		if !t.dirty {
			t.dirty = true
			t.timer = time.AfterFunc(wait, t.fire)
		}
		t.mu.Unlock()
		return
	}
	t.last = time.Now()
	t.mu.Unlock()
	t.render()
}

func (t *throttle) fire() {
	t.mu.Lock()
	t.dirty = false
	t.last = time.Now()
	t.mu.Unlock()
	t.render()
}

func (t *throttle) flush() {
	t.mu.Lock()
	if t.timer != nil {
		t.timer.Stop()
	}
	t.dirty = false
	t.last = time.Now()
	t.mu.Unlock()
	t.render()
}
