package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ferryml/ferry/wire"
)

// streamFlushDelay bounds how long text written by a cell waits before it is
// sent, so output streams while the cell runs without one message per write.
const streamFlushDelay = 5 * time.Millisecond

// streamMaxPending makes a write flush at once when this much text waits.
const streamMaxPending = 64 << 10

// streamWriter turns writes into "stream" messages parented to the latest
// cell. It is safe for concurrent use (goroutines started by cells write too).
type streamWriter struct {
	k     *Kernel
	name  string
	mu    sync.Mutex
	buf   []byte
	timer *time.Timer
}

func newStreamWriter(k *Kernel, name string) *streamWriter {
	w := &streamWriter{k: k, name: name}
	w.timer = time.AfterFunc(time.Hour, w.Flush)
	w.timer.Stop()
	return w
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	first := len(w.buf) == 0
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= streamMaxPending
	w.mu.Unlock()
	switch {
	case full:
		w.Flush()
	case first:
		w.timer.Reset(streamFlushDelay)
	}
	return len(p), nil
}

// Flush sends pending text now.
func (w *streamWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return
	}
	// Keep a trailing partial UTF-8 sequence for the next message.
	n := len(w.buf)
	for i := 1; i <= utf8.UTFMax && i <= n; i++ {
		if utf8.RuneStart(w.buf[n-i]) {
			if !utf8.FullRune(w.buf[n-i:]) {
				n -= i
			}
			break
		}
	}
	text := string(bytes.ToValidUTF8(w.buf[:n], []byte("\uFFFD")))
	w.buf = append(w.buf[:0], w.buf[n:]...)
	w.k.publish(w.k.parent.Load(), "stream", map[string]any{"name": w.name, "text": text})
}

// Publish sends display_data (or update_display_data) for the current cell.
// It makes *Kernel a display.Publisher.
func (k *Kernel) Publish(data, metadata map[string]any, displayID string, update bool) {
	content := map[string]any{"data": data, "metadata": nonNil(metadata), "transient": map[string]any{}}
	if displayID != "" {
		content["transient"] = map[string]any{"display_id": displayID}
	}
	t := "display_data"
	if update {
		t = "update_display_data"
	}
	k.publishOutput(t, content)
}

// Clear sends clear_output for the current cell.
func (k *Kernel) Clear(wait bool) {
	k.publishOutput("clear_output", map[string]any{"wait": wait})
}

// ErrNoStdin is returned by Input when the frontend cannot answer.
var ErrNoStdin = errors.New("kernel: input was requested, but this frontend does not support input requests (allow_stdin is false)")

// Input asks the frontend of the running cell for a line of text.
func (k *Kernel) Input(prompt string, password bool) (string, error) {
	k.runMu.Lock()
	ctx := k.current
	k.runMu.Unlock()
	if ctx == nil {
		return "", errors.New("kernel: input can only be requested while a cell runs")
	}
	info, _ := ctx.Value(execKey{}).(*execInfo)
	if info == nil || !info.allowStdin {
		return "", ErrNoStdin
	}
	k.stdout.Flush()
	k.stderr.Flush()
	// Drop a stale reply, if any.
	select {
	case <-k.inputs:
	default:
	}
	k.log.Debug("input_request", "idents", len(info.msg.Identities))
	k.send(k.stdin, &k.stdinMu, &wire.Message{
		Identities: info.msg.Identities,
		Header:     k.header("input_request"),
		Parent:     parentOf(info.msg),
		Metadata:   json.RawMessage("{}"),
		Content:    mustJSON(map[string]any{"prompt": prompt, "password": password}),
	})
	select {
	case r := <-k.inputs:
		var c struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(r.Content, &c); err != nil {
			return "", errors.New("kernel: input_reply content is invalid")
		}
		return c.Value, nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

// stdinReader is os.Stdin for cells: each read that finds nothing buffered
// asks the frontend for a line.
type stdinReader struct {
	k   *Kernel
	mu  sync.Mutex
	buf []byte
}

func (r *stdinReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		line, err := r.k.Input("", false)
		if err != nil {
			return 0, err
		}
		r.buf = append(r.buf, line...)
		r.buf = append(r.buf, '\n')
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
