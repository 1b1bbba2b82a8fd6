package widgets

import "fmt"

// IntSlider is a slider of integers (IntSliderModel).
type IntSlider struct{ *Model }

// NewIntSlider makes a slider at value, from Min (0) to Max (100) by Step (1).
func NewIntSlider(value int, opts ...Option) *IntSlider {
	w := &IntSlider{}
	w.Model = newModel(intSliderSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", value)}, opts...))
	return w
}

// Value returns the slider's value.
func (w *IntSlider) Value() int { return getInt(w.Model, "value") }

// SetValue moves the slider, clamped to its range.
func (w *IntSlider) SetValue(v int) {
	w.Set("value", clampInt(v, getInt(w.Model, "min"), getInt(w.Model, "max")))
}

// OnChange calls fn with each new value.
func (w *IntSlider) OnChange(fn func(v int)) { w.Observe(func(c Change) { fn(c.New.(int)) }) }

// FloatSlider is a slider of floats (FloatSliderModel).
type FloatSlider struct{ *Model }

// NewFloatSlider makes a slider at value, from Min (0) to Max (100) by Step (0.1).
func NewFloatSlider(value float64, opts ...Option) *FloatSlider {
	w := &FloatSlider{}
	w.Model = newModel(floatSliderSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", value)}, opts...))
	return w
}

// Value returns the slider's value.
func (w *FloatSlider) Value() float64 { return getFloat(w.Model, "value") }

// SetValue moves the slider, clamped to its range.
func (w *FloatSlider) SetValue(v float64) {
	w.Set("value", max(getFloat(w.Model, "min"), min(v, getFloat(w.Model, "max"))))
}

// OnChange calls fn with each new value.
func (w *FloatSlider) OnChange(fn func(v float64)) {
	w.Observe(func(c Change) { fn(c.New.(float64)) })
}

// IntRangeSlider selects a range of integers (IntRangeSliderModel).
type IntRangeSlider struct{ *Model }

// NewIntRangeSlider makes a range slider selecting [lo, hi].
func NewIntRangeSlider(lo, hi int, opts ...Option) *IntRangeSlider {
	w := &IntRangeSlider{}
	w.Model = newModel(intRangeSliderSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", []int{lo, hi})}, opts...))
	return w
}

// Value returns the selected range.
func (w *IntRangeSlider) Value() (lo, hi int) {
	v, _ := w.Get("value").([]int)
	if len(v) != 2 {
		return 0, 0
	}
	return v[0], v[1]
}

// SetValue selects [lo, hi] (swapped if lo > hi, clamped to the range).
func (w *IntRangeSlider) SetValue(lo, hi int) {
	if lo > hi {
		lo, hi = hi, lo
	}
	mn, mx := getInt(w.Model, "min"), getInt(w.Model, "max")
	w.Set("value", []int{clampInt(lo, mn, mx), clampInt(hi, mn, mx)})
}

// OnChange calls fn with each new range.
func (w *IntRangeSlider) OnChange(fn func(lo, hi int)) {
	w.Observe(func(c Change) {
		v := c.New.([]int)
		fn(v[0], v[1])
	})
}

// IntProgress is a progress bar of integers (IntProgressModel).
type IntProgress struct{ *Model }

// NewIntProgress makes a progress bar at value, from Min (0) to Max (100).
func NewIntProgress(value int, opts ...Option) *IntProgress {
	w := &IntProgress{}
	w.Model = newModel(intProgressSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", value)}, opts...))
	return w
}

// Value returns the bar's value.
func (w *IntProgress) Value() int { return getInt(w.Model, "value") }

// SetValue sets the bar's value.
func (w *IntProgress) SetValue(v int) { w.Set("value", v) }

// SetMax sets the bar's maximum.
func (w *IntProgress) SetMax(v int) { w.Set("max", v) }

// SetBarStyle sets "success", "info", "warning", "danger" or "".
func (w *IntProgress) SetBarStyle(s string) { w.Set("bar_style", s) }

// FloatProgress is a progress bar of floats (FloatProgressModel).
type FloatProgress struct{ *Model }

// NewFloatProgress makes a progress bar at value, from Min (0) to Max (100).
func NewFloatProgress(value float64, opts ...Option) *FloatProgress {
	w := &FloatProgress{}
	w.Model = newModel(floatProgressSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", value)}, opts...))
	return w
}

// Value returns the bar's value.
func (w *FloatProgress) Value() float64 { return getFloat(w.Model, "value") }

// SetValue sets the bar's value.
func (w *FloatProgress) SetValue(v float64) { w.Set("value", v) }

// SetMax sets the bar's maximum.
func (w *FloatProgress) SetMax(v float64) { w.Set("max", v) }

// SetBarStyle sets "success", "info", "warning", "danger" or "".
func (w *FloatProgress) SetBarStyle(s string) { w.Set("bar_style", s) }

// HTML shows HTML (HTMLModel).
type HTML struct{ *Model }

// NewHTML makes an HTML widget showing html.
func NewHTML(html string, opts ...Option) *HTML {
	w := &HTML{}
	w.Model = newModel(htmlSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", html)}, opts...))
	return w
}

// Value returns the HTML.
func (w *HTML) Value() string { return getString(w.Model, "value") }

// SetValue replaces the HTML.
func (w *HTML) SetValue(html string) { w.Set("value", html) }

// Label shows plain text (LabelModel).
type Label struct{ *Model }

// NewLabel makes a label showing text.
func NewLabel(text string, opts ...Option) *Label {
	w := &Label{}
	w.Model = newModel(labelSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", text)}, opts...))
	return w
}

// Value returns the text.
func (w *Label) Value() string { return getString(w.Model, "value") }

// SetValue replaces the text.
func (w *Label) SetValue(text string) { w.Set("value", text) }

// Text is a one-line text field (TextModel).
type Text struct{ *Model }

// NewText makes a text field holding value.
func NewText(value string, opts ...Option) *Text {
	w := &Text{}
	w.Model = newModel(textSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", value)}, opts...))
	return w
}

// Value returns the text.
func (w *Text) Value() string { return getString(w.Model, "value") }

// SetValue replaces the text.
func (w *Text) SetValue(s string) { w.Set("value", s) }

// OnChange calls fn with each new text.
func (w *Text) OnChange(fn func(s string)) { w.Observe(func(c Change) { fn(c.New.(string)) }) }

// OnSubmit calls fn with the text when the user presses Enter in the field.
func (w *Text) OnSubmit(fn func(s string)) {
	w.OnCustom(func(content map[string]any, _ [][]byte) {
		if content["event"] == "submit" {
			fn(w.Value())
		}
	})
}

// Textarea is a multi-line text field (TextareaModel).
type Textarea struct{ *Model }

// NewTextarea makes a text area holding value.
func NewTextarea(value string, opts ...Option) *Textarea {
	w := &Textarea{}
	w.Model = newModel(textareaSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", value)}, opts...))
	return w
}

// Value returns the text.
func (w *Textarea) Value() string { return getString(w.Model, "value") }

// SetValue replaces the text.
func (w *Textarea) SetValue(s string) { w.Set("value", s) }

// OnChange calls fn with each new text.
func (w *Textarea) OnChange(fn func(s string)) { w.Observe(func(c Change) { fn(c.New.(string)) }) }

// Checkbox is a boolean check box (CheckboxModel).
type Checkbox struct{ *Model }

// NewCheckbox makes a check box, checked if value.
func NewCheckbox(value bool, opts ...Option) *Checkbox {
	w := &Checkbox{}
	w.Model = newModel(checkboxSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("value", value)}, opts...))
	return w
}

// Value reports whether the box is checked.
func (w *Checkbox) Value() bool { b, _ := w.Get("value").(bool); return b }

// SetValue checks or unchecks the box.
func (w *Checkbox) SetValue(b bool) { w.Set("value", b) }

// OnChange calls fn with each new value.
func (w *Checkbox) OnChange(fn func(b bool)) { w.Observe(func(c Change) { fn(c.New.(bool)) }) }

// Button is a clickable button (ButtonModel).
type Button struct{ *Model }

// NewButton makes a button labelled label.
func NewButton(label string, opts ...Option) *Button {
	w := &Button{}
	w.Model = newModel(buttonSpec, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("description", label)}, opts...))
	return w
}

// OnClick calls fn each time the button is clicked in the browser.
func (w *Button) OnClick(fn func(b *Button)) {
	w.OnCustom(func(content map[string]any, _ [][]byte) {
		if content["event"] == "click" {
			fn(w)
		}
	})
}

// Click calls the click handlers, as a click in the browser does.
func (w *Button) Click() {
	w.mu.Lock()
	fns := append([]func(map[string]any, [][]byte){}, w.customs...)
	w.mu.Unlock()
	for _, fn := range fns {
		fn(map[string]any{"event": "click"}, nil)
	}
}

// SetDescription changes the button's label.
func (w *Button) SetDescription(s string) { w.Set("description", s) }

// selection is what Dropdown and ToggleButtons share: options synced as
// _options_labels, the selection as index.
type selection struct{ *Model }

func (s selection) labels() []string { l, _ := s.Get("_options_labels").([]string); return l }

// Index returns the selected index, or -1 when nothing is selected.
func (s selection) Index() int {
	if n, ok := s.Get("index").(int); ok {
		return n
	}
	return -1
}

// Value returns the selected option, or "" when nothing is selected.
func (s selection) Value() string {
	l, i := s.labels(), s.Index()
	if i < 0 || i >= len(l) {
		return ""
	}
	return l[i]
}

// SetIndex selects option i (-1 selects nothing).
func (s selection) SetIndex(i int) {
	old := s.Value()
	if i < 0 {
		s.Set("index", nil)
	} else {
		if i >= len(s.labels()) {
			panic(fmt.Sprintf("widgets: %s.SetIndex(%d): there are %d options", s.spec.name, i, len(s.labels())))
		}
		s.Set("index", i)
	}
	if nv := s.Value(); nv != old {
		s.notify([]Change{{Name: "value", Old: old, New: nv, Owner: s.owner}})
	}
}

// SetValue selects the option equal to v; it panics if there is none.
func (s selection) SetValue(v string) {
	for i, l := range s.labels() {
		if l == v {
			s.SetIndex(i)
			return
		}
	}
	panic(fmt.Sprintf("widgets: %s.SetValue(%q): not one of the options %q", s.spec.name, v, s.labels()))
}

// Options returns the options.
func (s selection) Options() []string { return s.labels() }

// SetOptions replaces the options and selects the first (none if empty).
func (s selection) SetOptions(options ...string) {
	idx := any(nil)
	if len(options) > 0 {
		idx = 0
	}
	s.setMany([]string{"_options_labels", "index"}, []any{options, idx})
}

// OnChange calls fn with the index and value of each new selection.
func (s selection) OnChange(fn func(index int, value string)) {
	s.Observe(func(c Change) {
		v, _ := c.New.(string)
		fn(s.Index(), v)
	})
}

func newSelection(sp *spec, options []string, opts []Option, owner func(*Model) Widget) *Model {
	var idx any
	if len(options) > 0 {
		idx = 0
	}
	return newModel(sp, owner, append([]Option{Attr("_options_labels", options), Attr("index", idx)}, opts...))
}

// Dropdown selects one of a list of options (DropdownModel). The frontend
// syncs the selected index; Value is the selected option.
type Dropdown struct{ selection }

// NewDropdown makes a dropdown of options with the first selected.
func NewDropdown(options []string, opts ...Option) *Dropdown {
	w := &Dropdown{}
	w.Model = newSelection(dropdownSpec, options, opts, func(m *Model) Widget { w.Model = m; return w })
	return w
}

// ToggleButtons selects one of a row of buttons (ToggleButtonsModel).
type ToggleButtons struct{ selection }

// NewToggleButtons makes toggle buttons for options with the first selected.
func NewToggleButtons(options []string, opts ...Option) *ToggleButtons {
	w := &ToggleButtons{}
	w.Model = newSelection(toggleButtonsSpec, options, opts, func(m *Model) Widget { w.Model = m; return w })
	return w
}

// Box is a container of widgets: VBox (a column), HBox (a row), Tab or
// Accordion (pages with titles).
type Box struct{ *Model }

func newBox(sp *spec, children []Widget, opts []Option) *Box {
	w := &Box{}
	refs := make([]any, len(children))
	for i, c := range children {
		refs[i] = c
	}
	w.Model = newModel(sp, func(m *Model) Widget { w.Model = m; return w }, append([]Option{Attr("children", refs)}, opts...))
	return w
}

// NewVBox stacks children in a column.
func NewVBox(children ...Widget) *Box { return newBox(vboxSpec, children, nil) }

// NewHBox lays children out in a row.
func NewHBox(children ...Widget) *Box { return newBox(hboxSpec, children, nil) }

// NewTab shows children as tabs titled titles (one per child), the first selected.
func NewTab(titles []string, children ...Widget) *Box {
	return newBox(tabSpec, children, []Option{Titles(titles...), Attr("selected_index", firstIndex(children))})
}

// NewAccordion shows children as collapsible pages titled titles, the first open.
func NewAccordion(titles []string, children ...Widget) *Box {
	return newBox(accordionSpec, children, []Option{Titles(titles...), Attr("selected_index", firstIndex(children))})
}

// NewBox makes a box of kind "VBox", "HBox", "Tab" or "Accordion" with
// options (Titles, BoxStyle, Width, ...).
func NewBox(kind string, children []Widget, opts ...Option) *Box {
	sp := map[string]*spec{"VBox": vboxSpec, "HBox": hboxSpec, "Tab": tabSpec, "Accordion": accordionSpec}[kind]
	if sp == nil {
		panic(fmt.Sprintf("widgets: NewBox: kind %q is not VBox, HBox, Tab or Accordion", kind))
	}
	return newBox(sp, children, opts)
}

func firstIndex(children []Widget) any {
	if len(children) == 0 {
		return nil
	}
	return 0
}

// Children returns the box's children.
func (w *Box) Children() []Widget {
	refs, _ := w.Get("children").([]string)
	out := make([]Widget, 0, len(refs))
	for _, r := range refs {
		if m := reg.get(trimRef(r)); m != nil {
			out = append(out, m.owner)
		}
	}
	return out
}

// SetChildren replaces the box's children.
func (w *Box) SetChildren(children ...Widget) {
	refs := make([]any, len(children))
	for i, c := range children {
		refs[i] = c
	}
	w.Set("children", refs)
}

// SelectedIndex returns the selected page of a Tab or Accordion, -1 for none.
func (w *Box) SelectedIndex() int {
	if n, ok := w.Get("selected_index").(int); ok {
		return n
	}
	return -1
}

// SetSelectedIndex selects page i of a Tab or Accordion (-1: none).
func (w *Box) SetSelectedIndex(i int) {
	if i < 0 {
		w.Set("selected_index", nil)
		return
	}
	w.Set("selected_index", i)
}

// SetTitles sets the page titles of a Tab or Accordion.
func (w *Box) SetTitles(titles ...string) { w.Set("titles", titles) }

func getInt(m *Model, key string) int {
	n, _ := m.Get(key).(int)
	return n
}

func getFloat(m *Model, key string) float64 {
	switch n := m.Get(key).(type) {
	case float64:
		return n
	case int:
		return float64(n)
	}
	return 0
}

func getString(m *Model, key string) string {
	s, _ := m.Get(key).(string)
	return s
}

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }
