package magics

import (
	"context"
	"errors"
	"strings"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/kernel"
)

// Evaluator runs cells with magics: it implements kernel.Evaluator over the
// Go evaluator of the session.
type Evaluator struct {
	Go       kernel.Evaluator
	Registry *Registry
}

var _ kernel.Evaluator = (*Evaluator)(nil)

// NewEvaluator returns an Evaluator running Go code with goEval and magics
// from reg.
func NewEvaluator(goEval kernel.Evaluator, reg *Registry) *Evaluator {
	return &Evaluator{Go: goEval, Registry: reg}
}

// part is a run of a cell: Go code or one line magic.
type part struct {
	magic bool
	// text is the Go code, prefixed with one empty line per line of the
	// cell before it so that positions stay on the cell's lines; or the
	// magic line without its %.
	text string
}

// Eval runs code: a cell magic when the cell starts with %%, else the Go
// code and line magics in order. The result is that of the last part.
func (e *Evaluator) Eval(ctx context.Context, code string) (*kernel.Bundle, error) {
	if name, args, body, ok := cellMagic(code); ok {
		return e.runCell(ctx, name, args, body)
	}
	parts := split(code)
	if len(parts) == 1 && !parts[0].magic {
		return e.Go.Eval(ctx, code)
	}
	var last *kernel.Bundle
	for _, p := range parts {
		var err error
		if p.magic {
			last, err = e.runLine(ctx, p.text)
		} else {
			last, err = e.Go.Eval(ctx, p.text)
		}
		if err != nil {
			return nil, err
		}
	}
	return last, nil
}

func (e *Evaluator) runCell(ctx context.Context, name, args, body string) (*kernel.Bundle, error) {
	m, ok := e.Registry.Lookup(name)
	if !ok {
		return nil, usageExec(&UsageError{Msg: "unknown cell magic %%" + name + "; %lsmagic lists the magics"})
	}
	if m.Cell == nil {
		return nil, usageExec(&UsageError{Magic: name, Msg: "%" + name + " is a line magic: write it as %" + name + " (one %)", Usage: m.Usage})
	}
	v, err := m.Cell(ctx, args, body)
	return result(m, v, err)
}

func (e *Evaluator) runLine(ctx context.Context, line string) (*kernel.Bundle, error) {
	name, args, _ := strings.Cut(strings.TrimSpace(line), " ")
	args = strings.TrimSpace(args)
	help := strings.HasSuffix(name, "?") && args == ""
	name = strings.TrimRight(name, "?")
	m, ok := e.Registry.Lookup(name)
	if !ok {
		return nil, usageExec(&UsageError{Msg: "unknown magic %" + name + "; %lsmagic lists the magics"})
	}
	if help {
		return bundle(display.Text(m.Usage)), nil
	}
	if m.Line == nil {
		return nil, usageExec(&UsageError{Magic: name, Msg: "%%" + name + " is a cell magic: put it on the first line of a cell, with the body below", Usage: m.Usage})
	}
	v, err := m.Line(ctx, args)
	return result(m, v, err)
}

func result(m *Magic, v any, err error) (*kernel.Bundle, error) {
	if err != nil {
		var ee *kernel.ExecError
		if errors.As(err, &ee) {
			return nil, ee
		}
		var ue *UsageError
		if errors.As(err, &ue) {
			return nil, usageExec(ue)
		}
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		msg := err.Error()
		return nil, &kernel.ExecError{Name: "MagicError", Value: "%" + m.Name + ": " + msg,
			Traceback: []string{"%" + m.Name + ": " + msg}}
	}
	if v == nil {
		return nil, nil
	}
	return bundle(v), nil
}

func bundle(v any) *kernel.Bundle {
	data, md := display.MIMEBundle(v)
	return &kernel.Bundle{Data: data, Metadata: md}
}

func usageExec(ue *UsageError) error {
	return &kernel.ExecError{Name: "UsageError", Value: ue.Error(), Traceback: strings.Split("UsageError: "+ue.Error(), "\n")}
}

// cellMagic reports whether code starts with a %%name line (after blank
// lines).
func cellMagic(code string) (name, args, body string, ok bool) {
	trimmed := strings.TrimLeft(code, " \t\r\n")
	rest, found := strings.CutPrefix(trimmed, "%%")
	if !found {
		return "", "", "", false
	}
	first, body, _ := strings.Cut(rest, "\n")
	first = strings.TrimSpace(first)
	name, args, _ = strings.Cut(first, " ")
	if !validName(name) {
		return "", "", "", false
	}
	return name, strings.TrimSpace(args), body, true
}

// split cuts code into Go parts and line magics. A line magic is a line
// whose first non-blank character is % outside a raw string or block
// comment.
func split(code string) []part {
	lines := strings.SplitAfter(code, "\n")
	var (
		parts   []part
		goLines []string
		goStart int // cell line of goLines[0]
		st      scanState
	)
	flush := func() {
		if len(goLines) == 0 {
			return
		}
		src := strings.Join(goLines, "")
		if strings.TrimSpace(src) != "" {
			parts = append(parts, part{text: strings.Repeat("\n", goStart) + src})
		}
		goLines = nil
	}
	for i, l := range lines {
		if st.atLineStart() {
			if t := strings.TrimLeft(l, " \t"); strings.HasPrefix(t, "%") && !strings.HasPrefix(t, "%%") {
				flush()
				parts = append(parts, part{magic: true, text: strings.TrimRight(t[1:], "\r\n")})
				continue
			}
		}
		if len(goLines) == 0 {
			goStart = i
		}
		goLines = append(goLines, l)
		st.scan(l)
	}
	flush()
	if len(parts) == 0 {
		return []part{{text: code}}
	}
	return parts
}

// scanState follows Go's lexical state across lines: inside a raw string
// or a block comment a % at the start of a line is Go text.
type scanState struct {
	raw, comment bool
}

func (s *scanState) atLineStart() bool { return !s.raw && !s.comment }

func (s *scanState) scan(line string) {
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case s.raw:
			if c == '`' {
				s.raw = false
			}
		case s.comment:
			if c == '*' && i+1 < len(line) && line[i+1] == '/' {
				s.comment = false
				i++
			}
		case c == '`':
			s.raw = true
		case c == '/' && i+1 < len(line) && line[i+1] == '*':
			s.comment = true
			i++
		case c == '/' && i+1 < len(line) && line[i+1] == '/':
			return
		case c == '"' || c == '\'':
			// An interpreted string or rune ends on this line.
			q := c
			for i++; i < len(line) && line[i] != q; i++ {
				if line[i] == '\\' {
					i++
				}
			}
		}
	}
}

// Complete completes magic names after % or %%, else asks the Go
// evaluator.
func (e *Evaluator) Complete(code string, cursor int) kernel.Completion {
	rs := []rune(code)
	if cursor > len(rs) {
		cursor = len(rs)
	}
	lineStart := cursor
	for lineStart > 0 && rs[lineStart-1] != '\n' {
		lineStart--
	}
	line := string(rs[lineStart:cursor])
	t := strings.TrimLeft(line, " \t")
	if strings.HasPrefix(t, "%") && !strings.ContainsAny(t, " \t") {
		prefix := strings.TrimLeft(t, "%")
		pct := t[:len(t)-len(prefix)]
		c := kernel.Completion{CursorStart: cursor - len([]rune(t)), CursorEnd: cursor}
		for _, n := range e.Registry.Names() {
			m, _ := e.Registry.Lookup(n)
			if !strings.HasPrefix(n, prefix) || (pct == "%%" && m.Cell == nil) || (pct == "%" && m.Line == nil) {
				continue
			}
			c.Matches = append(c.Matches, pct+n)
			c.Types = append(c.Types, "magic")
		}
		return c
	}
	return e.Go.Complete(code, cursor)
}

// Inspect shows a magic's usage when the cursor is on a magic name, else
// asks the Go evaluator.
func (e *Evaluator) Inspect(code string, cursor, detail int) (kernel.Bundle, bool) {
	rs := []rune(code)
	if cursor > len(rs) {
		cursor = len(rs)
	}
	start, end := cursor, cursor
	for start > 0 && rs[start-1] != '\n' {
		start--
	}
	for end < len(rs) && rs[end] != '\n' {
		end++
	}
	t := strings.TrimLeft(string(rs[start:end]), " \t")
	if strings.HasPrefix(t, "%") {
		name, _, _ := strings.Cut(strings.TrimLeft(t, "%"), " ")
		if m, ok := e.Registry.Lookup(strings.TrimRight(name, "?")); ok {
			return *bundle(display.Text(m.Usage)), true
		}
	}
	return e.Go.Inspect(code, cursor, detail)
}

// IsComplete: a cell magic or a single magic line is complete; otherwise
// the Go evaluator decides on the Go parts.
func (e *Evaluator) IsComplete(code string) (status, indent string) {
	if _, _, _, ok := cellMagic(code); ok {
		return "complete", ""
	}
	var goParts []string
	for _, p := range split(code) {
		if !p.magic {
			goParts = append(goParts, p.text)
		}
	}
	if len(goParts) == 0 {
		return "complete", ""
	}
	return e.Go.IsComplete(goParts[len(goParts)-1])
}
