package contents

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryml/ferry/notebookd"
)

// validateNotebook checks that nb is an nbformat 4 notebook, to the extent
// a contents manager needs: the top-level fields, and the type of each
// cell's fields. The error names the first problem and its JSON path.
func validateNotebook(nb map[string]any) error {
	if err := checkDepth(nb); err != nil {
		return err
	}
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

// maxNotebookDepth is how deep a saved notebook's JSON may nest (the
// notebook object is level 1). nbformat writes one more space of indent
// per level, so a body nested n deep costs about n times its size on
// disk; legitimate notebooks, widget state and plot specs included, stay
// far below this.
const maxNotebookDepth = 100

// checkDepth refuses a notebook nested deeper than maxNotebookDepth,
// naming where.
func checkDepth(nb map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(nb)) {
		v := nb[k]
		if !notebookd.NestedDeeper(v, maxNotebookDepth-1) {
			continue
		}
		at := k
		if cells, ok := v.([]any); ok && k == "cells" {
			for i, c := range cells {
				if !notebookd.NestedDeeper(c, maxNotebookDepth-2) {
					continue
				}
				at = fmt.Sprintf("cells[%d]", i)
				if cell, ok := c.(map[string]any); ok {
					for _, ck := range slices.Sorted(maps.Keys(cell)) {
						if notebookd.NestedDeeper(cell[ck], maxNotebookDepth-3) {
							at += "." + ck
							break
						}
					}
				}
				break
			}
		}
		return fmt.Errorf("%s: nested deeper than %d levels, the limit for a notebook's JSON; flatten it", at, maxNotebookDepth)
	}
	return nil
}

// writeNotebook writes nb to w as nbformat does: keys sorted, one-space
// indent, no HTML escaping, multi-line strings split into lines, and a
// trailing newline (the bytes json.Encoder with SetIndent("", " ") and
// SetEscapeHTML(false) writes). It streams: no copy of the document is
// made, whatever its size. nb is not modified.
func writeNotebook(w io.Writer, nb map[string]any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	e := &jsonWriter{w: bw}
	e.str = json.NewEncoder(&e.buf)
	e.str.SetEscapeHTML(false)
	e.value(splitLines(nb), 0)
	if e.err == nil {
		e.err = bw.WriteByte('\n')
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	return e.err
}

// marshalNotebook is writeNotebook into memory.
func marshalNotebook(nb map[string]any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeNotebook(&b, nb); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// jsonWriter writes JSON values indented by one space per level.
type jsonWriter struct {
	w   *bufio.Writer
	buf bytes.Buffer  // a scalar, encoded by str
	str *json.Encoder // into buf, without HTML escaping
	err error
}

func (e *jsonWriter) newline(depth int) {
	if e.err != nil {
		return
	}
	e.err = e.w.WriteByte('\n')
	for range depth {
		if e.err == nil {
			e.err = e.w.WriteByte(' ')
		}
	}
}

func (e *jsonWriter) raw(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *jsonWriter) value(v any, depth int) {
	if e.err != nil {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			e.raw("null")
			return
		}
		if len(v) == 0 {
			e.raw("{}")
			return
		}
		e.raw("{")
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				e.raw(",")
			}
			e.newline(depth + 1)
			e.scalar(k, depth)
			e.raw(": ")
			e.value(v[k], depth+1)
		}
		e.newline(depth)
		e.raw("}")
	case []any:
		if v == nil {
			e.raw("null")
			return
		}
		if len(v) == 0 {
			e.raw("[]")
			return
		}
		e.raw("[")
		for i, x := range v {
			if i > 0 {
				e.raw(",")
			}
			e.newline(depth + 1)
			e.value(x, depth+1)
		}
		e.newline(depth)
		e.raw("]")
	default:
		e.scalar(v, depth)
	}
}

// scalar writes v with encoding/json, indented as nested at depth (v may
// be a Go value that is not a map[string]any or []any but encodes as one).
func (e *jsonWriter) scalar(v any, depth int) {
	e.buf.Reset()
	if e.err = e.str.Encode(v); e.err != nil {
		return
	}
	b := bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		var ind bytes.Buffer
		if e.err = json.Indent(&ind, b, strings.Repeat(" ", depth), " "); e.err != nil {
			return
		}
		b = ind.Bytes()
	}
	_, e.err = e.w.Write(b)
}

// splitLines is nbformat.v4.rwbase.split_lines: sources, stream text and
// textual output data are stored as lists of lines. It returns nb with the
// cells, outputs and MIME bundles it changes copied (shallowly): nb is not
// modified.
func splitLines(nb map[string]any) map[string]any {
	cells, ok := nb["cells"].([]any)
	if !ok {
		return nb
	}
	nb = maps.Clone(nb)
	cells = slices.Clone(cells)
	nb["cells"] = cells
	for i, c := range cells {
		cell, ok := c.(map[string]any)
		if !ok {
			continue
		}
		cell = maps.Clone(cell)
		cells[i] = cell
		if s, ok := cell["source"].(string); ok && s != "" {
			cell["source"] = lines(s)
		}
		outputs, ok := cell["outputs"].([]any)
		if !ok {
			continue
		}
		outputs = slices.Clone(outputs)
		cell["outputs"] = outputs
		for j, o := range outputs {
			out, ok := o.(map[string]any)
			if !ok {
				continue
			}
			out = maps.Clone(out)
			outputs[j] = out
			switch out["output_type"] {
			case "execute_result", "display_data":
				data, ok := out["data"].(map[string]any)
				if !ok {
					continue
				}
				data = maps.Clone(data)
				out["data"] = data
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
	return nb
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
