package widgets

import "fmt"

// Layout is a widget's CSS box: width, height, margin, padding, border,
// flex and grid attributes (LayoutModel of @jupyter-widgets/base). Every
// DOM widget has one; get it with the widget's Layout method.
type Layout struct{ *Model }

func newLayout() *Layout {
	l := &Layout{}
	l.Model = newModel(layoutSpec, func(m *Model) Widget { l.Model = m; return l }, nil)
	return l
}

// Set sets a CSS attribute by its widget name ("width", "max_height",
// "justify_content", ...; "border" sets all four borders); "" resets it
// to the default.
func (l *Layout) Set(attr, value string) *Layout {
	if attr == "border" {
		return l.Border(value)
	}
	if value == "" {
		l.Model.Set(attr, nil)
	} else {
		l.Model.Set(attr, value)
	}
	return l
}

// Width sets the CSS width, like "300px" or "50%".
func (l *Layout) Width(v string) *Layout { return l.Set("width", v) }

// Height sets the CSS height.
func (l *Layout) Height(v string) *Layout { return l.Set("height", v) }

// Margin sets the CSS margin.
func (l *Layout) Margin(v string) *Layout { return l.Set("margin", v) }

// Padding sets the CSS padding.
func (l *Layout) Padding(v string) *Layout { return l.Set("padding", v) }

// Border sets the CSS border on all four sides, like "1px solid gray".
func (l *Layout) Border(v string) *Layout {
	vs := make([]any, 4)
	for i := range vs {
		if v != "" {
			vs[i] = v
		}
	}
	l.setMany([]string{"border_top", "border_right", "border_bottom", "border_left"}, vs)
	return l
}

// Style holds a widget's style attributes (the *StyleModel of the widget's
// type): description_width, bar_color, button_color, handle_color,
// font_weight, text_color, ... depending on the widget.
type Style struct{ *Model }

func newStyle(name string) *Style {
	sp, ok := styleSpecs[name]
	if !ok {
		panic(fmt.Sprintf("widgets: no style model %s", name))
	}
	s := &Style{}
	s.Model = newModel(sp, func(m *Model) Widget { s.Model = m; return s }, nil)
	return s
}

// Set sets a style attribute; it panics if the widget's style has no such
// attribute.
func (s *Style) Set(attr, value string) *Style {
	if value == "" && s.spec.kinds[attr] != kString {
		s.Model.Set(attr, nil)
	} else {
		s.Model.Set(attr, value)
	}
	return s
}
