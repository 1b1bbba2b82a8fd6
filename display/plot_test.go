package display

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"io"
	"testing"
)

// length is a float type, as vg.Length is.
type length float64

// fakePlot has the WriterTo method of gonum.org/v1/plot's *plot.Plot.
type fakePlot struct{ err error }

func (p *fakePlot) WriterTo(w, h length, format string) (io.WriterTo, error) {
	if p.err != nil {
		return nil, p.err
	}
	if format != "png" {
		return nil, errors.New("unsupported format " + format)
	}
	// 96 dots per inch, as vgimg draws PNGs.
	img := image.NewRGBA(image.Rect(0, 0, int(w*96/72), int(h*96/72)))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return &buf, nil
}

// notPlot has a WriterTo method of another signature.
type notPlot struct{}

func (notPlot) WriterTo(w, h int) io.WriterTo { return nil }

func TestPlotBundle(t *testing.T) {
	tests := []struct {
		name      string
		v         any
		wantMIME  string
		wantPlain string
	}{
		{"plot", &fakePlot{}, "image/png", "<image 576x384>"},
		{"failing plot", &fakePlot{err: errors.New("no data")}, "text/plain", "display: cannot draw the plot: no data"},
		{"other WriterTo", notPlot{}, "text/plain", "{}"},
		{"nil plot", (*fakePlot)(nil), "text/plain", "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, md := MIMEBundle(tt.v)
			if _, ok := data[tt.wantMIME]; !ok {
				t.Fatalf("got MIME types %v, want %s", data, tt.wantMIME)
			}
			if got := data["text/plain"]; got != tt.wantPlain {
				t.Errorf("text/plain = %q, want %q", got, tt.wantPlain)
			}
			if tt.wantMIME != "image/png" {
				return
			}
			b, err := base64.StdEncoding.DecodeString(data["image/png"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("not a PNG: %v", err)
			}
			if size, _ := md["image/png"].(map[string]any); size["width"] != 576 || size["height"] != 384 {
				t.Errorf("metadata %v, want 576x384", md)
			}
		})
	}
}
