package kernel

import (
	"context"
	"fmt"
	"strings"
)

// Evaluator runs the cells of one kernel session. Calls are serialised by the
// Kernel: at most one method runs at a time.
type Evaluator interface {
	// Eval runs a cell. Output written while the cell runs goes to the
	// writers given when the evaluator was built. The result is the MIME
	// bundle of the cell's trailing expression, or nil when the cell does not
	// end in an expression. When ctx is cancelled (an interrupt) Eval returns
	// promptly with an error wrapping context.Canceled. Errors to show the user
	// are *ExecError.
	Eval(ctx context.Context, code string) (*Bundle, error)

	// Complete returns completions for the code at cursor, a position in
	// Unicode code points.
	Complete(code string, cursor int) Completion

	// Inspect returns documentation for the symbol at cursor (code points);
	// detail is 0 (signature and doc) or 1 (also the source where known).
	// found is false when nothing is known about the symbol.
	Inspect(code string, cursor, detail int) (b Bundle, found bool)

	// IsComplete reports "complete", "incomplete" (with the indent to use for
	// the next line) or "invalid".
	IsComplete(code string) (status, indent string)
}

// Bundle is a MIME bundle: the data and metadata of display_data,
// execute_result and inspect_reply.
type Bundle struct {
	Data     map[string]any `json:"data"`
	Metadata map[string]any `json:"metadata"`
}

// Completion is the content of a complete_reply; positions are code points.
type Completion struct {
	Matches     []string
	CursorStart int
	CursorEnd   int
	// Types gives, per match, a kind such as "function", "package",
	// "keyword", "variable", "type" (sent as _jupyter_types_experimental).
	Types []string
}

// ExecError is an error to report to the user as an "error" output:
// ename, evalue and a traceback whose lines name the cell line.
type ExecError struct {
	Name      string
	Value     string
	Traceback []string
}

func (e *ExecError) Error() string {
	if len(e.Traceback) > 0 {
		return fmt.Sprintf("%s: %s\n%s", e.Name, e.Value, strings.Join(e.Traceback, "\n"))
	}
	return e.Name + ": " + e.Value
}
