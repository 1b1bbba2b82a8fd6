package widgets

import "fmt"

// Attr sets any state attribute of the widget (see Model.Set).
func Attr(key string, value any) Option {
	return func(m *Model) { m.initSet(key, value) }
}

// initSet sets an attribute while the widget is made (before its comm opens).
func (m *Model) initSet(key string, value any) {
	v, err := m.coerce(key, value)
	if err != nil {
		panic(err.Error())
	}
	m.mu.Lock()
	m.state[key] = v
	m.mu.Unlock()
}

// need panics unless the widget has attribute key, naming the option.
func (m *Model) need(option, key string) {
	if _, ok := m.spec.kinds[key]; !ok {
		panic(fmt.Sprintf("widgets: option %s does not apply to %s", option, m.spec.name))
	}
}

func opt(name, key string, value any) Option {
	return func(m *Model) {
		m.need(name, key)
		m.initSet(key, value)
	}
}

// Description sets the label shown next to the control (or a button's text).
func Description(s string) Option { return opt("Description", "description", s) }

// Tooltip sets the text shown on hover.
func Tooltip(s string) Option { return opt("Tooltip", "tooltip", s) }

// Disabled makes the control read-only in the browser.
func Disabled(b bool) Option { return opt("Disabled", "disabled", b) }

// Min sets the minimum of a slider or progress bar.
func Min(v float64) Option { return opt("Min", "min", v) }

// Max sets the maximum of a slider or progress bar.
func Max(v float64) Option { return opt("Max", "max", v) }

// Step sets the step of a slider.
func Step(v float64) Option { return opt("Step", "step", v) }

// Vertical makes a slider or progress bar vertical.
func Vertical() Option { return opt("Vertical", "orientation", "vertical") }

// ReadoutFormat sets a slider's value format (d3-format, like ".3f").
func ReadoutFormat(f string) Option { return opt("ReadoutFormat", "readout_format", f) }

// ContinuousUpdate sets whether a slider or text field syncs while the user
// drags or types (true, the default) or only when done.
func ContinuousUpdate(b bool) Option { return opt("ContinuousUpdate", "continuous_update", b) }

// Placeholder sets the text shown in an empty text field.
func Placeholder(s string) Option { return opt("Placeholder", "placeholder", s) }

// Rows sets the number of rows of a Textarea.
func Rows(n int) Option { return opt("Rows", "rows", n) }

// ButtonStyle sets a button's predefined style: "primary", "success",
// "info", "warning", "danger" or "".
func ButtonStyle(s string) Option { return opt("ButtonStyle", "button_style", s) }

// BarStyle sets a progress bar's predefined style: "success", "info",
// "warning", "danger" or "".
func BarStyle(s string) Option { return opt("BarStyle", "bar_style", s) }

// BoxStyle sets a box's predefined style: "success", "info", "warning",
// "danger" or "".
func BoxStyle(s string) Option { return opt("BoxStyle", "box_style", s) }

// Icon sets a button's Font Awesome icon name (without "fa-").
func Icon(s string) Option { return opt("Icon", "icon", s) }

// Titles sets the page titles of a Tab or Accordion.
func Titles(titles ...string) Option { return opt("Titles", "titles", titles) }

// Width sets the widget's CSS width, like "400px" or "100%".
func Width(w string) Option {
	return func(m *Model) {
		if l := m.Layout(); l != nil {
			l.Width(w)
		}
	}
}

// Height sets the widget's CSS height.
func Height(h string) Option {
	return func(m *Model) {
		if l := m.Layout(); l != nil {
			l.Height(h)
		}
	}
}

// LayoutAttr sets an attribute of the widget's Layout.
func LayoutAttr(key, value string) Option {
	return func(m *Model) {
		if l := m.Layout(); l != nil {
			l.Set(key, value)
		}
	}
}

// StyleAttr sets an attribute of the widget's Style, like
// StyleAttr("description_width", "initial") or StyleAttr("bar_color", "teal").
func StyleAttr(key, value string) Option {
	return func(m *Model) {
		s := m.Style()
		if s == nil {
			panic(fmt.Sprintf("widgets: %s has no style", m.spec.name))
		}
		s.Set(key, value)
	}
}
