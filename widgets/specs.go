package widgets

import (
	"crypto/rand"
	"encoding/hex"
)

// Module names and versions of the models.
const (
	controlsModule  = "@jupyter-widgets/controls"
	controlsVersion = "2.0.0"
	baseModule      = "@jupyter-widgets/base"
	baseVersion     = "2.0.0"
	outputModule    = "@jupyter-widgets/output"
	outputVersion   = "1.0.0"
)

// attrs is a spec's attributes: kind and default.
type attrs map[string]struct {
	k kind
	v any
}

func a(k kind, v any) struct {
	k kind
	v any
} {
	return struct {
		k kind
		v any
	}{k, v}
}

// domAttrs are the attributes of every DOM widget.
func domAttrs() attrs {
	return attrs{
		"_dom_classes": a(kStrings, []string{}),
		"layout":       a(kRef, nil),
		"tabbable":     a(kNullBool, nil),
		"tooltip":      a(kNullString, nil),
	}
}

// descAttrs are the attributes of widgets with a description.
func descAttrs() attrs {
	at := domAttrs()
	at["description"] = a(kString, "")
	at["description_allow_html"] = a(kBool, false)
	at["style"] = a(kRef, nil)
	return at
}

func merge(base attrs, more attrs) attrs {
	for k, v := range more {
		base[k] = v
	}
	return base
}

// control builds the spec of a @jupyter-widgets/controls model.
func control(name, view, style string, interactive bool, at attrs) *spec {
	s := &spec{name: name, module: controlsModule, version: controlsVersion, view: view, viewModule: controlsModule, viewVersion: controlsVersion, style: style, interactive: interactive, kinds: map[string]kind{}, defaults: map[string]any{}}
	for k, v := range at {
		s.kinds[k] = v.k
		if k != "layout" && k != "style" {
			s.defaults[k] = v.v
		}
	}
	return s
}

// styleSpec builds the spec of a style model (model in controls, view in base).
func styleSpec(name string, keys map[string]kind) *spec {
	s := &spec{name: name, module: controlsModule, version: controlsVersion, view: "StyleView", viewModule: baseModule, viewVersion: baseVersion, kinds: map[string]kind{}, defaults: map[string]any{}}
	for k, kd := range keys {
		s.kinds[k] = kd
		if kd == kString {
			s.defaults[k] = ""
		} else {
			s.defaults[k] = nil
		}
	}
	return s
}

var layoutKeys = []string{
	"align_content", "align_items", "align_self", "border_bottom", "border_left", "border_right", "border_top",
	"bottom", "display", "flex", "flex_flow", "grid_area", "grid_auto_columns", "grid_auto_flow", "grid_auto_rows",
	"grid_column", "grid_gap", "grid_row", "grid_template_areas", "grid_template_columns", "grid_template_rows",
	"height", "justify_content", "justify_items", "left", "margin", "max_height", "max_width", "min_height",
	"min_width", "object_fit", "object_position", "order", "overflow", "padding", "right", "top", "visibility", "width",
}

var layoutSpec = func() *spec {
	s := &spec{name: "Layout", module: baseModule, version: baseVersion, view: "LayoutView", viewModule: baseModule, viewVersion: baseVersion, kinds: map[string]kind{}, defaults: map[string]any{}}
	for _, k := range layoutKeys {
		s.kinds[k] = kNullString
		s.defaults[k] = nil
	}
	return s
}()

var styleSpecs = map[string]*spec{
	"ButtonStyle":        styleSpec("ButtonStyle", map[string]kind{"button_color": kNullString, "font_family": kNullString, "font_size": kNullString, "font_style": kNullString, "font_variant": kNullString, "font_weight": kNullString, "text_color": kNullString, "text_decoration": kNullString}),
	"CheckboxStyle":      styleSpec("CheckboxStyle", map[string]kind{"background": kNullString, "description_width": kString}),
	"DescriptionStyle":   styleSpec("DescriptionStyle", map[string]kind{"description_width": kString}),
	"HTMLStyle":          styleSpec("HTMLStyle", map[string]kind{"background": kNullString, "description_width": kString, "font_size": kNullString, "text_color": kNullString}),
	"LabelStyle":         styleSpec("LabelStyle", map[string]kind{"background": kNullString, "description_width": kString, "font_family": kNullString, "font_size": kNullString, "font_style": kNullString, "font_variant": kNullString, "font_weight": kNullString, "text_color": kNullString, "text_decoration": kNullString}),
	"ProgressStyle":      styleSpec("ProgressStyle", map[string]kind{"bar_color": kNullString, "description_width": kString}),
	"SliderStyle":        styleSpec("SliderStyle", map[string]kind{"description_width": kString, "handle_color": kNullString}),
	"TextStyle":          styleSpec("TextStyle", map[string]kind{"background": kNullString, "description_width": kString, "font_size": kNullString, "text_color": kNullString}),
	"ToggleButtonsStyle": styleSpec("ToggleButtonsStyle", map[string]kind{"button_width": kString, "description_width": kString, "font_weight": kString}),
}

func sliderAttrs(valueKind, stepKind kind, value, step, minV, maxV any, format string) attrs {
	return merge(descAttrs(), attrs{
		"behavior":          a(kString, "drag-tap"),
		"continuous_update": a(kBool, true),
		"disabled":          a(kBool, false),
		"max":               a(kindOf(maxV), maxV),
		"min":               a(kindOf(minV), minV),
		"orientation":       a(kString, "horizontal"),
		"readout":           a(kBool, true),
		"readout_format":    a(kString, format),
		"step":              a(stepKind, step),
		"value":             a(valueKind, value),
	})
}

func kindOf(v any) kind {
	if _, ok := v.(int); ok {
		return kInt
	}
	return kFloat
}

func progressAttrs(value, minV, maxV any) attrs {
	return merge(descAttrs(), attrs{
		"bar_style":   a(kNullString, ""),
		"max":         a(kindOf(maxV), maxV),
		"min":         a(kindOf(minV), minV),
		"orientation": a(kString, "horizontal"),
		"value":       a(kindOf(value), value),
	})
}

func stringAttrs(more attrs) attrs {
	return merge(merge(descAttrs(), attrs{"placeholder": a(kString, "\u200b"), "value": a(kString, "")}), more)
}

func boxAttrs(more attrs) attrs {
	return merge(merge(domAttrs(), attrs{"box_style": a(kString, ""), "children": a(kRefs, []string{})}), more)
}

func selectionAttrs(more attrs) attrs {
	return merge(merge(descAttrs(), attrs{"_options_labels": a(kStrings, []string{}), "disabled": a(kBool, false), "index": a(kNullInt, nil)}), more)
}

var (
	intProgressSpec    = control("IntProgress", "ProgressView", "ProgressStyle", false, progressAttrs(0, 0, 100))
	floatProgressSpec  = control("FloatProgress", "ProgressView", "ProgressStyle", false, progressAttrs(0.0, 0.0, 100.0))
	htmlSpec           = control("HTML", "HTMLView", "HTMLStyle", false, stringAttrs(nil))
	labelSpec          = control("Label", "LabelView", "LabelStyle", false, stringAttrs(nil))
	buttonSpec         = control("Button", "ButtonView", "ButtonStyle", true, merge(domAttrs(), attrs{"button_style": a(kString, ""), "description": a(kString, ""), "disabled": a(kBool, false), "icon": a(kString, ""), "style": a(kRef, nil)}))
	dropdownSpec       = control("Dropdown", "DropdownView", "DescriptionStyle", true, selectionAttrs(nil))
	toggleButtonsSpec  = control("ToggleButtons", "ToggleButtonsView", "ToggleButtonsStyle", true, selectionAttrs(attrs{"button_style": a(kNullString, ""), "icons": a(kStrings, []string{}), "tooltips": a(kStrings, []string{})}))
	intSliderSpec      = control("IntSlider", "IntSliderView", "SliderStyle", true, sliderAttrs(kInt, kInt, 0, 1, 0, 100, "d"))
	floatSliderSpec    = control("FloatSlider", "FloatSliderView", "SliderStyle", true, sliderAttrs(kFloat, kNullFloat, 0.0, 0.1, 0.0, 100.0, ".2f"))
	intRangeSliderSpec = control("IntRangeSlider", "IntRangeSliderView", "SliderStyle", true, sliderAttrs(kIntPair, kInt, []int{0, 1}, 1, 0, 100, "d"))
	textSpec           = control("Text", "TextView", "TextStyle", true, stringAttrs(attrs{"continuous_update": a(kBool, true), "disabled": a(kBool, false)}))
	textareaSpec       = control("Textarea", "TextareaView", "TextStyle", true, stringAttrs(attrs{"continuous_update": a(kBool, true), "disabled": a(kBool, false), "rows": a(kNullInt, nil)}))
	checkboxSpec       = control("Checkbox", "CheckboxView", "CheckboxStyle", true, merge(descAttrs(), attrs{"disabled": a(kBool, false), "indent": a(kBool, true), "value": a(kBool, false)}))
	vboxSpec           = control("VBox", "VBoxView", "", false, boxAttrs(nil))
	hboxSpec           = control("HBox", "HBoxView", "", false, boxAttrs(nil))
	tabSpec            = control("Tab", "TabView", "", true, boxAttrs(attrs{"selected_index": a(kNullInt, nil), "titles": a(kStrings, []string{})}))
	accordionSpec      = control("Accordion", "AccordionView", "", true, boxAttrs(attrs{"selected_index": a(kNullInt, nil), "titles": a(kStrings, []string{})}))
	outputSpec         = func() *spec {
		s := control("Output", "OutputView", "", false, merge(domAttrs(), attrs{"msg_id": a(kString, ""), "outputs": a(kAny, []any{})}))
		s.module, s.version, s.viewModule, s.viewVersion = outputModule, outputVersion, outputModule, outputVersion
		s.noEcho = map[string]bool{"outputs": true}
		return s
	}()
)

// newID returns a fresh model id: 32 hex digits, like a uuid4 hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
