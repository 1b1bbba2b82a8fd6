package kernel

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/widgets"

	"github.com/ferryml/ferry/wire"
)

// startWidgetKernel starts a kernel with the widget layer installed, as
// cmd/ferry does.
func startWidgetKernel(t testing.TB) (*Kernel, *client) {
	t.Helper()
	k, c := startKernel(t, "")
	display.SetPublisher(k)
	widgets.SetKernel(k)
	t.Cleanup(func() { display.SetPublisher(nil) })
	return k, c
}

// sendFull sends a shell message with metadata and buffers; it returns the
// message id.
func (c *client) sendFull(msgType string, content, metadata any, buffers [][]byte) string {
	c.t.Helper()
	h := wire.Header{MsgID: wire.NewID(), Session: c.session, Username: "test", Date: wire.Now(), MsgType: msgType, Version: wire.ProtocolVersion}
	if metadata == nil {
		metadata = map[string]any{}
	}
	frames, err := c.signer.Encode(&wire.Message{Header: h, Metadata: mustJSON(metadata), Content: mustJSON(content), Buffers: buffers})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.shell.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		c.t.Fatal(err)
	}
	return h.MsgID
}

// commData decodes a comm message's content.
type commContent struct {
	CommID     string         `json:"comm_id"`
	TargetName string         `json:"target_name"`
	Data       map[string]any `json:"data"`
}

func decodeComm(t *testing.T, m *wire.Message) commContent {
	t.Helper()
	var cc commContent
	if err := json.Unmarshal(m.Content, &cc); err != nil {
		t.Fatalf("bad comm content %s: %v", m.Content, err)
	}
	return cc
}

// iopubUntil collects iopub messages (of any parent) until one satisfies done.
func (c *client) iopubUntil(done func(*wire.Message) bool) []*wire.Message {
	c.t.Helper()
	var out []*wire.Message
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-c.iopubMsgs:
			out = append(out, m)
			if done(m) {
				return out
			}
		case <-timeout:
			c.t.Fatalf("iopub: condition never met; got %d messages", len(out))
		}
	}
}

func commMsgsOf(t *testing.T, ms []*wire.Message, id string) []commContent {
	t.Helper()
	var out []commContent
	for _, m := range ms {
		if m.Header.MsgType == "comm_msg" {
			if cc := decodeComm(t, m); cc.CommID == id {
				out = append(out, cc)
			}
		}
	}
	return out
}

func TestWidgetCommSequences(t *testing.T) {
	_, c := startWidgetKernel(t)

	// Open with state: layout and style first, then the slider.
	s := widgets.NewIntSlider(5, widgets.Description("n"), widgets.Max(10))
	var opens []commContent
	var openMeta []string
	c.iopubUntil(func(m *wire.Message) bool {
		if m.Header.MsgType == "comm_open" {
			opens = append(opens, decodeComm(t, m))
			openMeta = append(openMeta, string(m.Metadata))
			return opens[len(opens)-1].CommID == s.ModelID()
		}
		return false
	})
	if len(opens) != 3 {
		t.Fatalf("comm_opens: got %d, want 3 (layout, style, slider)", len(opens))
	}
	st := opens[2].Data["state"].(map[string]any)
	for key, want := range map[string]any{
		"_model_name": "IntSliderModel", "_model_module": "@jupyter-widgets/controls", "_model_module_version": "2.0.0",
		"_view_name": "IntSliderView", "_view_module": "@jupyter-widgets/controls", "_view_module_version": "2.0.0",
		"value": 5.0, "max": 10.0, "min": 0.0, "description": "n",
		"layout": "IPY_MODEL_" + opens[0].CommID, "style": "IPY_MODEL_" + opens[1].CommID,
	} {
		if got := st[key]; got != want {
			t.Errorf("state[%s]: got %v, want %v", key, got, want)
		}
	}
	if opens[2].TargetName != "jupyter.widget" || !strings.Contains(openMeta[2], `"version":"2.1.0"`) {
		t.Errorf("comm_open: target %q metadata %s, want jupyter.widget and version 2.1.0", opens[2].TargetName, openMeta[2])
	}
	if bp, ok := opens[2].Data["buffer_paths"].([]any); !ok || len(bp) != 0 {
		t.Errorf("buffer_paths: got %v, want []", opens[2].Data["buffer_paths"])
	}

	t.Run("update from kernel", func(t *testing.T) {
		s.SetValue(9)
		ms := c.iopubUntil(func(m *wire.Message) bool { return m.Header.MsgType == "comm_msg" })
		got := commMsgsOf(t, ms, s.ModelID())
		if len(got) != 1 || got[0].Data["method"] != "update" || got[0].Data["state"].(map[string]any)["value"] != 9.0 {
			t.Fatalf("got %+v, want one update with value 9", got)
		}
	})

	t.Run("update from frontend with echo", func(t *testing.T) {
		var mu sync.Mutex
		var seen []seenChange
		s.Observe(func(ch widgets.Change) {
			mu.Lock()
			seen = append(seen, seenChange{ch.Old, ch.New, ch.FromFrontend})
			mu.Unlock()
		})
		id := c.sendFull("comm_msg", map[string]any{"comm_id": s.ModelID(), "data": map[string]any{"method": "update", "state": map[string]any{"value": 7}, "buffer_paths": []any{}}}, nil, nil)
		ms := c.iopubUntilIdle(id)
		echo := commMsgsOf(t, ms, s.ModelID())
		if len(echo) != 1 || echo[0].Data["method"] != "echo_update" || echo[0].Data["state"].(map[string]any)["value"] != 7.0 {
			t.Fatalf("got %+v, want one echo_update with value 7 parented to the update", echo)
		}
		if got := s.Value(); got != 7 {
			t.Errorf("Value after the frontend's update: got %d, want 7", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if want := []seenChange{{9, 7, true}}; !slices.Equal(seen, want) {
			t.Errorf("observer saw %v, want %v", seen, want)
		}
	})

	t.Run("request_state", func(t *testing.T) {
		id := c.sendFull("comm_msg", map[string]any{"comm_id": s.ModelID(), "data": map[string]any{"method": "request_state"}}, nil, nil)
		got := commMsgsOf(t, c.iopubUntilIdle(id), s.ModelID())
		if len(got) != 1 || got[0].Data["method"] != "update" {
			t.Fatalf("got %+v, want one update", got)
		}
		if st := got[0].Data["state"].(map[string]any); st["value"] != 7.0 || st["_model_name"] != "IntSliderModel" || st["description"] != "n" {
			t.Errorf("full state: got %v", st)
		}
	})

	t.Run("custom click with output to the cell", func(t *testing.T) {
		b := widgets.NewButton("go")
		clicked := 0
		b.OnClick(func(*widgets.Button) {
			clicked++
		})
		widgets.Display(b)
		// The button's view, then the Output its callbacks print to.
		var views []string
		c.iopubUntil(func(m *wire.Message) bool {
			if m.Header.MsgType == "display_data" {
				var d struct {
					Data map[string]any `json:"data"`
				}
				_ = json.Unmarshal(m.Content, &d)
				if v, ok := d.Data[widgets.ViewMIME].(map[string]any); ok {
					views = append(views, v["model_id"].(string))
				}
			}
			return len(views) == 2
		})
		if views[0] != b.ModelID() {
			t.Fatalf("first view: got %s, want the button %s", views[0], b.ModelID())
		}
		out := views[1]
		id := c.sendFull("comm_msg", map[string]any{"comm_id": b.ModelID(), "data": map[string]any{"method": "custom", "content": map[string]any{"event": "click"}}}, nil, nil)
		ms := c.iopubUntilIdle(id)
		if clicked != 1 {
			t.Errorf("click handler ran %d times, want 1", clicked)
		}
		got := commMsgsOf(t, ms, out)
		if len(got) != 2 || got[0].Data["state"].(map[string]any)["msg_id"] != id || got[1].Data["state"].(map[string]any)["msg_id"] != "" {
			t.Errorf("Output msg_id updates: got %+v, want the click's id, then \"\"", got)
		}
	})

	t.Run("a flood of updates arrives whole and in order", func(t *testing.T) {
		p := widgets.NewIntProgress(0, widgets.Max(2000))
		c.iopubUntil(func(m *wire.Message) bool {
			return m.Header.MsgType == "comm_open" && decodeComm(t, m).CommID == p.ModelID()
		})
		go func() {
			for i := 1; i <= 2000; i++ {
				p.SetValue(i)
			}
		}()
		next := 1
		c.iopubUntil(func(m *wire.Message) bool {
			if m.Header.MsgType != "comm_msg" {
				return false
			}
			cc := decodeComm(t, m)
			if cc.CommID != p.ModelID() {
				return false
			}
			if v := cc.Data["state"].(map[string]any)["value"]; v != float64(next) {
				t.Fatalf("update %d: got value %v", next, v)
			}
			next++
			return next > 2000
		})
	})

	t.Run("adopt a comm the frontend re-creates", func(t *testing.T) {
		id := c.sendFull("comm_close", map[string]any{"comm_id": s.ModelID(), "data": map[string]any{}}, nil, nil)
		c.iopubUntilIdle(id)
		id = c.sendFull("comm_msg", map[string]any{"comm_id": s.ModelID(), "data": map[string]any{"method": "request_state"}}, nil, nil)
		if got := commMsgsOf(t, c.iopubUntilIdle(id), s.ModelID()); len(got) != 1 {
			t.Fatalf("after a comm_msg without comm_open: got %+v, want the state", got)
		}
		s.SetValue(3)
		ms := c.iopubUntil(func(m *wire.Message) bool { return m.Header.MsgType == "comm_msg" })
		if got := commMsgsOf(t, ms, s.ModelID()); len(got) != 1 {
			t.Errorf("kernel update on the adopted comm: got %+v", got)
		}
	})

	t.Run("buffers and control request_states", func(t *testing.T) {
		wid := wire.NewID()
		id := c.sendFull("comm_open", map[string]any{"comm_id": wid, "target_name": "jupyter.widget", "data": map[string]any{
			"state":        map[string]any{"_model_name": "CustomModel", "_model_module": "x", "_model_module_version": "1.0.0", "data": map[string]any{"meta": 1}},
			"buffer_paths": []any{[]any{"data", "blob"}},
		}}, map[string]any{"version": "2.1.0"}, [][]byte{{0, 1, 2}})
		c.iopubUntilIdle(id)
		ctl := wire.NewID()
		id = c.sendFull("comm_open", map[string]any{"comm_id": ctl, "target_name": "jupyter.widget.control", "data": map[string]any{}}, map[string]any{"version": "1.0.0"}, nil)
		c.iopubUntilIdle(id)
		id = c.sendFull("comm_msg", map[string]any{"comm_id": ctl, "data": map[string]any{"method": "request_states"}}, nil, nil)
		var reply *wire.Message
		for _, m := range c.iopubUntilIdle(id) {
			if m.Header.MsgType == "comm_msg" {
				reply = m
			}
		}
		if reply == nil {
			t.Fatal("no update_states")
		}
		cc := decodeComm(t, reply)
		if cc.CommID != ctl || cc.Data["method"] != "update_states" {
			t.Fatalf("got %+v, want update_states on the control comm", cc)
		}
		states := cc.Data["states"].(map[string]any)
		sl := states[s.ModelID()].(map[string]any)
		if sl["model_name"] != "IntSliderModel" || sl["model_module_version"] != "2.0.0" || sl["state"].(map[string]any)["value"] != 3.0 {
			t.Errorf("slider's entry: got %v", sl)
		}
		paths := cc.Data["buffer_paths"].([]any)
		i := slices.IndexFunc(paths, func(p any) bool {
			b, _ := json.Marshal(p)
			return string(b) == `["`+wid+`","state","data","blob"]`
		})
		if i < 0 || i >= len(reply.Buffers) || string(reply.Buffers[i]) != "\x00\x01\x02" {
			t.Errorf("buffer: paths %v, %d buffers; want the blob at [%s state data blob]", paths, len(reply.Buffers), wid)
		}
	})
}

// seenChange is what the observer test records.
type seenChange struct {
	Old, New any
	Front    bool
}

// BenchmarkWidgetUpdate measures one kernel-side widget value update: the
// state change, the comm_msg it becomes, and its way onto iopub (allocations
// make the GC run during floods, which delays requests).
func BenchmarkWidgetUpdate(b *testing.B) {
	_, c := startWidgetKernel(b)
	p := widgets.NewIntProgress(0, widgets.Max(1<<30))
	widgets.Display(p)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-c.iopubMsgs:
			case <-done:
				return
			}
		}
	}()
	b.Cleanup(func() { close(done) })
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.SetValue(i + 1)
	}
}
