package kernel

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/ferryml/ferry/internal/jsonenc"

	"github.com/ferryml/ferry/wire"
)

// CommMsg is a message received on a comm.
type CommMsg struct {
	Data     json.RawMessage
	Metadata json.RawMessage
	Buffers  [][]byte
	// Msg is the whole message, for handlers that need its header.
	Msg *wire.Message
}

// Comm is one end of a Jupyter comm: a channel between kernel code and a
// frontend object (widgets use target "jupyter.widget").
type Comm struct {
	ID     string
	Target string
	k      *Kernel

	mu      sync.Mutex
	onMsg   func(CommMsg)
	onClose func(CommMsg)
	closed  bool
}

// CommTarget is called when the frontend opens a comm to a registered target.
type CommTarget func(c *Comm, open CommMsg)

type comms struct {
	k        *Kernel
	mu       sync.Mutex
	targets  map[string]CommTarget
	open     map[string]*Comm
	handlers map[string]commHandler // by target, see HandleComms
}

// commHandler is a target's handler registered with HandleComms.
type commHandler struct {
	owns func(id string) bool
	fn   func(kind, id string, data json.RawMessage, buffers [][]byte)
}

func newComms(k *Kernel) *comms {
	return &comms{k: k, targets: map[string]CommTarget{}, open: map[string]*Comm{}, handlers: map[string]commHandler{}}
}

// RegisterCommTarget makes frontend comm_open messages for target call fn.
func (k *Kernel) RegisterCommTarget(target string, fn CommTarget) {
	k.comms.mu.Lock()
	defer k.comms.mu.Unlock()
	k.comms.targets[target] = fn
}

// OpenComm opens a comm from the kernel side, sending comm_open with data,
// metadata and buffers.
func (k *Kernel) OpenComm(target string, data, metadata any, buffers [][]byte) *Comm {
	return k.openComm(wire.NewID(), target, data, metadata, buffers)
}

func (k *Kernel) openComm(id, target string, data, metadata any, buffers [][]byte) *Comm {
	c := &Comm{ID: id, Target: target, k: k}
	k.comms.mu.Lock()
	k.comms.open[c.ID] = c
	h, ok := k.comms.handlers[target]
	k.comms.mu.Unlock()
	if ok {
		c.forwardTo(h.fn)
	}
	k.publishOutputMeta("comm_open", map[string]any{"comm_id": c.ID, "target_name": target, "data": orObject(data)}, metadata, buffers)
	return c
}

// HandleComms routes the frontend's messages on every comm of target to fn,
// for code that keeps its own registry of comm ids and needs no *Comm
// values: kind is "open" (a comm_open from the frontend), "msg" or "close",
// and data is the message's content.data. The comms the kernel opens with
// OpenCommID for target are routed there too.
//
// A comm_msg for a comm id the kernel does not know is offered to owns:
// after a page reload, a frontend re-creates the comms it had by id and
// sends comm_msg without a comm_open. If owns(id) reports true, the kernel
// adopts the comm as one of target's and fn receives the message.
// owns may be nil. Handlers run on the kernel's shell goroutine, one
// message at a time, never while a cell runs. HandleComms replaces a
// CommTarget registered for target with RegisterCommTarget.
func (k *Kernel) HandleComms(target string, owns func(id string) bool, fn func(kind, id string, data json.RawMessage, buffers [][]byte)) {
	k.comms.mu.Lock()
	defer k.comms.mu.Unlock()
	k.comms.handlers[target] = commHandler{owns: owns, fn: fn}
	k.comms.targets[target] = func(c *Comm, open CommMsg) {
		c.forwardTo(fn)
		fn("open", c.ID, open.Data, open.Buffers)
	}
}

// forwardTo makes the comm's messages and close call fn.
func (c *Comm) forwardTo(fn func(kind, id string, data json.RawMessage, buffers [][]byte)) {
	c.OnMsg(func(m CommMsg) { fn("msg", c.ID, m.Data, m.Buffers) })
	c.OnClose(func(m CommMsg) { fn("close", c.ID, m.Data, m.Buffers) })
}

// OpenCommID opens a comm with the given id from the kernel side, sending
// comm_open with data, metadata (also sent as the message's metadata) and
// buffers. See HandleComms for where the frontend's replies go.
func (k *Kernel) OpenCommID(id, target string, data, metadata any, buffers [][]byte) {
	k.openComm(id, target, data, metadata, buffers)
}

// SendComm sends comm_msg on the open comm id, parented to the current
// request (the running cell, or the comm message being handled).
func (k *Kernel) SendComm(id string, data, metadata any, buffers [][]byte) error {
	c, ok := k.Comm(id)
	if !ok {
		return fmt.Errorf("kernel: comm %s is not open (the frontend closed it, or it was never opened)", id)
	}
	return c.Send(data, metadata, buffers)
}

// CloseComm closes the comm id from the kernel side; a comm that is not
// open is ignored.
func (k *Kernel) CloseComm(id string, data any) {
	if c, ok := k.Comm(id); ok {
		c.Close(data)
	}
}

// ParentMsgID returns the msg_id of the request that output is parented to
// now: the running cell's execute_request, or the comm message being
// handled. It is "" before the first request.
func (k *Kernel) ParentMsgID() string {
	if m := k.parent.Load(); m != nil {
		return m.Header.MsgID
	}
	return ""
}

// Comm returns the open comm with id, if any.
func (k *Kernel) Comm(id string) (*Comm, bool) {
	k.comms.mu.Lock()
	defer k.comms.mu.Unlock()
	c, ok := k.comms.open[id]
	return c, ok
}

// commMsgJSON encodes the content of a comm_msg without building a map:
// widget floods send thousands.
func commMsgJSON(id string, data any) json.RawMessage {
	b := append(make([]byte, 0, 128), `{"comm_id":`...)
	b = jsonenc.AppendString(b, id)
	b = append(b, `,"data":`...)
	if data == nil {
		b = append(b, "{}"...)
	} else {
		var err error
		if b, err = jsonenc.AppendValue(b, data); err != nil {
			return mustJSON(map[string]any{"comm_id": id, "data": data}) // the error, as other contents report it
		}
	}
	return append(b, '}')
}

func orObject(v any) any {
	if v == nil {
		return json.RawMessage("{}")
	}
	return v
}

// OnMsg sets the handler of messages from the frontend.
func (c *Comm) OnMsg(fn func(CommMsg)) { c.mu.Lock(); c.onMsg = fn; c.mu.Unlock() }

// OnClose sets the handler called when the frontend closes the comm.
func (c *Comm) OnClose(fn func(CommMsg)) { c.mu.Lock(); c.onClose = fn; c.mu.Unlock() }

// Send sends comm_msg to the frontend.
func (c *Comm) Send(data, metadata any, buffers [][]byte) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return fmt.Errorf("kernel: comm %s is closed", c.ID)
	}
	c.k.publishOutputMeta("comm_msg", commMsgJSON(c.ID, data), metadata, buffers)
	return nil
}

// Close closes the comm, telling the frontend.
func (c *Comm) Close(data any) {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if already {
		return
	}
	c.k.comms.mu.Lock()
	delete(c.k.comms.open, c.ID)
	c.k.comms.mu.Unlock()
	c.k.publishOutput("comm_close", map[string]any{"comm_id": c.ID, "data": orObject(data)})
}

func (cs *comms) info(target string) map[string]any {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := map[string]any{}
	for id, c := range cs.open {
		if target == "" || c.Target == target {
			out[id] = map[string]any{"target_name": c.Target}
		}
	}
	return out
}

// handle dispatches comm_open, comm_msg and comm_close from the frontend.
// A panic in a handler is reported on stderr and never stops the kernel.
func (cs *comms) handle(m *wire.Message) {
	var c struct {
		CommID     string          `json:"comm_id"`
		TargetName string          `json:"target_name"`
		Data       json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(m.Content, &c); err != nil || c.CommID == "" {
		cs.k.log.Warn("dropped a comm message without comm_id", "msg_type", m.Header.MsgType)
		return
	}
	cm := CommMsg{Data: c.Data, Metadata: m.Metadata, Buffers: m.Buffers, Msg: m}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(cs.k.stderr, "panic in comm handler (%s %s): %v\n", m.Header.MsgType, c.CommID, r)
		}
	}()
	switch m.Header.MsgType {
	case "comm_open":
		cs.mu.Lock()
		fn := cs.targets[c.TargetName]
		var comm *Comm
		if fn != nil {
			comm = &Comm{ID: c.CommID, Target: c.TargetName, k: cs.k}
			cs.open[c.CommID] = comm
		}
		cs.mu.Unlock()
		if fn == nil {
			// As ipykernel: tell the frontend the comm is gone.
			cs.k.log.Warn("comm_open for an unknown target", "target_name", c.TargetName)
			cs.k.publish(m, "comm_close", map[string]any{"comm_id": c.CommID, "data": map[string]any{}})
			return
		}
		fn(comm, cm)
	case "comm_msg":
		comm, ok := cs.k.Comm(c.CommID)
		if !ok {
			if comm = cs.adopt(c.CommID); comm == nil {
				cs.k.log.Warn("comm_msg for an unknown comm", "comm_id", c.CommID)
				return
			}
		}
		comm.mu.Lock()
		fn := comm.onMsg
		comm.mu.Unlock()
		if fn != nil {
			fn(cm)
		}
	case "comm_close":
		comm, ok := cs.k.Comm(c.CommID)
		if !ok {
			return
		}
		cs.mu.Lock()
		delete(cs.open, c.CommID)
		cs.mu.Unlock()
		comm.mu.Lock()
		comm.closed = true
		fn := comm.onClose
		comm.mu.Unlock()
		if fn != nil {
			fn(cm)
		}
	}
}

// adopt returns a comm for an id the kernel does not know but a target's
// handler owns (see HandleComms), registering it as open; nil if none does.
func (cs *comms) adopt(id string) *Comm {
	cs.mu.Lock()
	hs := make(map[string]commHandler, len(cs.handlers))
	for t, h := range cs.handlers {
		hs[t] = h
	}
	cs.mu.Unlock()
	// owns runs without cs.mu held: it may take its own locks, which are
	// held elsewhere while calling into the kernel.
	for target, h := range hs {
		if h.owns == nil || !h.owns(id) {
			continue
		}
		c := &Comm{ID: id, Target: target, k: cs.k}
		c.forwardTo(h.fn)
		cs.mu.Lock()
		if prev, ok := cs.open[id]; ok {
			c = prev
		} else {
			cs.open[id] = c
		}
		cs.mu.Unlock()
		cs.k.log.Debug("adopted a comm the frontend re-created", "comm_id", id, "target_name", target)
		return c
	}
	return nil
}

// publishOutputMeta is publishOutput with message metadata: comm messages
// carry theirs there (the widget protocol puts its version in the
// comm_open's metadata).
func (k *Kernel) publishOutputMeta(msgType string, content, metadata any, buffers [][]byte) {
	k.stdout.Flush()
	k.stderr.Flush()
	k.sendIOPub(&wire.Message{
		Identities: [][]byte{[]byte("kernel." + k.sess + "." + msgType)},
		Header:     k.header(msgType),
		Parent:     parentOf(k.parent.Load()),
		Metadata:   mustJSON(orObject(metadata)),
		Content:    mustJSON(content),
		Buffers:    buffers,
	})
}
