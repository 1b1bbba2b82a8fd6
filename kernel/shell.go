package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ferryml/ferry/wire"
)

func (k *Kernel) shellWorker(ctx context.Context, q chan *wire.Message) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-q:
			k.handleShell(ctx, m, q)
		}
	}
}

// abortQueued answers every execute_request already queued with status
// "aborted", as ipykernel does after an error with stop_on_error.
// Only requests that arrived before the failure are aborted.
func (k *Kernel) abortQueued(q chan *wire.Message) {
	for range len(q) {
		select {
		case m := <-q:
			if m.Header.MsgType != "execute_request" {
				k.handleShell(context.Background(), m, nil)
				continue
			}
			k.publish(m, "status", map[string]any{"execution_state": "busy"})
			k.reply(k.shell, &k.shellMu, m, map[string]any{"status": "aborted", "execution_count": k.execCount})
			k.publish(m, "status", map[string]any{"execution_state": "idle"})
		default:
			return
		}
	}
}

// handleShell handles one shell request. After an execute that fails with
// stop_on_error it aborts the executes queued in q, before going idle.
func (k *Kernel) handleShell(ctx context.Context, m *wire.Message, q chan *wire.Message) {
	reply := func(content any) { k.reply(k.shell, &k.shellMu, m, content) }
	k.publish(m, "status", map[string]any{"execution_state": "busy"})
	defer k.publish(m, "status", map[string]any{"execution_state": "idle"})
	var ev Evaluator
	switch m.Header.MsgType {
	case "complete_request", "inspect_request", "is_complete_request":
		var err error
		if ev, err = k.evaluator(); err != nil {
			reply(errorContent(err))
			return
		}
	}
	switch m.Header.MsgType {
	case "execute_request":
		if ok := k.execute(ctx, m); !ok && q != nil {
			k.abortQueued(q)
		}
	case "kernel_info_request":
		reply(k.kernelInfo())
	case "complete_request":
		var c struct {
			Code      string `json:"code"`
			CursorPos int    `json:"cursor_pos"`
		}
		_ = json.Unmarshal(m.Content, &c)
		comp := ev.Complete(c.Code, c.CursorPos)
		matches := comp.Matches
		if matches == nil {
			matches = []string{}
		}
		content := map[string]any{"status": "ok", "matches": matches, "cursor_start": comp.CursorStart, "cursor_end": comp.CursorEnd, "metadata": map[string]any{}}
		if len(comp.Types) == len(matches) && len(matches) > 0 {
			types := make([]map[string]any, len(matches))
			for i, mt := range matches {
				types[i] = map[string]any{"text": mt, "type": comp.Types[i], "start": comp.CursorStart, "end": comp.CursorEnd}
			}
			content["metadata"] = map[string]any{"_jupyter_types_experimental": types}
		}
		reply(content)
	case "inspect_request":
		var c struct {
			Code        string `json:"code"`
			CursorPos   int    `json:"cursor_pos"`
			DetailLevel int    `json:"detail_level"`
		}
		_ = json.Unmarshal(m.Content, &c)
		b, found := ev.Inspect(c.Code, c.CursorPos, c.DetailLevel)
		if b.Data == nil {
			b.Data = map[string]any{}
		}
		if b.Metadata == nil {
			b.Metadata = map[string]any{}
		}
		reply(map[string]any{"status": "ok", "found": found, "data": b.Data, "metadata": b.Metadata})
	case "is_complete_request":
		var c struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(m.Content, &c)
		status, indent := ev.IsComplete(c.Code)
		content := map[string]any{"status": status}
		if status == "incomplete" {
			content["indent"] = indent
		}
		reply(content)
	case "history_request":
		reply(k.history.request(m.Content))
	case "comm_info_request":
		var c struct {
			TargetName string `json:"target_name"`
		}
		_ = json.Unmarshal(m.Content, &c)
		reply(map[string]any{"status": "ok", "comms": k.comms.info(c.TargetName)})
	case "comm_open", "comm_msg", "comm_close":
		k.parent.Store(m)
		k.comms.handle(m)
	case "shutdown_request":
		k.doShutdown(m, k.shell, &k.shellMu)
	default:
		k.log.Warn("unsupported shell message", "msg_type", m.Header.MsgType)
	}
}

func errorContent(err error) map[string]any {
	var ee *ExecError
	if errors.As(err, &ee) {
		tb := ee.Traceback
		if tb == nil {
			tb = []string{}
		}
		return map[string]any{"status": "error", "ename": ee.Name, "evalue": ee.Value, "traceback": tb}
	}
	if errors.Is(err, context.Canceled) {
		return map[string]any{"status": "error", "ename": "Interrupted", "evalue": "the cell was interrupted", "traceback": []string{"Interrupted: the cell was interrupted"}}
	}
	return map[string]any{"status": "error", "ename": "Error", "evalue": err.Error(), "traceback": []string{err.Error()}}
}

type executeRequest struct {
	Code            string            `json:"code"`
	Silent          bool              `json:"silent"`
	StoreHistory    *bool             `json:"store_history"`
	UserExpressions map[string]string `json:"user_expressions"`
	AllowStdin      *bool             `json:"allow_stdin"`
	StopOnError     *bool             `json:"stop_on_error"`
}

func (k *Kernel) execute(ctx context.Context, m *wire.Message) (ok bool) {
	var req executeRequest
	if err := json.Unmarshal(m.Content, &req); err != nil {
		k.reply(k.shell, &k.shellMu, m, errorContent(fmt.Errorf("execute_request content is invalid: %w", err)))
		return true
	}
	storeHistory := !req.Silent && (req.StoreHistory == nil || *req.StoreHistory)
	stopOnError := req.StopOnError == nil || *req.StopOnError
	if storeHistory {
		k.execCount++
	}
	count := k.execCount
	k.parent.Store(m)
	if !req.Silent {
		k.publish(m, "execute_input", map[string]any{"code": req.Code, "execution_count": count})
	}
	if storeHistory {
		k.history.add(count, req.Code)
	}

	ev, err := k.evaluator()
	var result *Bundle
	var payload []any
	if err == nil {
		code, pager := pagerRequest(req.Code)
		if pager != "" {
			b, found := ev.Inspect(code, utf8.RuneCountInString(code), map[string]int{"?": 0, "??": 1}[pager])
			if found {
				payload = append(payload, map[string]any{"source": "page", "data": b.Data, "start": 0})
			} else {
				err = &ExecError{Name: "NameError", Value: "no documentation found for " + strings.TrimSpace(code)}
			}
		} else {
			result, err = k.run(ctx, m, req, ev, req.Code)
		}
	}
	k.stdout.Flush()
	k.stderr.Flush()

	content := map[string]any{"execution_count": count, "user_expressions": map[string]any{}, "payload": []any{}}
	if payload != nil {
		content["payload"] = payload
	}
	if err != nil {
		ec := errorContent(err)
		k.publishOutput("error", map[string]any{"ename": ec["ename"], "evalue": ec["evalue"], "traceback": ec["traceback"]})
		for key, v := range ec {
			content[key] = v
		}
		k.reply(k.shell, &k.shellMu, m, content)
		return !stopOnError
	}
	if result != nil && !req.Silent {
		k.publishOutput("execute_result", map[string]any{"execution_count": count, "data": result.Data, "metadata": nonNil(result.Metadata)})
		if text, ok := result.Data["text/plain"].(string); ok && storeHistory {
			k.history.setOutput(count, text)
		}
	}
	if len(req.UserExpressions) > 0 {
		ue := map[string]any{}
		for name, expr := range req.UserExpressions {
			b, err := k.run(ctx, m, req, ev, expr)
			switch {
			case err != nil:
				ue[name] = errorContent(err)
			case b == nil:
				ue[name] = map[string]any{"status": "ok", "data": map[string]any{}, "metadata": map[string]any{}}
			default:
				ue[name] = map[string]any{"status": "ok", "data": b.Data, "metadata": nonNil(b.Metadata)}
			}
		}
		content["user_expressions"] = ue
	}
	content["status"] = "ok"
	k.reply(k.shell, &k.shellMu, m, content)
	return true
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// run evaluates code with a context the user can interrupt.
func (k *Kernel) run(ctx context.Context, m *wire.Message, req executeRequest, ev Evaluator, code string) (*Bundle, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	ctx = context.WithValue(ctx, execKey{}, &execInfo{msg: m, allowStdin: req.AllowStdin == nil || *req.AllowStdin})
	k.runMu.Lock()
	k.cancelExec = cancel
	k.current = ctx
	k.runMu.Unlock()
	defer func() {
		k.runMu.Lock()
		k.cancelExec = nil
		k.current = nil
		k.runMu.Unlock()
		cancel(nil)
	}()
	return ev.Eval(ctx, code)
}

type execKey struct{}

type execInfo struct {
	msg        *wire.Message
	allowStdin bool
}

// pagerRequest splits "name?" / "name??" into the name and the suffix.
func pagerRequest(code string) (name, suffix string) {
	c := strings.TrimSpace(code)
	if strings.Contains(c, "\n") || !strings.HasSuffix(c, "?") {
		return code, ""
	}
	if strings.HasSuffix(c, "??") {
		return strings.TrimSuffix(c, "??"), "??"
	}
	return strings.TrimSuffix(c, "?"), "?"
}
