package widgets

import (
	"fmt"
	"sync"

	"github.com/ferryml/ferry/display"
)

// Output is an area that shows captured output (OutputModel of
// @jupyter-widgets/output 1.0.0): what a cell or callback prints or
// displays inside Capture appears in the widget instead of the cell.
type Output struct {
	*Model
	capMu sync.Mutex
	depth int
}

// NewOutput makes an empty output area.
func NewOutput(opts ...Option) *Output {
	w := &Output{}
	w.Model = newModel(outputSpec, func(m *Model) Widget { w.Model = m; return w }, opts)
	return w
}

// Capture runs fn with its output (fmt.Print, display.Display, errors)
// going to the widget: the widget's msg_id is set to the request being
// handled, so that the frontend routes that request's output here. Without
// a kernel it just runs fn.
func (o *Output) Capture(fn func()) {
	k := currentKernel()
	if k == nil || o.Closed() {
		fn()
		return
	}
	id := k.ParentMsgID()
	o.capMu.Lock()
	o.depth++
	o.capMu.Unlock()
	o.Set("msg_id", id)
	defer func() {
		o.capMu.Lock()
		o.depth--
		last := o.depth == 0
		o.capMu.Unlock()
		if last {
			// Publishing the update flushes the pending text first, so
			// all of fn's output is captured.
			o.Set("msg_id", "")
		}
	}()
	fn()
}

// Clear clears the output area (with wait, when the next output arrives).
func (o *Output) Clear(wait bool) {
	if currentKernel() == nil {
		o.Set("outputs", []any{})
		return
	}
	o.Capture(func() {
		if wait {
			display.ClearWait()
		} else {
			display.Clear()
		}
	})
	if !wait {
		o.Set("outputs", []any{})
	}
}

// AppendStdout adds text to the output area as stdout, without capturing.
func (o *Output) AppendStdout(text string) {
	o.appendOutput(map[string]any{"output_type": "stream", "name": "stdout", "text": text})
}

// AppendStderr adds text to the output area as stderr.
func (o *Output) AppendStderr(text string) {
	o.appendOutput(map[string]any{"output_type": "stream", "name": "stderr", "text": text})
}

// AppendDisplay adds v, rendered as display.Display renders it.
func (o *Output) AppendDisplay(v any) {
	data, md := display.MIMEBundle(v)
	o.appendOutput(map[string]any{"output_type": "display_data", "data": data, "metadata": md})
}

func (o *Output) appendOutput(out map[string]any) {
	outs, _ := o.Get("outputs").([]any)
	o.Set("outputs", append(outs, out))
}

// Outputs returns the outputs the frontend reported (nbformat outputs).
func (o *Output) Outputs() []any {
	outs, _ := o.Get("outputs").([]any)
	return outs
}

// Display publishes each value as a display_data output of the running
// cell; widgets show as widgets, other values as display.Display shows
// them. If a widget the user can change in the browser is among them (a
// slider, a button, a box holding one), an Output area is displayed after
// them, where the output of their callbacks goes: what a click handler
// prints shows in the cell that displayed the button.
func Display(vs ...any) {
	var trees []*Model
	interactive := false
	for _, v := range vs {
		w, ok := v.(Widget)
		if !ok || w == nil {
			display.Display(v)
			continue
		}
		display.Display(w)
		for _, m := range treeOf(w.Core()) {
			trees = append(trees, m)
			interactive = interactive || m.spec.interactive
		}
	}
	if !interactive {
		return
	}
	out := NewOutput()
	display.Display(cellOutput{out})
	for _, m := range trees {
		m.mu.Lock()
		m.out = out
		m.mu.Unlock()
	}
}

// cellOutput displays an Output widget without text/plain, so that
// frontends without widgets show nothing for it.
type cellOutput struct{ o *Output }

func (c cellOutput) MIMEBundle() (map[string]any, map[string]any) {
	data, md := c.o.MIMEBundle()
	data["text/plain"] = ""
	return data, md
}

// treeOf returns m and the models it holds as children, recursively.
func treeOf(m *Model) []*Model {
	seen := map[string]bool{}
	var out []*Model
	var walk func(m *Model)
	walk = func(m *Model) {
		if m == nil || seen[m.id] {
			return
		}
		seen[m.id] = true
		out = append(out, m)
		refs, _ := m.Get("children").([]string)
		for _, r := range refs {
			walk(reg.get(trimRef(r)))
		}
	}
	walk(m)
	return out
}

// String summarizes an Output.
func (o *Output) String() string { return fmt.Sprintf("Output(%d outputs)", len(o.Outputs())) }

// Replace shows vs in the output area instead of what it showed, each
// rendered as display.Display renders it (a chart that is redrawn).
func (o *Output) Replace(vs ...any) {
	outs := make([]any, 0, len(vs))
	for _, v := range vs {
		data, md := display.MIMEBundle(v)
		outs = append(outs, map[string]any{"output_type": "display_data", "data": data, "metadata": md})
	}
	o.Set("outputs", outs)
}
