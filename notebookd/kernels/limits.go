package kernels

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Limits bound what a kernel's output costs the server and its clients.
// In each field 0 means the default and a negative value no limit.
type Limits struct {
	// IOPubDataRate is the most bytes per second of stream output
	// (stdout, stderr), averaged over RateWindow, that a kernel's clients
	// are sent; past it output is dropped, with a notice, until the rate
	// falls under 80% of it. Default 1e6 (jupyter_server's
	// iopub_data_rate_limit).
	IOPubDataRate float64
	// IOPubMsgRate is the most output messages (stream, display_data,
	// update_display_data, clear_output) per second. Default 1000
	// (jupyter_server's iopub_msg_rate_limit).
	IOPubMsgRate float64
	// RateWindow is the window the rates are averaged over. Default 3 s.
	RateWindow time.Duration
	// MaxMessageBytes bounds a websocket message from a client; a larger
	// one closes the connection with 1009 (message too big). Default
	// 10 MiB (Tornado's websocket_max_message_size).
	MaxMessageBytes int64
	// QueueBytes bounds the messages queued for one websocket client that
	// reads slowly; past it output messages are dropped (with a notice),
	// and when only messages that must not be dropped are left the client
	// is disconnected (it reconnects and gets the replay buffer). Default
	// 16 MiB.
	QueueBytes int
}

// The defaults of Limits.
const (
	DefaultIOPubDataRate   = 1e6
	DefaultIOPubMsgRate    = 1000
	DefaultRateWindow      = 3 * time.Second
	DefaultMaxMessageBytes = 10 << 20
	DefaultQueueBytes      = 16 << 20
)

// withDefaults returns l with defaults for zeros and 0 for "no limit".
func (l Limits) withDefaults() Limits {
	pick := func(v, def float64) float64 {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	l.IOPubDataRate = pick(l.IOPubDataRate, DefaultIOPubDataRate)
	l.IOPubMsgRate = pick(l.IOPubMsgRate, DefaultIOPubMsgRate)
	l.MaxMessageBytes = int64(pick(float64(l.MaxMessageBytes), DefaultMaxMessageBytes))
	l.QueueBytes = int(pick(float64(l.QueueBytes), DefaultQueueBytes))
	if l.RateWindow <= 0 {
		l.RateWindow = DefaultRateWindow
	}
	return l
}

// Replay buffers (iopub and replies kept for a session that disconnected)
// are bounded too; variables so tests can shorten them.
var (
	replayMaxBytes = 16 << 20
)

// isOutput reports whether m is output that the rate limits and slow
// clients may drop. Everything else is never dropped: status (the idle
// that ends a cell included), execute_input, execute_result and error
// (one per execution), comm messages (widgets break without them), and
// every reply on shell, control and stdin.
func isOutput(m *msg) bool {
	if m.channel != "iopub" {
		return false
	}
	switch m.msgType {
	case "stream", "display_data", "update_display_data", "clear_output":
		return true
	}
	return false
}

// msgSize is what m counts against byte limits.
func msgSize(m *msg) int {
	n := 64 + len(m.channel) + len(m.header) + len(m.parent) + len(m.metadata) + len(m.content)
	for _, b := range m.buffers {
		n += len(b)
	}
	return n
}

// rateLimiter is a kernel's IOPub rate limit, as jupyter_server's
// ZMQChannelsWebsocketConnection does it per connection: the output
// messages sent in the last window (and the bytes of the stream ones) are
// counted; past a limit, output is dropped until the rate is under 80% of
// it. Unlike jupyter_server it drops only output (see isOutput), tells
// each cell that loses output (not only the first), and tells how many
// messages were dropped when output resumes or the cell ends.
type rateLimiter struct {
	limits Limits

	sent        []sentMsg // the output sent in the window, oldest first
	head        int
	msgs, bytes int
	msgsOver    bool
	dataOver    bool

	// The request whose output is being dropped.
	drop struct {
		parentID string
		parent   []byte
		n, bytes int
	}
	told string // the request last told that its output is being dropped
}

type sentMsg struct {
	expires time.Time
	bytes   int
}

// filter decides what of m to send at now: m itself, or nothing, preceded
// by the notices due. Called with the kernel's mu held.
func (r *rateLimiter) filter(k *kern, m *msg, now time.Time) []*msg {
	l := r.limits
	if l.IOPubDataRate <= 0 && l.IOPubMsgRate <= 0 {
		return []*msg{m}
	}
	if !isOutput(m) {
		// The idle that ends the cell tells what it lost, before the cell ends.
		if r.drop.n > 0 && m.msgType == "status" && m.parentID == r.drop.parentID &&
			strings.Contains(string(m.content), `"idle"`) {
			return []*msg{r.dropSummary(k), m}
		}
		return []*msg{m}
	}
	for r.head < len(r.sent) && !now.Before(r.sent[r.head].expires) {
		r.msgs--
		r.bytes -= r.sent[r.head].bytes
		r.head++
	}
	if r.head > 1024 && r.head > len(r.sent)/2 {
		r.sent = r.sent[:copy(r.sent, r.sent[r.head:])]
		r.head = 0
	}
	size := 0
	if m.msgType == "stream" {
		size = msgSize(m)
	}
	secs := l.RateWindow.Seconds()
	msgRate, dataRate := float64(r.msgs+1)/secs, float64(r.bytes+size)/secs
	newly := ""
	switch {
	case l.IOPubMsgRate > 0 && msgRate > l.IOPubMsgRate:
		if !r.msgsOver {
			newly = "message"
		}
		r.msgsOver = true
	case r.msgsOver && msgRate < 0.8*l.IOPubMsgRate:
		r.msgsOver = false
	}
	switch {
	case l.IOPubDataRate > 0 && dataRate > l.IOPubDataRate:
		if !r.dataOver && newly == "" {
			newly = "data"
		}
		r.dataOver = true
	case r.dataOver && dataRate < 0.8*l.IOPubDataRate:
		r.dataOver = false
	}
	if !r.msgsOver && !r.dataOver {
		r.sent = append(r.sent, sentMsg{expires: now.Add(l.RateWindow), bytes: size})
		r.msgs++
		r.bytes += size
		if r.drop.n > 0 {
			return []*msg{r.dropSummary(k), m}
		}
		return []*msg{m}
	}
	var out []*msg
	if r.drop.n > 0 && r.drop.parentID != m.parentID {
		out = append(out, r.dropSummary(k))
	}
	if r.drop.n == 0 {
		r.drop.parentID, r.drop.parent = m.parentID, m.parent
	}
	if r.told != m.parentID || newly != "" && m.parentID == "" {
		r.told = m.parentID
		if newly == "" {
			newly = "data"
			if r.msgsOver {
				newly = "message"
			}
		}
		out = append(out, k.noticeMsg(m.parent, r.exceededText(newly)))
	}
	r.drop.n++
	r.drop.bytes += msgSize(m)
	return out
}

// exceededText is the notice that output is being dropped; what is
// "data" or "message".
func (r *rateLimiter) exceededText(what string) string {
	flag, unit, v := "--iopub-data-rate-limit", "bytes/sec", r.limits.IOPubDataRate
	if what == "message" {
		flag, unit, v = "--iopub-msg-rate-limit", "msgs/sec", r.limits.IOPubMsgRate
	}
	return fmt.Sprintf(`IOPub %s rate exceeded.
The server will temporarily stop sending output
to the client in order to avoid crashing it.
To change this limit, set %s
when starting ferry lab (0 turns the limit off).

Current values:
%s=%g (%s)
--rate-limit-window=%g (secs)

Output resumes when the rate falls under 80%% of the limit;
how many messages were dropped is shown then.
`, what, flag, flag, v, unit, r.limits.RateWindow.Seconds())
}

// dropSummary tells the request whose output was dropped how much, and
// resets the count.
func (r *rateLimiter) dropSummary(k *kern) *msg {
	d := r.drop
	r.drop.n, r.drop.bytes, r.drop.parentID, r.drop.parent = 0, 0, "", nil
	return k.noticeMsg(d.parent, fmt.Sprintf("[IOPub rate limit: %d output messages (%s) were dropped here.]\n", d.n, humanBytes(d.bytes)))
}

// slowNotice tells a client that read too slowly (or was disconnected
// too long) what its queue dropped.
func (k *kern) slowNotice(n, bytes int, last *msg) *msg {
	return k.noticeMsg(last.parent, fmt.Sprintf(
		"[%d output messages (%s) were dropped here: this client did not read them as fast as the kernel wrote them.]\n",
		n, humanBytes(bytes)))
}

// noticeMsg makes a stderr stream message from the server, a reply to
// parent (so the frontend shows it in the output of the cell).
func (k *kern) noticeMsg(parent []byte, text string) *msg {
	m := k.ownMsg("stream", "iopub", map[string]string{"name": "stderr", "text": text})
	if len(parent) > 0 && json.Valid(parent) {
		m.parent = parent
		_ = m.parse()
	}
	return m
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
