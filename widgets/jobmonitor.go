package widgets

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// JobMonitor shows a running job: its name and status, a progress bar, a
// live chart of its metrics and the tail of its log. Its methods may be
// called from any goroutine, as often as wanted: the widgets are updated
// at most every ProgressInterval.
type JobMonitor struct {
	*Box
	header *HTML
	bar    *FloatProgress
	chart  *HTML
	log    *HTML

	mu       sync.Mutex
	name     string
	status   string
	progress float64
	lines    []string
	metrics  map[string][]point
	dirty    bool
	timer    *time.Timer
	last     time.Time
	maxLines int
}

type point struct{ step, value float64 }

// JobLogLines is how many log lines a JobMonitor keeps and shows.
const JobLogLines = 20

// maxPoints bounds the points kept per metric (older ones are thinned).
const maxPoints = 500

// NewJobMonitor makes a monitor for the job named name; display it with
// Display.
func NewJobMonitor(name string) *JobMonitor {
	j := &JobMonitor{name: name, status: "Pending", metrics: map[string][]point{}, maxLines: JobLogLines}
	j.header = NewHTML("")
	j.bar = NewFloatProgress(0, Max(1), Width("100%"))
	j.chart = NewHTML("")
	j.log = NewHTML("")
	j.Box = NewVBox(j.header, j.bar, j.chart, j.log)
	j.render()
	return j
}

// SetStatus sets the job's status, like "Running", "Succeeded" or "Failed".
func (j *JobMonitor) SetStatus(status string) {
	j.mu.Lock()
	j.status = status
	j.mu.Unlock()
	j.changed()
}

// SetProgress sets the fraction done: done out of total.
func (j *JobMonitor) SetProgress(done, total float64) {
	frac := 0.0
	if total > 0 {
		frac = math.Max(0, math.Min(1, done/total))
	}
	j.mu.Lock()
	j.progress = frac
	j.mu.Unlock()
	j.changed()
}

// Log appends lines to the log tail (a line with newlines is split).
func (j *JobMonitor) Log(lines ...string) {
	j.mu.Lock()
	for _, l := range lines {
		j.lines = append(j.lines, strings.Split(strings.TrimRight(l, "\n"), "\n")...)
	}
	if len(j.lines) > j.maxLines {
		j.lines = append([]string(nil), j.lines[len(j.lines)-j.maxLines:]...)
	}
	j.mu.Unlock()
	j.changed()
}

// Metric records value of metric name at step (an epoch, an iteration).
func (j *JobMonitor) Metric(name string, step, value float64) {
	j.mu.Lock()
	ps := append(j.metrics[name], point{step, value})
	if len(ps) > maxPoints {
		// Keep every other point of the older half.
		half := len(ps) / 2
		thin := make([]point, 0, maxPoints)
		for i := 0; i < half; i += 2 {
			thin = append(thin, ps[i])
		}
		ps = append(thin, ps[half:]...)
	}
	j.metrics[name] = ps
	j.mu.Unlock()
	j.changed()
}

// changed renders now or after the rest of the interval.
func (j *JobMonitor) changed() {
	j.mu.Lock()
	wait := ProgressInterval - time.Since(j.last)
	if wait > 0 {
		if !j.dirty {
			j.dirty = true
			j.timer = time.AfterFunc(wait, j.render)
		}
		j.mu.Unlock()
		return
	}
	j.mu.Unlock()
	j.render()
}

// Flush renders pending changes now.
func (j *JobMonitor) Flush() {
	j.mu.Lock()
	if j.timer != nil {
		j.timer.Stop()
	}
	j.mu.Unlock()
	j.render()
}

// statusColors maps statuses to badge colors and bar styles.
var statusColors = map[string][2]string{
	"pending": {"#9e9e9e", "info"}, "running": {"#1976d2", "info"}, "succeeded": {"#388e3c", "success"},
	"failed": {"#d32f2f", "danger"}, "stopped": {"#f57c00", "warning"},
}

func (j *JobMonitor) render() {
	j.mu.Lock()
	j.dirty = false
	j.last = time.Now()
	name, status, progress := j.name, j.status, j.progress
	lines := append([]string(nil), j.lines...)
	metrics := make(map[string][]point, len(j.metrics))
	for k, v := range j.metrics {
		metrics[k] = append([]point(nil), v...)
	}
	j.mu.Unlock()
	c, ok := statusColors[strings.ToLower(status)]
	if !ok {
		c = [2]string{"#616161", ""}
	}
	j.header.SetValue(fmt.Sprintf(`<b>%s</b> <span style="background:%s;color:white;border-radius:4px;padding:1px 6px">%s</span>`, htmlEscape(name), c[0], htmlEscape(status)))
	j.bar.SetBarStyle(c[1])
	j.bar.SetValue(progress)
	j.chart.SetValue(metricsSVG(metrics))
	if len(lines) == 0 {
		j.log.SetValue("")
	} else {
		j.log.SetValue(`<pre style="max-height:20em;overflow:auto;margin:0;font-size:85%">` + htmlEscape(strings.Join(lines, "\n")) + `</pre>`)
	}
}

// metricsSVG draws each metric as a line in its own small chart.
func metricsSVG(metrics map[string][]point) string {
	names := make([]string, 0, len(metrics))
	for n := range metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	const w, h, pad = 260.0, 90.0, 4.0
	for _, n := range names {
		ps := metrics[n]
		if len(ps) == 0 {
			continue
		}
		minX, maxX, minY, maxY := ps[0].step, ps[0].step, ps[0].value, ps[0].value
		for _, p := range ps {
			minX, maxX = math.Min(minX, p.step), math.Max(maxX, p.step)
			minY, maxY = math.Min(minY, p.value), math.Max(maxY, p.value)
		}
		sx, sy := (w-2*pad)/math.Max(maxX-minX, 1e-12), (h-2*pad)/math.Max(maxY-minY, 1e-12)
		var pts []string
		for _, p := range ps {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", pad+(p.step-minX)*sx, h-pad-(p.value-minY)*sy))
		}
		last := ps[len(ps)-1]
		fmt.Fprintf(&b, `<div style="display:inline-block;margin:0 12px 6px 0"><div style="font-size:85%%">%s = %.4g <span style="color:#888">(step %g, min %.4g, max %.4g)</span></div>`, htmlEscape(n), last.value, last.step, minY, maxY)
		fmt.Fprintf(&b, `<svg width="%g" height="%g" style="border:1px solid #ddd"><polyline fill="none" stroke="#1976d2" stroke-width="1.5" points="%s"/></svg></div>`, w, h, strings.Join(pts, " "))
	}
	return b.String()
}
