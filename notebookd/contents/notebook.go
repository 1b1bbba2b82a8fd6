package contents

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// validateNotebook checks that nb is an nbformat 4 notebook, to the extent
// a contents manager needs: the top-level fields, and the type of each
// cell's fields. The error names the first problem and its JSON path.
func validateNotebook(nb map[string]any) error {
	v, ok := nb["nbformat"]
	if !ok {
		return fmt.Errorf("nbformat: missing")
	}
	if n, ok := integer(v); !ok || n != 4 {
		return fmt.Errorf("nbformat: must be 4, not %s", show(v))
	}
	v, ok = nb["nbformat_minor"]
	if !ok {
		return fmt.Errorf("nbformat_minor: missing")
	}
	if n, ok := integer(v); !ok || n < 0 {
		return fmt.Errorf("nbformat_minor: must be a non-negative integer, not %s", show(v))
	}
	if err := object(nb, "metadata", "metadata"); err != nil {
		return err
	}
	v, ok = nb["cells"]
	if !ok {
		return fmt.Errorf("cells: missing")
	}
	cells, ok := v.([]any)
	if !ok {
		return fmt.Errorf("cells: must be an array, not %s", show(v))
	}
	for i, c := range cells {
		at := fmt.Sprintf("cells[%d]", i)
		cell, ok := c.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: must be an object, not %s", at, show(c))
		}
		typ, _ := cell["cell_type"].(string)
		switch typ {
		case "code", "markdown", "raw":
		default:
			return fmt.Errorf("%s.cell_type: must be \"code\", \"markdown\" or \"raw\", not %s", at, show(cell["cell_type"]))
		}
		if id, ok := cell["id"]; ok {
			if s, ok := id.(string); !ok || s == "" {
				return fmt.Errorf("%s.id: must be a non-empty string, not %s", at, show(id))
			}
		}
		if err := object(cell, "metadata", at+".metadata"); err != nil {
			return err
		}
		if err := multiline(cell, "source", at+".source"); err != nil {
			return err
		}
		if typ != "code" {
			continue
		}
		ec, ok := cell["execution_count"]
		if !ok {
			return fmt.Errorf("%s.execution_count: missing", at)
		}
		if ec != nil {
			if _, ok := integer(ec); !ok {
				return fmt.Errorf("%s.execution_count: must be null or an integer, not %s", at, show(ec))
			}
		}
		v, ok := cell["outputs"]
		if !ok {
			return fmt.Errorf("%s.outputs: missing", at)
		}
		outputs, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s.outputs: must be an array, not %s", at, show(v))
		}
		for j, o := range outputs {
			oat := fmt.Sprintf("%s.outputs[%d]", at, j)
			out, ok := o.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: must be an object, not %s", oat, show(o))
			}
			switch ot, _ := out["output_type"].(string); ot {
			case "stream":
				if _, ok := out["name"].(string); !ok {
					return fmt.Errorf("%s.name: must be a string, not %s", oat, show(out["name"]))
				}
				if err := multiline(out, "text", oat+".text"); err != nil {
					return err
				}
			case "display_data", "execute_result":
				if err := object(out, "data", oat+".data"); err != nil {
					return err
				}
				if err := object(out, "metadata", oat+".metadata"); err != nil {
					return err
				}
			case "error":
				if _, ok := out["traceback"].([]any); !ok {
					return fmt.Errorf("%s.traceback: must be an array, not %s", oat, show(out["traceback"]))
				}
			default:
				return fmt.Errorf("%s.output_type: must be \"stream\", \"display_data\", \"execute_result\" or \"error\", not %s", oat, show(out["output_type"]))
			}
		}
	}
	return nil
}

// integer returns v as an integer if it is one (a JSON number without a
// fraction, as float64, json.Number or a Go integer).
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

func object(m map[string]any, key, at string) error {
	v, ok := m[key]
	if !ok {
		return fmt.Errorf("%s: missing", at)
	}
	if _, ok := v.(map[string]any); !ok {
		return fmt.Errorf("%s: must be an object, not %s", at, show(v))
	}
	return nil
}

// multiline checks an nbformat multi-line string: a string or an array of
// strings.
func multiline(m map[string]any, key, at string) error {
	v, ok := m[key]
	if !ok {
		return fmt.Errorf("%s: missing", at)
	}
	switch s := v.(type) {
	case string:
		return nil
	case []string:
		return nil
	case []any:
		for i, line := range s {
			if _, ok := line.(string); !ok {
				return fmt.Errorf("%s[%d]: must be a string, not %s", at, i, show(line))
			}
		}
		return nil
	}
	return fmt.Errorf("%s: must be a string or an array of strings, not %s", at, show(v))
}

// show describes a JSON value in an error message.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case float64, json.Number, int, int64:
		return fmt.Sprint(v)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// marshalNotebook writes nb as nbformat does: keys sorted, one-space
// indent, no HTML escaping, multi-line strings split into lines, and a
// trailing newline. nb is not modified.
func marshalNotebook(nb map[string]any) ([]byte, error) {
	nb = deepCopy(nb).(map[string]any)
	splitLines(nb)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(nb); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil // Encode ends it with "\n"
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = deepCopy(x)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = deepCopy(x)
		}
		return c
	}
	return v
}

// splitLines is nbformat.v4.rwbase.split_lines: sources, stream text and
// textual output data are stored as lists of lines.
func splitLines(nb map[string]any) {
	cells, _ := nb["cells"].([]any)
	for _, c := range cells {
		cell, ok := c.(map[string]any)
		if !ok {
			continue
		}
		if s, ok := cell["source"].(string); ok && s != "" {
			cell["source"] = lines(s)
		}
		outputs, _ := cell["outputs"].([]any)
		for _, o := range outputs {
			out, ok := o.(map[string]any)
			if !ok {
				continue
			}
			switch out["output_type"] {
			case "execute_result", "display_data":
				data, _ := out["data"].(map[string]any)
				for k, v := range data {
					if s, ok := v.(string); ok && (strings.HasPrefix(k, "text/") || k == "application/javascript" || k == "image/svg+xml") {
						data[k] = lines(s)
					}
				}
			case "stream":
				if s, ok := out["text"].(string); ok {
					out["text"] = lines(s)
				}
			}
		}
	}
}

// lines splits s after each "\n", keeping the line ends.
func lines(s string) []any {
	var out []any
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// emptyNotebook is nbformat.v4.new_notebook().
func emptyNotebook() map[string]any {
	return map[string]any{
		"cells":          []any{},
		"metadata":       map[string]any{},
		"nbformat":       4,
		"nbformat_minor": 5,
	}
}
