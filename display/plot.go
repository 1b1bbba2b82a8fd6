package display

import (
	"bytes"
	"io"
	"reflect"
)

// PlotWidth and PlotHeight are the size, in points (1/72 inch), at which a
// plot (see MIMEBundle) is drawn: 6 by 4 inches, 576 by 384 pixels.
const (
	PlotWidth  = 6 * 72
	PlotHeight = 4 * 72
)

var (
	writerToType = reflect.TypeOf((*io.WriterTo)(nil)).Elem()
	errorType    = reflect.TypeOf((*error)(nil)).Elem()
)

// plotBundle renders v as a PNG when it has a method
// WriterTo(width, height L, format string) (io.WriterTo, error) with L a
// float type, as gonum.org/v1/plot's *plot.Plot has (L is vg.Length, in
// points). ok is false when v has no such method.
func plotBundle(v any) (data, metadata map[string]any, ok bool) {
	m := reflect.ValueOf(v).MethodByName("WriterTo")
	if !m.IsValid() {
		return nil, nil, false
	}
	t := m.Type()
	if t.NumIn() != 3 || t.NumOut() != 2 || t.In(0).Kind() != reflect.Float64 || t.In(1) != t.In(0) ||
		t.In(2).Kind() != reflect.String || t.Out(0) != writerToType || t.Out(1) != errorType {
		return nil, nil, false
	}
	size := reflect.ValueOf(float64(PlotWidth)).Convert(t.In(0))
	height := reflect.ValueOf(float64(PlotHeight)).Convert(t.In(0))
	out := m.Call([]reflect.Value{size, height, reflect.ValueOf("png").Convert(t.In(2))})
	if err, _ := out[1].Interface().(error); err != nil {
		d, md := plain("display: cannot draw the plot: " + err.Error())
		return d, md, true
	}
	var buf bytes.Buffer
	if _, err := out[0].Interface().(io.WriterTo).WriteTo(&buf); err != nil {
		d, md := plain("display: cannot draw the plot: " + err.Error())
		return d, md, true
	}
	d, md := PNG(buf.Bytes()).MIMEBundle()
	return d, md, true
}
