package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Stream writes the events of ch to w until ch closes or the client goes
// away: as server-sent events (the event's type as the SSE event name)
// when the request accepts text/event-stream, else as JSON lines. keep
// returns an event's type and whether to send it.
func Stream[E any](w http.ResponseWriter, r *http.Request, ch <-chan E, keep func(E) (string, bool)) error {
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for ev := range ch {
		typ, ok := keep(ev)
		if !ok {
			continue
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		if sse {
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
		} else {
			_, err = fmt.Fprintf(w, "%s\n", b)
		}
		if err != nil {
			return nil // the client went away; returning ends r's context and the watch
		}
		_ = rc.Flush()
	}
	return nil
}

// Watch GETs path, a stream of JSON lines that Stream writes, and sends
// each decoded event on the channel it returns until ctx is done or the
// server ends the stream; then it closes the channel.
func Watch[E any](ctx context.Context, c *Client, path string) (<-chan E, error) {
	req, err := c.NewRequest(ctx, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	ch := make(chan E)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var ev E
			if err := json.Unmarshal(line, &ev); err != nil {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
