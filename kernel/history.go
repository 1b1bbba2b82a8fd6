package kernel

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// historyEntry is one executed cell. The history file holds one JSON object
// per line, appended by every kernel of the user, so history outlives
// restarts (as IPython's history database does).
type historyEntry struct {
	Session int    `json:"session"`
	Line    int    `json:"line"`
	Input   string `json:"input"`
	Output  string `json:"output,omitempty"`
	Time    string `json:"time,omitempty"`
}

type history struct {
	mu      sync.Mutex
	f       *os.File // nil: memory only
	session int
	entries []historyEntry
}

// History bounds: the kernel keeps the last historyKeep entries in
// memory, and a history file larger than historyRotateBytes is moved aside
// (to the file's name + ".1", replacing an older one) when a kernel starts,
// and started afresh with those entries. Kernels still appending to the old
// file write into the moved file, so nothing they add is lost.
const (
	historyKeep        = 5000
	historyRotateBytes = 4 << 20
)

// openHistory loads the history file at p (if any) and starts a new session
// numbered after the last one recorded.
func openHistory(p string) (*history, error) {
	h := &history{session: 1}
	if p == "" {
		return h, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return h, fmt.Errorf("kernel: history: %w", err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return h, fmt.Errorf("kernel: history: %w", err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var e historyEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Session <= 0 {
			continue // a torn or foreign line: skip it, keep the rest
		}
		h.append(e)
		h.session = max(h.session, e.Session+1)
	}
	if st, err := f.Stat(); err == nil && st.Size() > historyRotateBytes {
		if nf, err := rotateHistory(p, h.entries); err == nil {
			_ = f.Close()
			f = nf
		} // else keep appending to the big file
	}
	h.f = f
	return h, nil
}

// append adds e, dropping the oldest entries past historyKeep (in
// batches, so appending stays cheap).
func (h *history) append(e historyEntry) {
	if len(h.entries) >= 2*historyKeep {
		h.entries = append(h.entries[:0], h.entries[len(h.entries)-historyKeep:]...)
	}
	h.entries = append(h.entries, e)
}

// rotateHistory moves the file at p to p+".1" and writes entries to a new
// file at p, which it returns open for appending.
func rotateHistory(p string, entries []historyEntry) (*os.File, error) {
	entries = entries[max(0, len(entries)-historyKeep):]
	tmp, err := os.CreateTemp(filepath.Dir(p), filepath.Base(p)+".new-*")
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(tmp)
	for _, e := range entries {
		b, _ := json.Marshal(e)
		w.Write(append(b, '\n'))
	}
	err = errors.Join(w.Flush(), tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(p, p+".1")
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return nil, err
	}
	return os.OpenFile(p, os.O_RDWR|os.O_APPEND, 0o600)
}

func (h *history) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f != nil {
		_ = h.f.Close()
		h.f = nil
	}
}

func (h *history) add(line int, input string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := historyEntry{Session: h.session, Line: line, Input: input, Time: time.Now().UTC().Format(time.RFC3339)}
	h.append(e)
	if h.f != nil {
		b, _ := json.Marshal(e)
		if _, err := h.f.Write(append(b, '\n')); err != nil {
			h.f = nil // keep going in memory
		}
	}
}

// setOutput records the text/plain result of the current session's line.
func (h *history) setOutput(line int, output string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.entries) - 1; i >= 0; i-- {
		if e := &h.entries[i]; e.Session == h.session && e.Line == line {
			e.Output = output
			return
		}
	}
}

type historyRequest struct {
	Output  bool   `json:"output"`
	Raw     bool   `json:"raw"`
	Access  string `json:"hist_access_type"`
	Session int    `json:"session"`
	Start   int    `json:"start"`
	Stop    *int   `json:"stop"`
	N       *int   `json:"n"`
	Pattern string `json:"pattern"`
	Unique  bool   `json:"unique"`
}

// request answers a history_request.
func (h *history) request(content json.RawMessage) map[string]any {
	var r historyRequest
	if err := json.Unmarshal(content, &r); err != nil {
		return map[string]any{"status": "error", "ename": "ValueError", "evalue": "history_request content is invalid: " + err.Error(), "traceback": []string{}, "history": []any{}}
	}
	sel, err := h.query(r)
	if err != nil {
		return map[string]any{"status": "error", "ename": "ValueError", "evalue": err.Error(), "traceback": []string{}, "history": []any{}}
	}
	out := make([]any, len(sel))
	for i, e := range sel {
		if r.Output {
			var o any
			if e.Output != "" {
				o = e.Output
			}
			out[i] = []any{e.Session, e.Line, []any{e.Input, o}}
		} else {
			out[i] = []any{e.Session, e.Line, e.Input}
		}
	}
	return map[string]any{"status": "ok", "history": out}
}

func (h *history) query(r historyRequest) ([]historyEntry, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.Access {
	case "tail":
		n := 10
		if r.N != nil {
			n = *r.N
		}
		return tail(h.entries, n), nil
	case "range":
		s := r.Session
		if s <= 0 {
			s += h.session // 0 is this session, -1 the previous one
		}
		var sel []historyEntry
		for _, e := range h.entries {
			if e.Session == s && e.Line >= r.Start && (r.Stop == nil || e.Line < *r.Stop) {
				sel = append(sel, e)
			}
		}
		return sel, nil
	case "search":
		pat := r.Pattern
		if pat == "" {
			pat = "*"
		}
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("history search pattern %q is not a valid glob: %w", pat, err)
		}
		var sel []historyEntry
		seen := map[string]bool{}
		for i := len(h.entries) - 1; i >= 0; i-- {
			e := h.entries[i]
			if ok, _ := globMatch(pat, e.Input); !ok || (r.Unique && seen[e.Input]) {
				continue
			}
			seen[e.Input] = true
			sel = append(sel, e)
		}
		for i, j := 0, len(sel)-1; i < j; i, j = i+1, j-1 {
			sel[i], sel[j] = sel[j], sel[i]
		}
		if r.N != nil && *r.N > 0 {
			sel = tail(sel, *r.N)
		}
		return sel, nil
	default:
		return nil, errors.New(`hist_access_type must be "tail", "range" or "search"`)
	}
}

func tail(es []historyEntry, n int) []historyEntry {
	if n < 0 {
		n = 0
	}
	if n > len(es) {
		n = len(es)
	}
	return append([]historyEntry(nil), es[len(es)-n:]...)
}

// globMatch matches s against a SQLite-GLOB-style pattern (as IPython's
// history search does): * and ? match any characters, including newlines and
// slashes.
func globMatch(pat, s string) (bool, error) {
	// path.Match stops * at '/'; map it away on both sides.
	const slash = "\x00"
	return path.Match(strings.ReplaceAll(pat, "/", slash), strings.ReplaceAll(s, "/", slash))
}
