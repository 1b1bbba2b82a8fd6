package widgets

import (
	"encoding/json"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
)

// Protocol versions this package speaks.
const (
	// ProtocolVersion is the widget messaging protocol version, sent in the
	// metadata of each comm_open.
	ProtocolVersion = "2.1.0"
	// ControlProtocolVersion is the version of the jupyter.widget.control
	// protocol (request_states / update_states).
	ControlProtocolVersion = "1.0.0"
	// Comm targets.
	WidgetTarget  = "jupyter.widget"
	ControlTarget = "jupyter.widget.control"
	// ViewMIME is the MIME type of a widget view in display_data.
	ViewMIME = "application/vnd.jupyter.widget-view+json"
)

// Kernel is the comm layer of a Jupyter kernel as the widgets need it;
// *kernel.Kernel satisfies it. Install one with SetKernel.
type Kernel interface {
	// HandleComms routes the frontend's messages on comms of target to fn
	// (kind "open", "msg" or "close"), and adopts comm ids the kernel does
	// not know for which owns reports true.
	HandleComms(target string, owns func(id string) bool, fn func(kind, id string, data json.RawMessage, buffers [][]byte))
	// OpenCommID sends comm_open for a comm with the given id.
	OpenCommID(id, target string, data, metadata any, buffers [][]byte)
	// SendComm sends comm_msg on an open comm.
	SendComm(id string, data, metadata any, buffers [][]byte) error
	// CloseComm sends comm_close.
	CloseComm(id string, data any)
	// ParentMsgID is the msg_id of the request that output is parented to.
	ParentMsgID() string
}

// registry holds the session's widget models by model id.
type registry struct {
	mu     sync.Mutex
	models map[string]*Model
}

var (
	reg  = &registry{models: map[string]*Model{}}
	kern atomic.Pointer[Kernel]
	// logger reports protocol problems (bad messages from a frontend).
	logger atomic.Pointer[slog.Logger]
)

// SetKernel installs k as the kernel the widgets talk through and registers
// the jupyter.widget and jupyter.widget.control comm targets with it.
// Widgets made before SetKernel stay local (they are never sent).
func SetKernel(k Kernel) {
	kern.Store(&k)
	k.HandleComms(WidgetTarget, ownsModel, handleWidgetComm)
	k.HandleComms(ControlTarget, nil, handleControlComm)
}

// SetLogger sets where protocol problems are logged (default: slog.Default()).
func SetLogger(l *slog.Logger) { logger.Store(l) }

func logf() *slog.Logger {
	if l := logger.Load(); l != nil {
		return l
	}
	return slog.Default()
}

func currentKernel() Kernel {
	if p := kern.Load(); p != nil {
		return *p
	}
	return nil
}

func (r *registry) add(m *Model) {
	r.mu.Lock()
	r.models[m.id] = m
	r.mu.Unlock()
}

func (r *registry) get(id string) *Model {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.models[id]
}

func (r *registry) remove(id string) {
	r.mu.Lock()
	delete(r.models, id)
	r.mu.Unlock()
}

// all returns the live models, oldest first.
func (r *registry) all() []*Model {
	r.mu.Lock()
	ms := make([]*Model, 0, len(r.models))
	for _, m := range r.models {
		ms = append(ms, m)
	}
	r.mu.Unlock()
	sort.Slice(ms, func(i, j int) bool { return ms[i].seq < ms[j].seq })
	return ms
}

func ownsModel(id string) bool { return reg.get(id) != nil }

// handleWidgetComm handles the frontend's messages on jupyter.widget comms.
func handleWidgetComm(kind, id string, data json.RawMessage, buffers [][]byte) {
	switch kind {
	case "open":
		openFromFrontend(id, data, buffers)
	case "msg":
		m := reg.get(id)
		if m == nil {
			logf().Warn("widgets: message for an unknown model", "model_id", id)
			return
		}
		m.handleMsg(data, buffers)
	case "close":
		if m := reg.get(id); m != nil {
			m.frontendClosed()
		}
	}
}

// openFromFrontend makes a generic model for a widget the frontend created
// (comm_open with a state), so that its state is kept and served.
func openFromFrontend(id string, data json.RawMessage, buffers [][]byte) {
	var d struct {
		State       map[string]any `json:"state"`
		BufferPaths [][]any        `json:"buffer_paths"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.State == nil {
		logf().Warn("widgets: comm_open from the frontend without a state", "model_id", id, "err", err)
		return
	}
	putBuffers(d.State, d.BufferPaths, buffers)
	name, _ := d.State["_model_name"].(string)
	m := &Model{id: id, spec: &spec{name: name, kinds: map[string]kind{}}, state: d.State, opened: true}
	m.seq = nextSeq.Add(1)
	reg.add(m)
}

// handleControlComm answers request_states on the control comm.
func handleControlComm(kind, id string, data json.RawMessage, _ [][]byte) {
	if kind != "msg" {
		return
	}
	var d struct {
		Method string `json:"method"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		logf().Warn("widgets: bad control comm message", "err", err)
		return
	}
	if d.Method != "request_states" {
		logf().Warn("widgets: unknown control comm method", "method", d.Method)
		return
	}
	k := currentKernel()
	if k == nil {
		return
	}
	states := map[string]any{}
	for _, m := range reg.all() {
		states[m.id] = map[string]any{
			"model_name":           m.spec.modelName(),
			"model_module":         m.str("_model_module"),
			"model_module_version": m.str("_model_module_version"),
			"state":                m.State(),
		}
	}
	st, paths, bufs := removeBuffers(map[string]any{"states": states})
	if err := k.SendComm(id, map[string]any{"method": "update_states", "states": st["states"], "buffer_paths": trimPaths(paths)}, nil, bufs); err != nil {
		logf().Warn("widgets: update_states", "err", err)
	}
}

// trimPaths drops the leading "states" element of each buffer path.
func trimPaths(paths [][]any) [][]any {
	out := make([][]any, len(paths))
	for i, p := range paths {
		out[i] = p[1:]
	}
	return out
}
