package kernel

import (
	"encoding/json"
	"fmt"
	"sync"
)

// CommMsg is a message received on a comm.
type CommMsg struct {
	Data     json.RawMessage
	Metadata json.RawMessage
	Buffers  [][]byte
	// Msg is the whole message, for handlers that need its header.
	Msg *Message
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
	k       *Kernel
	mu      sync.Mutex
	targets map[string]CommTarget
	open    map[string]*Comm
}

func newComms(k *Kernel) *comms {
	return &comms{k: k, targets: map[string]CommTarget{}, open: map[string]*Comm{}}
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
	c := &Comm{ID: NewID(), Target: target, k: k}
	k.comms.mu.Lock()
	k.comms.open[c.ID] = c
	k.comms.mu.Unlock()
	k.publishOutput("comm_open", map[string]any{"comm_id": c.ID, "target_name": target, "data": orObject(data), "metadata": orObject(metadata)}, buffers)
	return c
}

// Comm returns the open comm with id, if any.
func (k *Kernel) Comm(id string) (*Comm, bool) {
	k.comms.mu.Lock()
	defer k.comms.mu.Unlock()
	c, ok := k.comms.open[id]
	return c, ok
}

func orObject(v any) any {
	if v == nil {
		return map[string]any{}
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
	c.k.publishOutput("comm_msg", map[string]any{"comm_id": c.ID, "data": orObject(data), "metadata": orObject(metadata)}, buffers)
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
func (cs *comms) handle(m *Message) {
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
			cs.k.log.Warn("comm_msg for an unknown comm", "comm_id", c.CommID)
			return
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
