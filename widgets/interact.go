package widgets

import (
	"fmt"
	"reflect"

	"github.com/ferryml/ferry/display"
)

// ArgSpec names a parameter of an Interact function and says how to build
// its control; make one with Arg.
type ArgSpec struct {
	Name  string
	Value any
}

// Arg gives the control of an Interact parameter a label and a default or
// a range: an int or float64 (a slider around it), []int{min, max} or
// []int{min, max, step} (an integer slider), []float64 likewise, a string
// (a text field), []string (a dropdown), a bool (a check box), or a widget
// (used as it is).
func Arg(name string, value any) ArgSpec { return ArgSpec{Name: name, Value: value} }

// Interact displays one control per parameter of fn, and an Output below
// them where fn's output goes, and calls fn with the controls' values now
// and whenever one changes (the output area is cleared first). If fn
// returns a value, it is displayed there. fn's parameters may be of integer,
// float, string or bool types:
//
//	widgets.Interact(func(n int, s string) { fmt.Println(strings.Repeat(s, n)) },
//		widgets.Arg("n", []int{0, 10}), widgets.Arg("s", "ab"))
//
// args gives, in parameter order, each control's label and default or
// range (see Arg), a bare default, or a widget; parameters without one get
// a control from their type, labelled arg1, arg2, ... Interact returns the
// box of controls and output, already displayed.
func Interact(fn any, args ...any) *Box {
	box, update := interactive(fn, args)
	display.Display(box)
	update()
	return box
}

// interactive builds Interact's box and the function that calls fn.
func interactive(fn any, args []any) (*Box, func()) {
	f := reflect.ValueOf(fn)
	if f.Kind() != reflect.Func {
		panic(fmt.Sprintf("widgets: Interact needs a function, got %T", fn))
	}
	t := f.Type()
	if t.IsVariadic() {
		panic("widgets: Interact: a variadic function is not supported")
	}
	if len(args) > t.NumIn() {
		panic(fmt.Sprintf("widgets: Interact: %d arguments for a function of %d parameters", len(args), t.NumIn()))
	}
	controls := make([]Widget, t.NumIn())
	for i := range t.NumIn() {
		var arg any
		if i < len(args) {
			arg = args[i]
		}
		controls[i] = controlFor(t.In(i), i, arg)
	}
	out := NewOutput()
	children := append(append([]Widget{}, controls...), out)
	box := newBox(vboxSpec, children, []Option{Attr("_dom_classes", []string{"widget-interact"})})
	update := func() {
		out.Capture(func() {
			display.ClearWait()
			defer func() {
				if r := recover(); r != nil {
					display.Display(panicReport{fmt.Sprintf("panic in the Interact function (recovered; the kernel goes on): %v", r)})
				}
			}()
			in := make([]reflect.Value, len(controls))
			for i, c := range controls {
				in[i] = valueOf(c, t.In(i))
			}
			res := f.Call(in)
			if len(res) > 0 && !isNil(res[0]) {
				display.Display(res[0].Interface())
			}
		})
	}
	for _, c := range controls {
		c.Core().Observe(func(Change) { update() })
	}
	return box, update
}

func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// controlFor builds the control of parameter i of type t from arg.
func controlFor(t reflect.Type, i int, arg any) Widget {
	name := fmt.Sprintf("arg%d", i+1)
	if a, ok := arg.(ArgSpec); ok {
		name, arg = a.Name, a.Value
	}
	if w, ok := arg.(Widget); ok {
		return w
	}
	desc := Description(name)
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch v := arg.(type) {
		case nil:
			return NewIntSlider(50, desc)
		case []int:
			if len(v) < 2 {
				break
			}
			step := 1
			if len(v) > 2 {
				step = v[2]
			}
			return NewIntSlider(v[0], desc, Min(float64(v[0])), Max(float64(v[1])), Step(float64(step)))
		default:
			if n, ok := toFloat(arg); ok {
				lo, hi := around(n)
				return NewIntSlider(int(n), desc, Min(float64(int(lo))), Max(float64(int(hi))))
			}
		}
	case reflect.Float32, reflect.Float64:
		switch v := arg.(type) {
		case nil:
			return NewFloatSlider(0.5, desc, Min(0), Max(1), Step(0.01))
		case []float64:
			if len(v) < 2 {
				break
			}
			step := (v[1] - v[0]) / 100
			if len(v) > 2 {
				step = v[2]
			}
			return NewFloatSlider(v[0], desc, Min(v[0]), Max(v[1]), Step(step))
		default:
			if n, ok := toFloat(arg); ok {
				lo, hi := around(n)
				return NewFloatSlider(n, desc, Min(lo), Max(hi), Step((hi-lo)/100))
			}
		}
	case reflect.String:
		switch v := arg.(type) {
		case nil:
			return NewText("", desc)
		case string:
			return NewText(v, desc)
		case []string:
			return NewDropdown(v, desc)
		}
	case reflect.Bool:
		switch v := arg.(type) {
		case nil:
			return NewCheckbox(false, desc)
		case bool:
			return NewCheckbox(v, desc)
		}
	}
	panic(fmt.Sprintf("widgets: Interact: no control for parameter %d (%s) from %#v", i+1, t, arg))
}

// around is the slider range for a default value, as ipywidgets does:
// [-v, 3v] for v > 0, [3v, -v] for v < 0, [0, 1]... for 0.
func around(v float64) (lo, hi float64) {
	switch {
	case v > 0:
		return -v, 3 * v
	case v < 0:
		return 3 * v, -v
	}
	return 0, 1
}

// valueOf reads a control's value as a t.
func valueOf(w Widget, t reflect.Type) reflect.Value {
	var v any
	switch c := w.(type) {
	case *Dropdown:
		v = c.Value()
	case *ToggleButtons:
		v = c.Value()
	default:
		v = w.Core().Get("value")
	}
	if v == nil {
		return reflect.Zero(t)
	}
	rv := reflect.ValueOf(v)
	if !rv.Type().ConvertibleTo(t) {
		panic(fmt.Sprintf("widgets: Interact: the value %v of %s does not convert to %s", v, w.Core().spec.name, t))
	}
	return rv.Convert(t)
}
