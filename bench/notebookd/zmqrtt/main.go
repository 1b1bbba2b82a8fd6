// Command zmqrtt measures a kernel's `1+1` execute round trip from a Go
// client: over ZeroMQ with no server in between (the floor that a notebook
// server's websocket relay is compared with in bench/notebookd), or over a
// notebook server's kernel websocket with the same client code, so that
// the difference of the two is the server's own cost.
//
// With -spec it starts the kernel of a kernelspec (kernel.json) itself and
// connects the way notebookd does (zmq4 DEALER for shell and control, SUB
// for IOPub, plain tcp://, HMAC-SHA256 signing with package kernel). With
// -ws it connects to a running kernel's /api/kernels/ID/channels URL,
// offering the v1.kernel.websocket.jupyter.org protocol and falling back to
// legacy JSON when the server does not pick it.
//
// It then reads commands from stdin, one per line, and answers each with one
// JSON line on stdout:
//
//	(at start)      {"pid":N,"start_ns":N}  launch -> first kernel_info_reply
//	                (-spec), or {"protocol":"v1"|"legacy"} (-ws)
//	exec N [CODE]   {"reply_ns":[...],"idle_ns":[...]}  N round trips of CODE
//	                (default 1+1): send -> execute_reply, send -> status idle
//	flood N         {"span_ns":N,"lat_ns":[...]}  (Ferry kernel) a goroutine
//	                sets a displayed IntProgress N times while `1+1` round
//	                trips run back to back: first -> last update, and the
//	                round trips that overlapped the updates (all N updates
//	                are checked to arrive in order)
//	quit            shuts the kernel down (-spec: shutdown_request, then
//	                SIGKILL to its process group) or closes the websocket,
//	                and exits
//
// Usage:
//
//	zmqrtt -spec DIR/kernel.json [-dir TMPDIR]
//	zmqrtt -ws ws://HOST:PORT/api/kernels/ID/channels [-token TOKEN]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry/wire"
)

func main() {
	spec := flag.String("spec", "", "start the kernel of this kernelspec (kernel.json) and talk ZeroMQ to it")
	dir := flag.String("dir", "", "where to write the connection file (default: a new temporary directory)")
	wsURL := flag.String("ws", "", "talk to a running kernel over this websocket URL (ws://.../api/kernels/ID/channels)")
	token := flag.String("token", "", "the server's token (-ws)")
	flag.Parse()
	if (*spec == "") == (*wsURL == "") {
		fmt.Fprintln(os.Stderr, "zmqrtt: give one of -spec DIR/kernel.json or -ws URL")
		os.Exit(2)
	}
	ctx := context.Background()
	var (
		c     *client
		hello map[string]any
		err   error
	)
	if *spec != "" {
		c, hello, err = launch(ctx, *spec, *dir)
	} else {
		c, hello, err = dialWS(ctx, *wsURL, *token)
	}
	if c != nil {
		defer c.close()
	}
	if err == nil {
		err = serve(c, hello, os.Stdin, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zmqrtt:", err)
		c.close()
		os.Exit(1)
	}
}

// client is a connection to one kernel: requests go out with send, and
// what the kernel sends arrives on in.
type client struct {
	session string
	send    func(channel, msgType string, content any) (msgID string, err error)
	in      chan recvd
	gone    chan struct{} // closed when the kernel or the connection is gone
	close   func()
}

// recvd is a message from the kernel and when it arrived.
type recvd struct {
	at      time.Time
	channel string
	msgType string
	parent  string // parent msg_id
	state   string // execution_state of a status message
	status  string // status of a reply
	text    string // text of a stream message
	commID  string // comm_id of a comm_msg
	method  string // data.method of a comm_msg
	value   float64
}

// header returns a new request header of the client's session.
func (c *client) header(msgType string) (id string, h []byte) {
	id = wire.NewID()
	h, _ = json.Marshal(wire.Header{MsgID: id, Session: c.session, Username: "zmqrtt", Date: wire.Now(),
		MsgType: msgType, Version: wire.ProtocolVersion})
	return id, h
}

// received builds a recvd from a message's parts.
func received(at time.Time, channel string, header, parent, content []byte) (recvd, error) {
	var h, p struct {
		MsgID   string `json:"msg_id"`
		MsgType string `json:"msg_type"`
	}
	if err := json.Unmarshal(header, &h); err != nil {
		return recvd{}, fmt.Errorf("bad header: %w", err)
	}
	_ = json.Unmarshal(parent, &p)
	r := recvd{at: at, channel: channel, msgType: h.MsgType, parent: p.MsgID}
	var st struct {
		State  string `json:"execution_state"`
		Status string `json:"status"`
	}
	switch {
	case h.MsgType == "status" || strings.HasSuffix(h.MsgType, "_reply"):
		_ = json.Unmarshal(content, &st)
		r.state, r.status = st.State, st.Status
	case h.MsgType == "stream":
		var s struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(content, &s)
		r.text = s.Text
	case h.MsgType == "comm_msg":
		var cm struct {
			CommID string `json:"comm_id"`
			Data   struct {
				Method string `json:"method"`
				State  struct {
					Value float64 `json:"value"`
				} `json:"state"`
			} `json:"data"`
		}
		_ = json.Unmarshal(content, &cm)
		r.commID, r.method, r.value = cm.CommID, cm.Data.Method, cm.Data.State.Value
	}
	return r, nil
}

func serve(c *client, hello map[string]any, stdin io.Reader, stdout io.Writer) error {
	out := json.NewEncoder(stdout)
	if err := out.Encode(hello); err != nil {
		return err
	}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "quit":
			return nil
		case "exec":
			n := 1
			if len(f) > 1 {
				var err error
				if n, err = strconv.Atoi(f[1]); err != nil || n < 1 {
					return fmt.Errorf("exec %q: want a positive count", f[1])
				}
			}
			code := "1+1"
			if len(f) > 2 {
				code = strings.Join(f[2:], " ")
			}
			reply, idle, err := c.executes(n, code)
			if err != nil {
				return err
			}
			if err := out.Encode(map[string]any{"reply_ns": reply, "idle_ns": idle}); err != nil {
				return err
			}
		case "flood":
			if len(f) != 2 {
				return errors.New("flood: want flood N")
			}
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 1 {
				return fmt.Errorf("flood %q: want a positive count", f[1])
			}
			res, err := c.flood(n)
			if err != nil {
				return err
			}
			if err := out.Encode(res); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown command %q; use exec N [CODE], flood N or quit", f[0])
		}
	}
	return sc.Err()
}

// executes runs code n times; the nanoseconds to each execute_reply and
// status idle.
func (c *client) executes(n int, code string) (reply, idle []int64, err error) {
	content := map[string]any{"code": code, "silent": false, "store_history": true,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true}
	for range n {
		// Drop what earlier requests left (late status messages).
		for len(c.in) > 0 {
			<-c.in
		}
		t0 := time.Now()
		mid, err := c.send("shell", "execute_request", content)
		if err != nil {
			return nil, nil, err
		}
		var tr, ti time.Time
		timeout := time.NewTimer(30 * time.Second)
		for tr.IsZero() || ti.IsZero() {
			select {
			case r := <-c.in:
				if r.parent != mid {
					continue
				}
				switch {
				case r.channel == "shell" && r.msgType == "execute_reply":
					if r.status != "ok" {
						return nil, nil, fmt.Errorf("execute %q: status %q", code, r.status)
					}
					tr = r.at
				case r.channel == "iopub" && r.msgType == "status" && r.state == "idle":
					ti = r.at
				}
			case <-timeout.C:
				return nil, nil, fmt.Errorf("execute %q: no reply in 30 s", code)
			case <-c.gone:
				return nil, nil, errors.New("the kernel or its connection is gone")
			}
		}
		timeout.Stop()
		reply = append(reply, tr.Sub(t0).Nanoseconds())
		idle = append(idle, ti.Sub(t0).Nanoseconds())
	}
	return reply, idle, nil
}

// flood measures execute round trips while the kernel sends n widget
// updates (see the flood command).
func (c *client) flood(n int) (map[string]any, error) {
	setup := fmt.Sprintf("_flood := widgets.NewIntProgress(0, widgets.Max(%d))\nwidgets.Display(_flood)\nfmt.Println(_flood.ModelID())", n)
	out, err := c.run(setup)
	if err != nil {
		return nil, err
	}
	model := strings.TrimSpace(out)
	start := map[string]any{"code": fmt.Sprintf("go func() {\n\tfor i := 1; i <= %d; i++ {\n\t\t_flood.SetValue(i)\n\t}\n}()", n),
		"silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true}
	ex := map[string]any{"code": "1+1", "silent": false, "store_history": true,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true}
	startID, err := c.send("shell", "execute_request", start)
	if err != nil {
		return nil, err
	}
	var (
		started     bool
		pending     string
		t0          time.Time
		got         int
		first, last time.Time
		lat         []int64
	)
	timeout := time.After(120 * time.Second)
	for got < n || pending != "" {
		if started && pending == "" && got < n {
			t0 = time.Now()
			if pending, err = c.send("shell", "execute_request", ex); err != nil {
				return nil, err
			}
		}
		select {
		case r := <-c.in:
			switch {
			case r.channel == "shell" && r.msgType == "execute_reply" && r.parent == startID:
				started = true
			case r.channel == "shell" && r.msgType == "execute_reply" && r.parent == pending:
				if got < n {
					lat = append(lat, r.at.Sub(t0).Nanoseconds())
				}
				pending = ""
			case r.channel == "iopub" && r.msgType == "comm_msg" && r.commID == model && r.method == "update":
				if int(r.value) != got+1 {
					return nil, fmt.Errorf("flood: update %v arrived after %d: lost or out of order", r.value, got)
				}
				got++
				if first.IsZero() {
					first = r.at
				}
				last = r.at
			}
		case <-timeout:
			return nil, fmt.Errorf("flood: %d of %d updates in 120 s", got, n)
		case <-c.gone:
			return nil, errors.New("the kernel or its connection is gone")
		}
	}
	return map[string]any{"span_ns": last.Sub(first).Nanoseconds(), "lat_ns": lat}, nil
}

// run executes code and returns its stdout.
func (c *client) run(code string) (string, error) {
	content := map[string]any{"code": code, "silent": false, "store_history": true,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true}
	mid, err := c.send("shell", "execute_request", content)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	replied, idle := false, false
	timeout := time.After(60 * time.Second)
	for !replied || !idle {
		select {
		case r := <-c.in:
			if r.parent != mid {
				continue
			}
			switch {
			case r.channel == "shell" && r.msgType == "execute_reply":
				if r.status != "ok" {
					return "", fmt.Errorf("execute %q: status %q", code, r.status)
				}
				replied = true
			case r.msgType == "stream":
				out.WriteString(r.text)
			case r.msgType == "status" && r.state == "idle":
				idle = true
			}
		case <-timeout:
			return "", fmt.Errorf("execute %q: no reply in 60 s", code)
		case <-c.gone:
			return "", errors.New("the kernel or its connection is gone")
		}
	}
	return out.String(), nil
}
