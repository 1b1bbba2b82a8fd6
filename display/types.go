package display

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif" // PNG/JPEG/GIF headers for sizes
	"image/jpeg"
	"image/png"
)

// HTML is HTML source, displayed as text/html. Use it as a conversion:
// display.HTML("<b>bold</b>").
type HTML string

// MIMEBundle renders h as text/html, with the source as text/plain.
func (h HTML) MIMEBundle() (data, metadata map[string]any) {
	return map[string]any{"text/html": string(h), "text/plain": string(h)}, map[string]any{}
}

// Markdown is Markdown source, displayed as text/markdown.
type Markdown string

// MIMEBundle renders m as text/markdown, with the source as text/plain.
func (m Markdown) MIMEBundle() (data, metadata map[string]any) {
	return map[string]any{"text/markdown": string(m), "text/plain": string(m)}, map[string]any{}
}

// SVG is an SVG document, displayed as image/svg+xml.
type SVG string

// MIMEBundle renders s as image/svg+xml, with "<SVG image>" as text/plain.
func (s SVG) MIMEBundle() (data, metadata map[string]any) {
	return map[string]any{"image/svg+xml": string(s), "text/plain": "<SVG image>"}, map[string]any{}
}

// Latex is LaTeX math, displayed as text/latex; delimit it with $...$ or
// $$...$$ as in a Markdown cell.
type Latex string

// MIMEBundle renders l as text/latex, with the source as text/plain.
func (l Latex) MIMEBundle() (data, metadata map[string]any) {
	return map[string]any{"text/latex": string(l), "text/plain": string(l)}, map[string]any{}
}

// Mermaid is a Mermaid diagram, displayed as text/vnd.mermaid (rendered
// natively by JupyterLab 4).
type Mermaid string

// MIMEBundle renders m as text/vnd.mermaid, with the source as text/plain.
func (m Mermaid) MIMEBundle() (data, metadata map[string]any) {
	return map[string]any{"text/vnd.mermaid": string(m), "text/plain": string(m)}, map[string]any{}
}

// Text is plain text, displayed as is (a bare string is shown quoted).
type Text string

// MIMEBundle renders t as text/plain only.
func (t Text) MIMEBundle() (data, metadata map[string]any) {
	return map[string]any{"text/plain": string(t)}, map[string]any{}
}

// PNG is an encoded PNG image, displayed as image/png.
type PNG []byte

// MIMEBundle renders p as base64 image/png with its width and height in the
// metadata.
func (p PNG) MIMEBundle() (data, metadata map[string]any) {
	return encodedImage("image/png", p)
}

// JPEG is an encoded JPEG image, displayed as image/jpeg.
type JPEG []byte

// MIMEBundle renders j as base64 image/jpeg with its width and height in the
// metadata.
func (j JPEG) MIMEBundle() (data, metadata map[string]any) {
	return encodedImage("image/jpeg", j)
}

var _ = jpeg.Decode // register the JPEG decoder for image.DecodeConfig

func encodedImage(mime string, b []byte) (data, metadata map[string]any) {
	data = map[string]any{mime: base64.StdEncoding.EncodeToString(b)}
	metadata = map[string]any{}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil {
		metadata[mime] = map[string]any{"width": cfg.Width, "height": cfg.Height}
		data["text/plain"] = fmt.Sprintf("<image %dx%d>", cfg.Width, cfg.Height)
	} else {
		data["text/plain"] = fmt.Sprintf("<image, %d bytes>", len(b))
	}
	return data, metadata
}

// ImageValue is an image.Image to display as PNG; make one with Image.
type ImageValue struct {
	Img image.Image
}

// Image displays img, encoded as PNG. (A bare image.Image given to Display or
// MIMEBundle is displayed the same way.)
func Image(img image.Image) ImageValue { return ImageValue{Img: img} }

// MIMEBundle encodes the image as PNG: base64 image/png with width and
// height metadata, or text/plain with the error when it cannot be encoded.
func (v ImageValue) MIMEBundle() (data, metadata map[string]any) {
	if v.Img == nil {
		return plain("<nil image>")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, v.Img); err != nil {
		return plain("display: cannot encode image as PNG: " + err.Error())
	}
	b := v.Img.Bounds()
	return map[string]any{
			"image/png":  base64.StdEncoding.EncodeToString(buf.Bytes()),
			"text/plain": fmt.Sprintf("<image %dx%d>", b.Dx(), b.Dy()),
		}, map[string]any{
			"image/png": map[string]any{"width": b.Dx(), "height": b.Dy()},
		}
}

// JSONValue is data to display as application/json; make one with JSON.
type JSONValue struct {
	Value any
}

// JSON displays v as application/json (a collapsible tree in JupyterLab).
// v is anything encoding/json marshals; a string, []byte or json.RawMessage
// is taken as JSON text and parsed, as IPython's JSON does.
func JSON(v any) JSONValue { return JSONValue{Value: v} }

// MIMEBundle renders the value as application/json, with indented JSON as
// text/plain, or text/plain with the error when it is not valid JSON.
func (j JSONValue) MIMEBundle() (data, metadata map[string]any) {
	v, err := normalizeJSON(j.Value)
	if err != nil {
		return plain("display: JSON: " + err.Error())
	}
	text, _ := json.MarshalIndent(v, "", "  ")
	return map[string]any{"application/json": v, "text/plain": string(text)}, map[string]any{}
}

// VegaLiteChart is a Vega-Lite v5 specification; make one with VegaLite.
type VegaLiteChart struct {
	Spec any
}

// VegaLite displays a Vega-Lite v5 chart, as
// application/vnd.vegalite.v5+json, which JupyterLab 4 renders natively.
// spec is a map, a struct that marshals to the spec, or the spec as JSON
// text (string, []byte or json.RawMessage); it must be a JSON object.
func VegaLite(spec any) VegaLiteChart { return VegaLiteChart{Spec: spec} }

// MIMEBundle renders the chart as application/vnd.vegalite.v5+json (a JSON
// object, not a string), with "<VegaLite chart>" as text/plain, or
// text/plain with the error when the spec is not a JSON object.
func (c VegaLiteChart) MIMEBundle() (data, metadata map[string]any) {
	v, err := normalizeJSON(c.Spec)
	if err != nil {
		return plain("display: VegaLite: " + err.Error())
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return plain(fmt.Sprintf("display: VegaLite: the spec must be a JSON object, not %T", v))
	}
	text := "<VegaLite chart>"
	if t, ok := obj["title"].(string); ok && t != "" {
		text = fmt.Sprintf("<VegaLite chart %q>", t)
	}
	return map[string]any{VegaLiteMIME: obj, "text/plain": text}, map[string]any{}
}

// VegaLiteMIME is the MIME type of Vega-Lite charts (v5: JupyterLab 4 does
// not render v6).
const VegaLiteMIME = "application/vnd.vegalite.v5+json"

// normalizeJSON turns v into plain JSON values (map[string]any, []any,
// string, float64, bool, nil), so that the bundle marshals whatever the
// kernel does with it. Strings and byte slices are parsed as JSON text.
func normalizeJSON(v any) (any, error) {
	var raw []byte
	switch x := v.(type) {
	case string:
		raw = []byte(x)
	case []byte:
		raw = x
	case json.RawMessage:
		raw = x
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return out, nil
}
