package display

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"reflect"
	"sync"
	"testing"
)

// call is one recorded Publisher call.
type call struct {
	kind      string // "publish", "clear", "input"
	data, md  map[string]any
	displayID string
	update    bool
	wait      bool
	prompt    string
	password  bool
}

// fake records every call; Input answers answer or err.
type fake struct {
	mu     sync.Mutex
	calls  []call
	answer string
	err    error
}

func (f *fake) Publish(data, metadata map[string]any, displayID string, update bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{kind: "publish", data: data, md: metadata, displayID: displayID, update: update})
}

func (f *fake) Clear(wait bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{kind: "clear", wait: wait})
}

func (f *fake) Input(prompt string, password bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{kind: "input", prompt: prompt, password: password})
	return f.answer, f.err
}

func install(t *testing.T) *fake {
	t.Helper()
	f := &fake{}
	SetPublisher(f)
	t.Cleanup(func() { SetPublisher(nil) })
	return f
}

type point struct{ X, Y int }

type custom struct{}

func (custom) MIMEBundle() (map[string]any, map[string]any) {
	return map[string]any{"text/html": "<p>c</p>"}, nil
}

type stringer struct{}

func (stringer) String() string { return "I am a stringer" }

type nilRenderer struct{ s string }

func (r *nilRenderer) MIMEBundle() (map[string]any, map[string]any) {
	return map[string]any{"text/plain": r.s}, nil
}

func TestMIMEBundleTextPlain(t *testing.T) {
	var nilErr *myErr
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"int", 6 * 7, "42"},
		{"negative float", -1.5, "-1.5"},
		{"bool", true, "true"},
		{"nil", nil, "<nil>"},
		{"string quoted", "a\tb", `"a\tb"`},
		{"empty string", "", `""`},
		{"struct with fields", point{1, 2}, "{X:1 Y:2}"},
		{"pointer to struct", &point{3, 4}, "&{X:3 Y:4}"},
		{"slice", []int{1, 2}, "[1 2]"},
		{"map", map[string]int{"b": 2, "a": 1}, "map[a:1 b:2]"},
		{"error", errors.New("boom"), "boom"},
		{"stringer", stringer{}, "I am a stringer"},
		{"text", Text("plain"), "plain"},
		{"renderer without text/plain", custom{}, "{}"},
		{"typed nil renderer", (*nilRenderer)(nil), "<nil>"},
		{"typed nil error", nilErr, "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, md := MIMEBundle(tt.v)
			if got := data["text/plain"]; got != tt.want {
				t.Errorf("text/plain = %q, want %q", got, tt.want)
			}
			if md == nil {
				t.Error("metadata is nil")
			}
		})
	}
}

type myErr struct{}

func (*myErr) Error() string { return "my error" }

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMIMEBundleTypes(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 5, 7))
	tests := []struct {
		name     string
		v        any
		mime     string
		want     any // expected data[mime]; nil to skip the comparison
		wantMeta any // expected metadata[mime]; nil for none
	}{
		{"HTML", HTML("<b>x</b>"), "text/html", "<b>x</b>", nil},
		{"Markdown", Markdown("*x*"), "text/markdown", "*x*", nil},
		{"SVG", SVG("<svg/>"), "image/svg+xml", "<svg/>", nil},
		{"Latex", Latex("$x$"), "text/latex", "$x$", nil},
		{"Mermaid", Mermaid("graph TD; a-->b"), "text/vnd.mermaid", "graph TD; a-->b", nil},
		{"JSON map", JSON(map[string]int{"a": 1}), "application/json", map[string]any{"a": 1.0}, nil},
		{"JSON struct", JSON(point{1, 2}), "application/json", map[string]any{"X": 1.0, "Y": 2.0}, nil},
		{"JSON text", JSON(`[1,"a"]`), "application/json", []any{1.0, "a"}, nil},
		{"JSON raw", JSON(json.RawMessage(`{"k":null}`)), "application/json", map[string]any{"k": nil}, nil},
		{"VegaLite map", VegaLite(map[string]any{"mark": "bar"}), VegaLiteMIME, map[string]any{"mark": "bar"}, nil},
		{"VegaLite string", VegaLite(`{"mark":"line"}`), VegaLiteMIME, map[string]any{"mark": "line"}, nil},
		{"VegaLite bytes", VegaLite([]byte(`{"mark":"area"}`)), VegaLiteMIME, map[string]any{"mark": "area"}, nil},
		{"VegaLite struct", VegaLite(struct {
			Mark string `json:"mark"`
		}{"tick"}), VegaLiteMIME, map[string]any{"mark": "tick"}, nil},
		{"Image", Image(img), "image/png", nil, map[string]any{"width": 5, "height": 7}},
		{"bare image.Image", img, "image/png", nil, map[string]any{"width": 5, "height": 7}},
		{"PNG", PNG(pngBytes(t, 3, 2)), "image/png", base64.StdEncoding.EncodeToString(pngBytes(t, 3, 2)), map[string]any{"width": 3, "height": 2}},
		{"JPEG not decodable", JPEG([]byte{1, 2, 3}), "image/jpeg", "AQID", nil},
		{"custom renderer", custom{}, "text/html", "<p>c</p>", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, md := MIMEBundle(tt.v)
			got, ok := data[tt.mime]
			if !ok {
				t.Fatalf("no %s in %v", tt.mime, data)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("data[%s] = %#v, want %#v", tt.mime, got, tt.want)
			}
			if _, ok := data["text/plain"].(string); !ok {
				t.Errorf("no text/plain string in %v", data)
			}
			if !reflect.DeepEqual(md[tt.mime], tt.wantMeta) {
				t.Errorf("metadata[%s] = %#v, want %#v", tt.mime, md[tt.mime], tt.wantMeta)
			}
			// The bundle must survive the kernel's JSON encoding.
			if _, err := json.Marshal(map[string]any{"data": data, "metadata": md}); err != nil {
				t.Errorf("bundle does not marshal: %v", err)
			}
		})
	}
}

func TestImagePNGDecodes(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 3))
	data, _ := MIMEBundle(img)
	b, err := base64.StdEncoding.DecodeString(data["image/png"].(string))
	if err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != img.Bounds() {
		t.Errorf("bounds %v, want %v", got.Bounds(), img.Bounds())
	}
}

func TestBadJSONFallsBackToText(t *testing.T) {
	tests := []struct {
		name string
		v    Renderer
		mime string
	}{
		{"JSON invalid text", JSON("{nope"), "application/json"},
		{"JSON unmarshalable", JSON(make(chan int)), "application/json"},
		{"VegaLite invalid", VegaLite("{"), VegaLiteMIME},
		{"VegaLite not an object", VegaLite(`[1,2]`), VegaLiteMIME},
		{"Image nil", Image(nil), "image/png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _ := MIMEBundle(tt.v)
			if _, ok := data[tt.mime]; ok {
				t.Errorf("unexpected %s in %v", tt.mime, data)
			}
			if s, _ := data["text/plain"].(string); s == "" {
				t.Errorf("no explanation in text/plain: %v", data)
			}
		})
	}
}

func TestPublishing(t *testing.T) {
	f := install(t)
	Display(1, HTML("<i>x</i>"))
	h := NewDisplay(Text("a"))
	h.Update(Text("b"))
	h.Display(Text("c"))
	Clear()
	ClearWait()

	want := []call{
		{kind: "publish", data: map[string]any{"text/plain": "1"}, md: map[string]any{}},
		{kind: "publish", data: map[string]any{"text/html": "<i>x</i>", "text/plain": "<i>x</i>"}, md: map[string]any{}},
		{kind: "publish", data: map[string]any{"text/plain": "a"}, md: map[string]any{}, displayID: h.ID()},
		{kind: "publish", data: map[string]any{"text/plain": "b"}, md: map[string]any{}, displayID: h.ID(), update: true},
		{kind: "publish", data: map[string]any{"text/plain": "c"}, md: map[string]any{}, displayID: h.ID()},
		{kind: "clear"},
		{kind: "clear", wait: true},
	}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls:\n%+v\nwant:\n%+v", f.calls, want)
	}
	if len(h.ID()) != 32 {
		t.Errorf("display id %q", h.ID())
	}
	if h2 := NewDisplay(nil); h2.ID() == h.ID() {
		t.Error("display ids repeat")
	}
}

func TestInput(t *testing.T) {
	f := install(t)
	f.answer = "yes"
	tests := []struct {
		name     string
		fn       func(string) (string, error)
		password bool
	}{
		{"Input", Input, false},
		{"Password", Password, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls = nil
			got, err := tt.fn("? ")
			if err != nil || got != "yes" {
				t.Fatalf("got %q, %v", got, err)
			}
			want := []call{{kind: "input", prompt: "? ", password: tt.password}}
			if !reflect.DeepEqual(f.calls, want) {
				t.Errorf("calls %+v, want %+v", f.calls, want)
			}
		})
	}
	f.err = errors.New("stdin not allowed")
	if _, err := Input("x"); err == nil || err.Error() != "stdin not allowed" {
		t.Errorf("error %v, want the publisher's", err)
	}
}

func TestNoPublisher(t *testing.T) {
	SetPublisher(nil)
	// None of these may panic.
	Display(1, 2)
	h := NewDisplay(3)
	h.Update(4)
	h.Display(5)
	Clear()
	ClearWait()
	if h.ID() == "" {
		t.Error("empty display id")
	}
	for _, fn := range []func(string) (string, error){Input, Password} {
		if _, err := fn("p"); !errors.Is(err, ErrNoFrontend) {
			t.Errorf("error %v, want ErrNoFrontend", err)
		}
	}
}

func TestConcurrentDisplay(t *testing.T) {
	f := install(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			Display(i)
			SetPublisher(f)
		}()
	}
	wg.Wait()
	if len(f.calls) != 8 {
		t.Errorf("%d calls, want 8", len(f.calls))
	}
}

// _wrapperRenderer has the shape of the interface wrapper that yaegi extract
// generates, through which an interpreted Renderer reaches this package.
type _wrapperRenderer struct {
	IValue      interface{}
	WMIMEBundle func() (map[string]any, map[string]any)
}

func (w _wrapperRenderer) MIMEBundle() (map[string]any, map[string]any) { return w.WMIMEBundle() }

func TestWrappedRendererText(t *testing.T) {
	w := _wrapperRenderer{IValue: point{1, 2}, WMIMEBundle: func() (map[string]any, map[string]any) {
		return map[string]any{"text/html": "<p/>"}, nil
	}}
	data, _ := MIMEBundle(w)
	if data["text/plain"] != "{X:1 Y:2}" || data["text/html"] != "<p/>" {
		t.Errorf("bundle %v", data)
	}
}
