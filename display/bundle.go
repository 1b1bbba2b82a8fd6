package display

import (
	"fmt"
	"image"
	"reflect"
	"strings"
)

// Renderer is a value that knows how to display itself. MIMEBundle returns the
// data of a display_data message, keyed by MIME type, and its metadata (also
// keyed by MIME type). Any value with this method, including a type declared
// in a notebook cell, is rendered by its bundle.
type Renderer interface {
	MIMEBundle() (data, metadata map[string]any)
}

// MIMEBundle returns the MIME bundle that renders v. The bundle always has a
// text/plain entry, and metadata is never nil.
//
//   - a Renderer: its own bundle (text/plain added when it has none);
//   - an image.Image: a PNG (see Image);
//   - an error: text/plain of its Error();
//   - a string: text/plain of the Go-quoted string (%q), so that a cell whose
//     value is "" or "  " shows something, like IPython's repr shows quotes;
//     wrap it in Text to show it unquoted;
//   - a plot: a value with a method WriterTo(w, h L, format string)
//     (io.WriterTo, error), L a float type, as gonum.org/v1/plot's *plot.Plot
//     (L is vg.Length): a PNG of PlotWidth by PlotHeight points;
//   - nil: "<nil>";
//   - anything else: text/plain of fmt's "%+v" (field names for structs), so
//     that the int 42 shows as 42.
func MIMEBundle(v any) (data, metadata map[string]any) {
	switch x := v.(type) {
	case nil:
		return plain("<nil>")
	case Renderer:
		if isNilPointer(v) {
			return plain(fmt.Sprintf("%+v", v))
		}
		data, metadata = x.MIMEBundle()
		if data == nil {
			data = map[string]any{}
		}
		if metadata == nil {
			metadata = map[string]any{}
		}
		if _, ok := data["text/plain"]; !ok {
			data["text/plain"] = fmt.Sprintf("%+v", unwrap(v))
		}
		return data, metadata
	case image.Image:
		if isNilPointer(v) {
			return plain(fmt.Sprintf("%+v", v))
		}
		return Image(x).MIMEBundle()
	case error:
		if isNilPointer(v) {
			return plain("<nil>")
		}
		return plain(x.Error())
	case string:
		return plain(fmt.Sprintf("%q", x))
	}
	if !isNilPointer(v) {
		if data, metadata, ok := plotBundle(v); ok {
			return data, metadata
		}
	}
	return plain(fmt.Sprintf("%+v", v))
}

// plain is a bundle with only text/plain.
func plain(s string) (data, metadata map[string]any) {
	return map[string]any{"text/plain": s}, map[string]any{}
}

// isNilPointer reports whether v is a typed nil pointer, whose methods would
// likely panic.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// unwrap returns the value inside a yaegi interface wrapper (the struct with
// an IValue field that yaegi extract generates for Renderer), so that the
// text/plain of an interpreted Renderer shows the value, not the wrapper.
func unwrap(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct || rv.NumField() == 0 {
		return v
	}
	f := rv.Type().Field(0)
	if f.Name != "IValue" || f.Type.Kind() != reflect.Interface || !strings.HasPrefix(rv.Type().Name(), "_") {
		return v
	}
	if iv := rv.Field(0); !iv.IsNil() {
		return iv.Interface()
	}
	return v
}
