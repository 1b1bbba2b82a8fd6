package display_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"sort"
	"strings"

	"github.com/ferryml/ferry/display"
)

// printer is a Publisher that prints what a frontend would receive.
type printer struct{ answer string }

func (printer) Publish(data, metadata map[string]any, displayID string, update bool) {
	kind := "display_data"
	if update {
		kind = "update_display_data"
	}
	if displayID != "" {
		kind += " id=…"
	}
	fmt.Printf("%s %s\n", kind, strings.Join(keys(data), ","))
	fmt.Printf("  text/plain: %s\n", data["text/plain"])
}

func (printer) Clear(wait bool) { fmt.Printf("clear_output wait=%v\n", wait) }

func (p printer) Input(prompt string, password bool) (string, error) {
	fmt.Printf("input_request %q password=%v\n", prompt, password)
	return p.answer, nil
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func show(v any) {
	data, md := display.MIMEBundle(v)
	for _, k := range keys(data) {
		s := fmt.Sprint(data[k])
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		fmt.Printf("%s: %s\n", k, s)
	}
	for _, k := range keys(md) {
		fmt.Printf("metadata %s: %v\n", k, md[k])
	}
}

func ExampleMIMEBundle() {
	data, _ := display.MIMEBundle(6 * 7)
	fmt.Println(data["text/plain"])
	data, _ = display.MIMEBundle("hi")
	fmt.Println(data["text/plain"])
	data, _ = display.MIMEBundle(struct{ X, Y int }{1, 2})
	fmt.Println(data["text/plain"])
	data, _ = display.MIMEBundle(fmt.Errorf("boom"))
	fmt.Println(data["text/plain"])
	data, _ = display.MIMEBundle(nil)
	fmt.Println(data["text/plain"])
	// Output:
	// 42
	// "hi"
	// {X:1 Y:2}
	// boom
	// <nil>
}

func ExampleHTML() {
	show(display.HTML("<b>bold</b>"))
	// Output:
	// text/html: <b>bold</b>
	// text/plain: <b>bold</b>
}

func ExampleMarkdown() {
	show(display.Markdown("# Title"))
	// Output:
	// text/markdown: # Title
	// text/plain: # Title
}

func ExampleSVG() {
	show(display.SVG(`<svg width="10" height="10"/>`))
	// Output:
	// image/svg+xml: <svg width="10" height="10"/>
	// text/plain: <SVG image>
}

func ExampleLatex() {
	show(display.Latex(`$e^{i\pi} + 1 = 0$`))
	// Output:
	// text/latex: $e^{i\pi} + 1 = 0$
	// text/plain: $e^{i\pi} + 1 = 0$
}

func ExampleJSON() {
	show(display.JSON(map[string]any{"a": 1, "b": []int{2, 3}}))
	// Output:
	// application/json: map[a:1 b:[2 3]]
	// text/plain: {
	//   "a": 1,
	//   "b": [
	//     2,
	//     3
	//   ]
	// }
}

func ExampleVegaLite() {
	show(display.VegaLite(`{
		"title": "points",
		"data": {"values": [{"x": 1, "y": 2}]},
		"mark": "point",
		"encoding": {"x": {"field": "x"}, "y": {"field": "y"}}
	}`))
	// Output:
	// application/vnd.vegalite.v5+json: map[data:map[values:[map[x:1 y:2]]] enco…
	// text/plain: <VegaLite chart "points">
}

func ExampleMermaid() {
	show(display.Mermaid("graph LR; A-->B"))
	// Output:
	// text/plain: graph LR; A-->B
	// text/vnd.mermaid: graph LR; A-->B
}

func ExampleText() {
	show(display.Text("no quotes"))
	// Output:
	// text/plain: no quotes
}

func ExampleImage() {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	show(display.Image(img))
	// Output:
	// image/png: iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAYAAAC0…
	// text/plain: <image 4x3>
	// metadata image/png: map[height:3 width:4]
}

func ExamplePNG() {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2)))
	show(display.PNG(buf.Bytes()))
	// Output:
	// image/png: iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX…
	// text/plain: <image 2x2>
	// metadata image/png: map[height:2 width:2]
}

func ExampleJPEG() {
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 5)), nil)
	data, md := display.MIMEBundle(display.JPEG(buf.Bytes()))
	fmt.Println(keys(data), data["text/plain"], md["image/jpeg"])
	// Output:
	// [image/jpeg text/plain] <image 8x5> map[height:5 width:8]
}

func ExampleSetPublisher() {
	display.SetPublisher(printer{})
	defer display.SetPublisher(nil)
	display.Display(display.HTML("<i>hi</i>"))
	// Output:
	// display_data text/html,text/plain
	//   text/plain: <i>hi</i>
}

func ExampleDisplay() {
	display.SetPublisher(printer{})
	defer display.SetPublisher(nil)
	display.Display(42, display.Markdown("**done**"))
	// Output:
	// display_data text/plain
	//   text/plain: 42
	// display_data text/markdown,text/plain
	//   text/plain: **done**
}

func ExampleNewDisplay() {
	display.SetPublisher(printer{})
	defer display.SetPublisher(nil)
	h := display.NewDisplay(display.Text("step 0"))
	fmt.Println(len(h.ID()))
	// Output:
	// display_data id=… text/plain
	//   text/plain: step 0
	// 32
}

func ExampleHandle_Update() {
	display.SetPublisher(printer{})
	defer display.SetPublisher(nil)
	h := display.NewDisplay(display.Text("step 0"))
	for i := 1; i <= 2; i++ {
		h.Update(display.Text(fmt.Sprintf("step %d", i)))
	}
	// Output:
	// display_data id=… text/plain
	//   text/plain: step 0
	// update_display_data id=… text/plain
	//   text/plain: step 1
	// update_display_data id=… text/plain
	//   text/plain: step 2
}

func ExampleClear() {
	display.SetPublisher(printer{})
	defer display.SetPublisher(nil)
	display.Clear()
	// Output:
	// clear_output wait=false
}

func ExampleClearWait() {
	display.SetPublisher(printer{})
	defer display.SetPublisher(nil)
	display.ClearWait()
	display.Display(display.Text("frame 2"))
	// Output:
	// clear_output wait=true
	// display_data text/plain
	//   text/plain: frame 2
}

func ExampleInput() {
	display.SetPublisher(printer{answer: "Ada"})
	defer display.SetPublisher(nil)
	name, err := display.Input("name: ")
	fmt.Println(name, err)

	display.SetPublisher(nil) // outside a kernel
	_, err = display.Input("name: ")
	fmt.Println(err)
	// Output:
	// input_request "name: " password=false
	// Ada <nil>
	// display: no frontend connected: input needs a running kernel
}

func ExamplePassword() {
	display.SetPublisher(printer{answer: "s3cret"})
	defer display.SetPublisher(nil)
	pw, _ := display.Password("token: ")
	fmt.Println(len(pw))
	// Output:
	// input_request "token: " password=true
	// 6
}
