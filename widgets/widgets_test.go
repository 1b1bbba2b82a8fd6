package widgets

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// These tests run without a kernel, as a Go program or a headless
// notebook without a frontend does: widgets keep state and call back, and
// nothing is sent. The protocol is tested against a real kernel in
// kernel/comm_widgets_test.go and test/kernel/test_widgets.py.

func TestStateHasModelAndViewNames(t *testing.T) {
	tests := []struct {
		w                  Widget
		model, view, style string
		module, version    string
	}{
		{NewIntSlider(1), "IntSliderModel", "IntSliderView", "SliderStyleModel", controlsModule, "2.0.0"},
		{NewFloatSlider(1), "FloatSliderModel", "FloatSliderView", "SliderStyleModel", controlsModule, "2.0.0"},
		{NewIntRangeSlider(1, 2), "IntRangeSliderModel", "IntRangeSliderView", "SliderStyleModel", controlsModule, "2.0.0"},
		{NewIntProgress(1), "IntProgressModel", "ProgressView", "ProgressStyleModel", controlsModule, "2.0.0"},
		{NewFloatProgress(1), "FloatProgressModel", "ProgressView", "ProgressStyleModel", controlsModule, "2.0.0"},
		{NewHTML("<b>x</b>"), "HTMLModel", "HTMLView", "HTMLStyleModel", controlsModule, "2.0.0"},
		{NewLabel("x"), "LabelModel", "LabelView", "LabelStyleModel", controlsModule, "2.0.0"},
		{NewText("x"), "TextModel", "TextView", "TextStyleModel", controlsModule, "2.0.0"},
		{NewTextarea("x"), "TextareaModel", "TextareaView", "TextStyleModel", controlsModule, "2.0.0"},
		{NewCheckbox(true), "CheckboxModel", "CheckboxView", "CheckboxStyleModel", controlsModule, "2.0.0"},
		{NewButton("x"), "ButtonModel", "ButtonView", "ButtonStyleModel", controlsModule, "2.0.0"},
		{NewDropdown([]string{"a"}), "DropdownModel", "DropdownView", "DescriptionStyleModel", controlsModule, "2.0.0"},
		{NewToggleButtons([]string{"a"}), "ToggleButtonsModel", "ToggleButtonsView", "ToggleButtonsStyleModel", controlsModule, "2.0.0"},
		{NewVBox(), "VBoxModel", "VBoxView", "", controlsModule, "2.0.0"},
		{NewHBox(), "HBoxModel", "HBoxView", "", controlsModule, "2.0.0"},
		{NewTab(nil), "TabModel", "TabView", "", controlsModule, "2.0.0"},
		{NewAccordion(nil), "AccordionModel", "AccordionView", "", controlsModule, "2.0.0"},
		{NewOutput(), "OutputModel", "OutputView", "", outputModule, "1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			st := tt.w.Core().State()
			for key, want := range map[string]any{
				"_model_name": tt.model, "_model_module": tt.module, "_model_module_version": tt.version,
				"_view_name": tt.view, "_view_module": tt.module, "_view_module_version": tt.version,
			} {
				if got := st[key]; got != want {
					t.Errorf("%s: got %v, want %v", key, got, want)
				}
			}
			if l := tt.w.Core().Layout(); l == nil || l.ModelName() != "LayoutModel" || l.Get("_model_module") != baseModule {
				t.Errorf("layout: got %v", l)
			}
			s := tt.w.Core().Style()
			switch {
			case tt.style == "" && s != nil:
				t.Errorf("style: got %s, want none", s.ModelName())
			case tt.style != "" && (s == nil || s.ModelName() != tt.style || s.Get("_view_module") != baseModule):
				t.Errorf("style: got %v, want %s with a base StyleView", s, tt.style)
			}
			// The state is what goes on the wire: it must be JSON.
			if _, err := json.Marshal(st); err != nil {
				t.Errorf("state is not JSON: %v", err)
			}
		})
	}
}

func TestSettersGettersAndObservers(t *testing.T) {
	s := NewIntSlider(5, Min(0), Max(10), Description("n"))
	var got []string
	s.Observe(func(c Change) { got = append(got, fmt.Sprintf("%s %v->%v", c.Name, c.Old, c.New)) })
	s.OnChange(func(v int) { got = append(got, fmt.Sprint("typed ", v)) })
	s.SetValue(7)
	s.SetValue(7)  // no change, no call
	s.SetValue(99) // clamped
	if want := []string{"value 5->7", "typed 7", "value 7->10", "typed 10"}; !reflect.DeepEqual(got, want) {
		t.Errorf("observers: got %q, want %q", got, want)
	}
	if s.Value() != 10 {
		t.Errorf("Value: got %d, want 10", s.Value())
	}

	d := NewDropdown([]string{"red", "green", "blue"})
	var sel []string
	d.OnChange(func(i int, v string) { sel = append(sel, fmt.Sprintf("%d %s", i, v)) })
	d.SetValue("blue")
	if d.Index() != 2 || d.Value() != "blue" || !reflect.DeepEqual(sel, []string{"2 blue"}) {
		t.Errorf("dropdown: index %d value %q observed %q", d.Index(), d.Value(), sel)
	}
	d.SetOptions("x", "y")
	if d.Index() != 0 || d.Value() != "x" {
		t.Errorf("after SetOptions: index %d value %q", d.Index(), d.Value())
	}

	r := NewIntRangeSlider(60, 20)
	r.SetValue(80, 10)
	if lo, hi := r.Value(); lo != 10 || hi != 80 {
		t.Errorf("range: got %d..%d, want 10..80", lo, hi)
	}

	b := NewButton("go")
	clicks := 0
	b.OnClick(func(*Button) { clicks++ })
	b.Click()
	if clicks != 1 {
		t.Errorf("clicks: got %d, want 1", clicks)
	}
}

func TestFrontendUpdateConvertsJSON(t *testing.T) {
	r := NewIntRangeSlider(0, 1)
	var news []any
	r.Observe(func(c Change) { news = append(news, c.New) })
	// What a frontend sends: JSON numbers.
	r.handleMsg(json.RawMessage(`{"method":"update","state":{"value":[3,4],"unknown":1},"buffer_paths":[]}`), nil)
	if lo, hi := r.Value(); lo != 3 || hi != 4 || !reflect.DeepEqual(news, []any{[]int{3, 4}}) {
		t.Errorf("got %d..%d, observed %v", lo, hi, news)
	}
	d := NewToggleButtons([]string{"S", "M", "L"})
	var vals []any
	d.Observe(func(c Change) { vals = append(vals, c.New) })
	d.handleMsg(json.RawMessage(`{"method":"update","state":{"index":1}}`), nil)
	if d.Value() != "M" || !reflect.DeepEqual(vals, []any{"M"}) {
		t.Errorf("toggle: value %q, observed %v", d.Value(), vals)
	}
	// A bad value is ignored, not stored.
	d.handleMsg(json.RawMessage(`{"method":"update","state":{"index":"x"}}`), nil)
	if d.Index() != 1 {
		t.Errorf("after a bad index: got %d, want 1", d.Index())
	}
}

func TestOptionErrorsNameTheWidget(t *testing.T) {
	tests := []struct {
		name string
		make func()
		want string
	}{
		{"option of another widget", func() { NewText("x", Min(1)) }, "option Min does not apply to Text"},
		{"not an integer", func() { NewIntSlider(1, Step(0.5)) }, "IntSlider.step"},
		{"unknown attribute", func() { NewLabel("x").Set("nope", 1) }, `Label has no attribute "nope"`},
		{"unknown dropdown value", func() { NewDropdown([]string{"a"}).SetValue("b") }, `not one of the options`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tt.want) {
					t.Errorf("panic: got %v, want one containing %q", r, tt.want)
				}
			}()
			tt.make()
		})
	}
}

func TestBuffersRoundTrip(t *testing.T) {
	state := map[string]any{
		"a":    []byte("top"),
		"list": []any{1.0, []byte("in list"), map[string]any{"deep": []byte("deep")}},
		"keep": "x",
	}
	st, paths, bufs := removeBuffers(state)
	if _, ok := st["a"]; ok {
		t.Error("a buffer in a map must be left out of the state")
	}
	if l := st["list"].([]any); l[1] != nil {
		t.Errorf("a buffer in a list must become null, got %v", l[1])
	}
	if _, ok := state["a"]; !ok {
		t.Error("removeBuffers changed its input")
	}
	b, err := json.Marshal(map[string]any{"state": st, "buffer_paths": paths})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		State       map[string]any `json:"state"`
		BufferPaths [][]any        `json:"buffer_paths"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	putBuffers(back.State, back.BufferPaths, bufs)
	want := map[string]any{
		"a":    []byte("top"),
		"list": []any{1.0, []byte("in list"), map[string]any{"deep": []byte("deep")}},
		"keep": "x",
	}
	if !reflect.DeepEqual(back.State, want) {
		t.Errorf("round trip: got %v, want %v", back.State, want)
	}
}

func TestInteractCallsWithControlValues(t *testing.T) {
	var calls []string
	box, update := interactive(func(n int, x float64, s string, ok bool, c string) {
		calls = append(calls, fmt.Sprint(n, " ", x, " ", s, " ", ok, " ", c))
	}, []any{Arg("n", []int{2, 10}), 0.5, Arg("s", "ab"), true, []string{"p", "q"}})
	update()
	kids := box.Children()
	if len(kids) != 6 {
		t.Fatalf("children: got %d, want 5 controls and an Output", len(kids))
	}
	if kids[0].Core().Get("description") != "n" || kids[1].Core().Get("description") != "arg2" {
		t.Errorf("labels: got %v, %v", kids[0].Core().Get("description"), kids[1].Core().Get("description"))
	}
	kids[0].(*IntSlider).SetValue(4)
	kids[4].(*Dropdown).SetValue("q")
	want := []string{"2 0.5 ab true p", "4 0.5 ab true p", "4 0.5 ab true q"}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls: got %q, want %q", calls, want)
	}
	if _, ok := kids[5].(*Output); !ok {
		t.Errorf("last child: got %T, want *Output", kids[5])
	}
}

func TestProgressAndJobMonitorWithoutFrontend(t *testing.T) {
	p := NewProgress(50, "work")
	for range 50 {
		p.Add(1)
	}
	p.Done()
	if got := p.bar.Value(); got != 50 {
		t.Errorf("bar after Done: got %d, want 50", got)
	}
	if got := p.label.Value(); !strings.HasPrefix(got, "50/50 [") {
		t.Errorf("label: got %q", got)
	}
	if got := p.bar.Get("bar_style"); got != "success" {
		t.Errorf("bar_style: got %v, want success", got)
	}

	j := NewJobMonitor("train")
	j.SetStatus("Running")
	j.SetProgress(1, 4)
	for i := range 30 {
		j.Log(fmt.Sprintf("line %d", i))
		j.Metric("loss", float64(i), 1/float64(i+1))
	}
	j.Flush()
	if got := j.bar.Value(); got != 0.25 {
		t.Errorf("progress: got %v, want 0.25", got)
	}
	if h := j.header.Value(); !strings.Contains(h, "train") || !strings.Contains(h, "Running") {
		t.Errorf("header: got %q", h)
	}
	if l := j.log.Value(); strings.Contains(l, "line 9\n") || !strings.Contains(l, "line 29") {
		t.Errorf("log tail: want the last %d lines, got %q", JobLogLines, l)
	}
	if c := j.chart.Value(); !strings.Contains(c, "<polyline") || !strings.Contains(c, "loss") {
		t.Errorf("chart: got %q", c)
	}
}

func TestMIMEBundleAndClose(t *testing.T) {
	s := NewIntSlider(3, Description("n"))
	data, _ := s.MIMEBundle()
	view, ok := data[ViewMIME].(map[string]any)
	if !ok || view["model_id"] != s.ModelID() || view["version_major"] != 2 {
		t.Errorf("view: got %v", data)
	}
	if data["text/plain"] != `IntSlider(value=3, description="n")` {
		t.Errorf("text/plain: got %v", data["text/plain"])
	}
	lay := s.Layout()
	s.Close()
	if data, _ := s.MIMEBundle(); data[ViewMIME] != nil {
		t.Error("a closed widget still shows a view")
	}
	if !lay.Closed() || reg.get(s.ModelID()) != nil {
		t.Error("Close must close the layout and forget the model")
	}
}

// Update messages are encoded without a map, to what encoding/json writes.
func TestStateMsgMatchesEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		state map[string]any
		paths [][]any
	}{
		{map[string]any{"value": 3}, nil},
		{map[string]any{"value": 0.5, "description": `a "b" <c>`, "layout": "IPY_MODEL_x", "v": []int{1, 2}}, nil},
		{map[string]any{"value": map[string]any{"z": 1, "a": nil}}, [][]any{{"data", 0}}},
		{map[string]any{}, [][]any{}},
	} {
		got, err := json.Marshal(stateMsg("update", tc.state, tc.paths))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(map[string]any{"method": "update", "state": tc.state, "buffer_paths": nonNilPaths(tc.paths)})
		if string(got) != string(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	// What encoding/json refuses stays a map, so the error is reported as
	// before.
	if _, ok := stateMsg("update", map[string]any{"value": math.NaN()}, nil).(map[string]any); !ok {
		t.Error("NaN state: want the map back")
	}
}
