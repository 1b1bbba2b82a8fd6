package widgets

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/internal/jsonenc"
)

// Widget is any widget of this package: its model, and the MIME bundle that
// displays it (so display.Display and a cell's trailing expression show it).
type Widget interface {
	// Core returns the widget's model: its id and raw state.
	Core() *Model
	MIMEBundle() (data, metadata map[string]any)
}

// Change describes a change of one state attribute, passed to observers.
type Change struct {
	// Name is the attribute ("value", "index", ...).
	Name string
	// Old and New are the Go values before and after: int, float64,
	// string, bool, []int (range sliders), []string, or nil.
	Old, New any
	// Owner is the widget that changed.
	Owner Widget
	// FromFrontend is true when the change came from a browser.
	FromFrontend bool
}

// Option configures a widget when it is made; see the option functions
// (Description, Min, Max, ...). An option that does not apply to a widget
// (Min on a Text) panics with a message naming the widget.
type Option func(m *Model)

// kind is the Go type of a state attribute, for converting JSON from the
// frontend and values given by cells.
type kind int

const (
	kAny kind = iota
	kString
	kBool
	kInt
	kFloat
	kNullInt
	kNullString
	kNullBool
	kNullFloat
	kIntPair
	kFloatPair
	kStrings
	kRefs
	kRef
	kBytes
)

// spec describes one model type.
type spec struct {
	name        string // Go name, also the model name without "Model"
	module      string // _model_module
	version     string // _model_module_version
	view        string // _view_name; "" for none
	viewModule  string
	viewVersion string
	kinds       map[string]kind
	defaults    map[string]any // beyond the _model_/_view_ keys
	style       string         // style model name; "" for none
	interactive bool           // the user can change it in the browser
	noEcho      map[string]bool
}

func (s *spec) modelName() string { return s.name + "Model" }

// Model is the kernel side of one widget: its comm (the model id) and its
// synchronized state. Every widget type embeds *Model, so its methods (Get,
// Set, Observe, Layout, Close, ...) work on all widgets.
type Model struct {
	id   string
	seq  int64
	spec *spec

	mu        sync.Mutex
	state     map[string]any
	observers []observer
	customs   []func(content map[string]any, buffers [][]byte)
	opened    bool    // comm_open was sent
	closed    bool    // closed from the kernel
	out       *Output // where callbacks print, set by Display
	owner     Widget
}

type observer struct {
	names []string
	fn    func(Change)
}

var nextSeq atomic.Int64

// newModel makes a model of spec s with state defaults, its layout and
// style models, applies opts and opens its comm.
func newModel(s *spec, owner func(*Model) Widget, opts []Option) *Model {
	m := &Model{id: newID(), spec: s, seq: nextSeq.Add(1)}
	m.state = map[string]any{
		"_model_name": s.modelName(), "_model_module": s.module, "_model_module_version": s.version,
		"_view_name": s.view, "_view_module": s.viewModule, "_view_module_version": s.viewVersion,
	}
	if s.view == "" {
		m.state["_view_name"] = nil
	}
	for k, v := range s.defaults {
		m.state[k] = cloneValue(v)
	}
	if _, ok := s.kinds["layout"]; ok {
		m.state["layout"] = ref(newLayout())
	}
	if s.style != "" {
		m.state["style"] = ref(newStyle(s.style))
	}
	if owner != nil {
		m.owner = owner(m)
	} else {
		m.owner = m
	}
	for _, o := range opts {
		if o != nil {
			o(m)
		}
	}
	reg.add(m)
	m.open()
	return m
}

// open sends comm_open with the full state, once, if a kernel is installed.
func (m *Model) open() {
	k := currentKernel()
	if k == nil {
		return
	}
	m.mu.Lock()
	if m.opened || m.closed {
		m.mu.Unlock()
		return
	}
	m.opened = true
	st, paths, bufs := removeBuffers(m.stateLocked())
	m.mu.Unlock()
	k.OpenCommID(m.id, WidgetTarget, map[string]any{"state": st, "buffer_paths": nonNilPaths(paths)}, map[string]any{"version": ProtocolVersion}, bufs)
}

// stateMsg is the data of an update or echo_update message, encoded here
// (keys in the order encoding/json writes them) so that a loop updating a
// widget does not marshal a map per update.
func stateMsg(method string, state map[string]any, paths [][]any) any {
	keys := make([]string, 0, len(state))
	for k := range state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// What encoding/json refuses stays a map, and its error is reported
	// where every message's is.
	asMap := func() any {
		return map[string]any{"method": method, "state": state, "buffer_paths": nonNilPaths(paths)}
	}
	b := append(make([]byte, 0, 96), `{"buffer_paths":`...)
	var err error
	if b, err = jsonenc.AppendValue(b, nonNilPaths(paths)); err != nil {
		return asMap()
	}
	b = append(b, `,"method":`...)
	b = jsonenc.AppendString(b, method)
	b = append(b, `,"state":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, k)
		b = append(b, ':')
		if b, err = jsonenc.AppendValue(b, state[k]); err != nil {
			return asMap()
		}
	}
	return json.RawMessage(append(b, "}}"...))
}

func nonNilPaths(p [][]any) [][]any {
	if p == nil {
		return [][]any{}
	}
	return p
}

// ref is the state value that refers to another widget.
func ref(w Widget) string { return "IPY_MODEL_" + w.Core().id }

// Core returns the model itself; it makes *Model a Widget.
func (m *Model) Core() *Model { return m }

// ModelID returns the model id: the id of the widget's comm.
func (m *Model) ModelID() string { return m.id }

// ModelName returns the model name, like "IntSliderModel".
func (m *Model) ModelName() string { return m.str("_model_name") }

func (m *Model) str(key string) string {
	s, _ := m.Get(key).(string)
	return s
}

// Get returns the state attribute key as a Go value (see Change), or nil.
func (m *Model) Get(key string) any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneValue(m.state[key])
}

// State returns a copy of the whole state as sent to the frontend.
func (m *Model) State() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stateLocked()
}

func (m *Model) stateLocked() map[string]any {
	out := make(map[string]any, len(m.state))
	for k, v := range m.state {
		out[k] = cloneValue(v)
	}
	return out
}

// Set changes state attribute key to value and sends the change to the
// frontends; observers of key are called. value is converted to the
// attribute's type (an int for an IntSlider's "value", []int for a range);
// Set panics if key is not an attribute of the widget or value does not
// fit. Set is how to reach attributes that have no typed setter.
func (m *Model) Set(key string, value any) {
	m.setMany([]string{key}, []any{value})
}

// setMany sets attributes from the kernel side, in one update message.
func (m *Model) setMany(keys []string, values []any) {
	changes := make([]Change, 0, len(keys))
	sent := map[string]any{}
	m.mu.Lock()
	for i, key := range keys {
		v, err := m.coerce(key, values[i])
		if err != nil {
			m.mu.Unlock()
			panic(err.Error())
		}
		old := m.state[key]
		if equal(old, v) {
			continue
		}
		m.state[key] = v
		sent[key] = cloneValue(v)
		changes = append(changes, Change{Name: key, Old: old, New: cloneValue(v), Owner: m.owner})
	}
	send := m.opened && !m.closed && len(sent) > 0
	m.mu.Unlock()
	if send {
		st, paths, bufs := removeBuffers(sent)
		m.send(stateMsg("update", st, paths), bufs)
	}
	m.notify(changes)
}

// send sends a comm message on the model's comm; a closed comm is skipped.
func (m *Model) send(data any, bufs [][]byte) {
	k := currentKernel()
	if k == nil {
		return
	}
	if err := k.SendComm(m.id, data, nil, bufs); err != nil {
		logf().Debug("widgets: not sent", "model_id", m.id, "err", err)
	}
	pace()
}

// Pacing of comm messages, see pace.
const (
	paceBurst = 4 * time.Millisecond // longest run of sends without a pause
	pauseFor  = time.Millisecond
)

var paced struct {
	sync.Mutex
	start, last time.Time
}

// pace lets the kernel answer requests while a loop updates widgets as
// fast as it can. Such a loop never blocks, and while every P runs a
// goroutine that does not block, the Go scheduler looks for network input
// (a shell request) only every 10 ms (sysmon). So a sender that has been
// sending for paceBurst without a break sleeps pauseFor: a P goes idle and
// polls the network, and a request waits at most about paceBurst. A loop
// loses at most a fifth of its top rate; sends with gaps never sleep.
func pace() {
	paced.Lock()
	now := time.Now()
	if now.Sub(paced.last) > pauseFor {
		paced.start = now // a new run of sends
	}
	paced.last = now
	sleep := now.Sub(paced.start) > paceBurst
	paced.Unlock()
	if !sleep {
		return
	}
	time.Sleep(pauseFor)
	paced.Lock()
	paced.start = time.Now()
	paced.last = paced.start
	paced.Unlock()
}

// notify calls the observers of changes.
func (m *Model) notify(changes []Change) {
	if len(changes) == 0 {
		return
	}
	m.mu.Lock()
	obs := slices.Clone(m.observers)
	m.mu.Unlock()
	for _, c := range changes {
		for _, o := range obs {
			if matches(o.names, c.Name) {
				o.fn(c)
			}
		}
	}
}

func matches(names []string, name string) bool {
	if len(names) == 0 {
		return name == "value"
	}
	for _, n := range names {
		if n == name || n == "*" {
			return true
		}
	}
	return false
}

// Observe calls fn after each change of the named attributes, whether a
// cell or a browser made it; with no names it observes "value" (for
// Dropdown and ToggleButtons, "value" changes with "index"), and "*"
// observes every attribute.
func (m *Model) Observe(fn func(Change), names ...string) {
	if fn == nil {
		return
	}
	m.mu.Lock()
	m.observers = append(m.observers, observer{names: names, fn: fn})
	m.mu.Unlock()
}

// OnCustom calls fn for each custom message from the frontend (a button's
// click is one: {"event": "click"}).
func (m *Model) OnCustom(fn func(content map[string]any, buffers [][]byte)) {
	if fn == nil {
		return
	}
	m.mu.Lock()
	m.customs = append(m.customs, fn)
	m.mu.Unlock()
}

// Send sends a custom message to the widget's frontend model.
func (m *Model) Send(content map[string]any, buffers [][]byte) {
	m.mu.Lock()
	ok := m.opened && !m.closed
	m.mu.Unlock()
	if ok {
		m.send(map[string]any{"method": "custom", "content": content}, buffers)
	}
}

// Close closes the widget: its views disappear from the frontend and it
// no longer syncs. Its layout and style are closed with it.
func (m *Model) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	opened := m.opened
	lay, _ := m.state["layout"].(string)
	sty, _ := m.state["style"].(string)
	m.mu.Unlock()
	reg.remove(m.id)
	if k := currentKernel(); k != nil && opened {
		k.CloseComm(m.id, nil)
	}
	for _, r := range []string{lay, sty} {
		if c := reg.get(strings.TrimPrefix(r, "IPY_MODEL_")); c != nil && r != "" {
			c.Close()
		}
	}
}

// Closed reports whether Close was called.
func (m *Model) Closed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// frontendClosed is called when the frontend closes the comm. The model
// stays: a frontend that re-creates it by id (after a page reload) finds
// it, and the kernel adopts the comm again.
func (m *Model) frontendClosed() {
	logf().Debug("widgets: the frontend closed a comm", "model", m.spec.name, "model_id", m.id)
}

// Layout returns the widget's Layout (CSS of its box), or nil if it has none.
func (m *Model) Layout() *Layout {
	r, _ := m.Get("layout").(string)
	if c := reg.get(strings.TrimPrefix(r, "IPY_MODEL_")); c != nil {
		if l, ok := c.owner.(*Layout); ok {
			return l
		}
	}
	return nil
}

// Style returns the widget's Style, or nil if it has none.
func (m *Model) Style() *Style {
	r, _ := m.Get("style").(string)
	if c := reg.get(strings.TrimPrefix(r, "IPY_MODEL_")); c != nil {
		if s, ok := c.owner.(*Style); ok {
			return s
		}
	}
	return nil
}

// MIMEBundle displays the widget: the widget-view MIME type for JupyterLab
// and a text/plain summary for other frontends.
func (m *Model) MIMEBundle() (data, metadata map[string]any) {
	data = map[string]any{"text/plain": m.String()}
	if !m.Closed() {
		data[ViewMIME] = map[string]any{"version_major": 2, "version_minor": 0, "model_id": m.id}
	}
	return data, map[string]any{}
}

// String summarizes the widget, like IntSlider(value=5, description="n").
func (m *Model) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var parts []string
	for _, k := range []string{"value", "index", "description"} {
		if v, ok := m.state[k]; ok && v != nil && v != "" {
			if s, ok := v.(string); ok {
				parts = append(parts, fmt.Sprintf("%s=%q", k, s))
			} else {
				parts = append(parts, fmt.Sprintf("%s=%v", k, v))
			}
		}
	}
	return m.spec.name + "(" + strings.Join(parts, ", ") + ")"
}

// handleMsg handles a comm message from the frontend.
func (m *Model) handleMsg(data json.RawMessage, buffers [][]byte) {
	var d struct {
		Method      string          `json:"method"`
		State       map[string]any  `json:"state"`
		BufferPaths [][]any         `json:"buffer_paths"`
		Content     json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		logf().Warn("widgets: bad comm message", "model_id", m.id, "err", err)
		return
	}
	switch d.Method {
	case "update":
		if d.State == nil {
			return
		}
		putBuffers(d.State, d.BufferPaths, buffers)
		m.fromFrontend(d.State)
	case "request_state":
		st, paths, bufs := removeBuffers(m.State())
		m.send(stateMsg("update", st, paths), bufs)
	case "custom":
		var content map[string]any
		_ = json.Unmarshal(d.Content, &content)
		m.mu.Lock()
		fns := slices.Clone(m.customs)
		m.mu.Unlock()
		if len(fns) == 0 {
			return
		}
		m.callback(func() {
			for _, fn := range fns {
				fn(content, buffers)
			}
		})
	default:
		logf().Warn("widgets: unknown method from the frontend", "model_id", m.id, "method", d.Method)
	}
}

// fromFrontend applies a state update from a frontend: it echoes the update
// to all frontends (echo_update, protocol 2.1), stores the values and calls
// the observers.
func (m *Model) fromFrontend(state map[string]any) {
	echo := map[string]any{}
	var changes []Change
	m.mu.Lock()
	keys := make([]string, 0, len(state))
	for k := range state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if _, known := m.spec.kinds[key]; !known && len(m.spec.kinds) > 0 {
			logf().Debug("widgets: ignored an unknown attribute from the frontend", "model", m.spec.name, "key", key)
			continue
		}
		if !m.spec.noEcho[key] {
			echo[key] = state[key]
		}
		v, err := m.coerce(key, state[key])
		if err != nil {
			logf().Warn("widgets: ignored a bad value from the frontend", "model", m.spec.name, "key", key, "err", err)
			continue
		}
		old := m.state[key]
		if equal(old, v) {
			continue
		}
		m.state[key] = v
		changes = append(changes, Change{Name: key, Old: old, New: cloneValue(v), Owner: m.owner, FromFrontend: true})
	}
	opened := m.opened
	m.mu.Unlock()
	if len(echo) > 0 && opened {
		st, paths, bufs := removeBuffers(echo)
		m.send(stateMsg("echo_update", st, paths), bufs)
	}
	changes = m.derived(changes)
	if !m.observed(changes) {
		return
	}
	m.callback(func() { m.notify(changes) })
}

// observed reports whether an observer wants one of changes, so that a
// change nobody observes costs no output capture.
func (m *Model) observed(changes []Change) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range changes {
		for _, o := range m.observers {
			if matches(o.names, c.Name) {
				return true
			}
		}
	}
	return false
}

// derived adds the "value" change of selection widgets, whose frontend
// syncs only "index".
func (m *Model) derived(changes []Change) []Change {
	if _, ok := m.spec.kinds["_options_labels"]; !ok {
		return changes
	}
	for _, c := range changes {
		if c.Name == "index" {
			labels, _ := m.Get("_options_labels").([]string)
			changes = append(changes, Change{Name: "value", Old: labelAt(labels, c.Old), New: labelAt(labels, c.New), Owner: m.owner, FromFrontend: c.FromFrontend})
			break
		}
	}
	return changes
}

func labelAt(labels []string, i any) any {
	if n, ok := i.(int); ok && n >= 0 && n < len(labels) {
		return labels[n]
	}
	return nil
}

// callback runs fn for a frontend event: inside the Output that Display
// placed under the widget (so what it prints shows in that cell), with a
// panic reported there instead of ending the kernel.
func (m *Model) callback(fn func()) {
	m.mu.Lock()
	out := m.out
	m.mu.Unlock()
	run := func() {
		defer func() {
			if r := recover(); r != nil {
				display.Display(panicReport{fmt.Sprintf("panic in a callback of %s (recovered; the kernel goes on): %v", m.spec.name, r)})
			}
		}()
		fn()
	}
	if out != nil && currentKernel() != nil {
		out.Capture(run)
		return
	}
	run()
}

// panicReport shows a recovered panic as an error-styled output.
type panicReport struct{ msg string }

func (p panicReport) MIMEBundle() (map[string]any, map[string]any) {
	return map[string]any{
		"text/plain": p.msg,
		"text/html":  `<pre style="color: var(--jp-error-color1, #d32f2f)">` + htmlEscape(p.msg) + `</pre>`,
	}, map[string]any{}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// coerce converts v to the Go type of attribute key.
func (m *Model) coerce(key string, v any) (any, error) {
	k, ok := m.spec.kinds[key]
	if !ok {
		if len(m.spec.kinds) == 0 || strings.HasPrefix(key, "_") {
			return v, nil
		}
		return nil, fmt.Errorf("widgets: %s has no attribute %q", m.spec.name, key)
	}
	out, err := convert(k, v)
	if err != nil {
		return nil, fmt.Errorf("widgets: %s.%s: %w", m.spec.name, key, err)
	}
	return out, nil
}

func convert(k kind, v any) (any, error) {
	if v == nil {
		switch k {
		case kNullInt, kNullString, kNullBool, kNullFloat, kAny, kRef:
			return nil, nil
		case kStrings, kRefs:
			return []string{}, nil
		}
		return nil, fmt.Errorf("null is not allowed")
	}
	switch k {
	case kAny:
		return v, nil
	case kString, kNullString, kRef:
		switch x := v.(type) {
		case string:
			return x, nil
		case Widget:
			if k == kRef {
				return ref(x), nil
			}
		}
	case kBool, kNullBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kInt, kNullInt:
		if n, ok := toFloat(v); ok {
			if n != math.Trunc(n) {
				return nil, fmt.Errorf("%v is not an integer", v)
			}
			return int(n), nil
		}
	case kFloat, kNullFloat:
		if n, ok := toFloat(v); ok {
			return n, nil
		}
	case kIntPair, kFloatPair:
		rv := reflect.ValueOf(v)
		if (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) && rv.Len() == 2 {
			var fs [2]float64
			for i := range 2 {
				n, ok := toFloat(rv.Index(i).Interface())
				if !ok {
					return nil, fmt.Errorf("%v is not a pair of numbers", v)
				}
				fs[i] = n
			}
			if k == kIntPair {
				return []int{int(fs[0]), int(fs[1])}, nil
			}
			return []float64{fs[0], fs[1]}, nil
		}
		return nil, fmt.Errorf("%v is not a pair of numbers", v)
	case kStrings, kRefs:
		switch x := v.(type) {
		case []string:
			return slices.Clone(x), nil
		case []Widget:
			out := make([]string, len(x))
			for i, w := range x {
				out[i] = ref(w)
			}
			return out, nil
		case []any:
			out := make([]string, len(x))
			for i, e := range x {
				switch s := e.(type) {
				case string:
					out[i] = s
				case Widget:
					out[i] = ref(s)
				default:
					return nil, fmt.Errorf("%v is not a list of strings", v)
				}
			}
			return out, nil
		}
	case kBytes:
		switch x := v.(type) {
		case []byte:
			return slices.Clone(x), nil
		case string:
			return []byte(x), nil
		}
	}
	return nil, fmt.Errorf("%v (%T) does not fit", v, v)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func equal(a, b any) bool { return reflect.DeepEqual(a, b) }

// cloneValue copies slices so callers cannot change the state in place.
func cloneValue(v any) any {
	switch x := v.(type) {
	case []int:
		return slices.Clone(x)
	case []float64:
		return slices.Clone(x)
	case []string:
		return slices.Clone(x)
	case []byte:
		return slices.Clone(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneValue(e)
		}
		return out
	}
	return v
}

func trimRef(r string) string { return strings.TrimPrefix(r, "IPY_MODEL_") }
