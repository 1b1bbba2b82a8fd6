package data

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
)

// segKind is the kind of a stretch of SQL text.
type segKind int

const (
	segCode    segKind = iota
	segString          // '...'
	segIdent           // "..."
	segComment         // -- or /* */
)

type segment struct {
	kind       segKind
	start, end int
}

// scanSQL cuts q into code, string literals, quoted identifiers and
// comments.
func scanSQL(q string) []segment {
	var segs []segment
	start := 0
	emit := func(k segKind, s, e int) {
		if e > s {
			segs = append(segs, segment{k, s, e})
		}
	}
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			emit(segCode, start, i)
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(q))
			k := segString
			if c == '"' {
				k = segIdent
			}
			emit(k, i, end)
			i, start = end, end
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			emit(segCode, start, i)
			j := strings.IndexByte(q[i:], '\n')
			end := len(q)
			if j >= 0 {
				end = i + j
			}
			emit(segComment, i, end)
			i, start = end, end
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			emit(segCode, start, i)
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			emit(segComment, i, end)
			i, start = end, end
		default:
			i++
		}
	}
	emit(segCode, start, len(q))
	return segs
}

// unquote returns the value of a '...' literal.
func unquote(lit string) string {
	lit = strings.TrimPrefix(lit, "'")
	lit = strings.TrimSuffix(lit, "'")
	return strings.ReplaceAll(lit, "''", "'")
}

// Vars returns the value of a Go variable by name, for Bind.
type Vars func(name string) (any, bool)

// Bound is a query whose {name} references were replaced: values by
// parameters (Args, in order), tables by the names in Tables.
type Bound struct {
	SQL  string
	Args []any
	// Tables maps a generated table name used in SQL to the Go value
	// (a *Table, arrow record or table, or slice of structs) to copy in.
	Tables map[string]*Table
}

// Bind replaces each {name} in the SQL code of q (not in literals, quoted
// identifiers or comments) by a parameter bound to the value lookup gives:
// a value never becomes SQL text, so a string holding SQL stays a string.
// A table-like value (*Table, arrow.RecordBatch, arrow.Table, or a slice of
// structs) becomes a table name instead, so that `FROM {people}` reads it.
// name may be a selector path (cfg.Limit). An unknown name is an error.
func Bind(q string, lookup Vars) (*Bound, error) {
	b := &Bound{Tables: map[string]*Table{}}
	var out strings.Builder
	tables := map[string]string{} // Go name -> table name
	for _, s := range scanSQL(q) {
		text := q[s.start:s.end]
		if s.kind != segCode {
			out.WriteString(text)
			continue
		}
		for {
			open := strings.IndexByte(text, '{')
			if open < 0 {
				out.WriteString(text)
				break
			}
			end := strings.IndexByte(text[open:], '}')
			name := ""
			if end > 0 {
				name = strings.TrimSpace(text[open+1 : open+end])
			}
			if end < 0 || !isPath(name) {
				out.WriteString(text[:open+1])
				text = text[open+1:]
				continue
			}
			out.WriteString(text[:open])
			text = text[open+end+1:]
			if tn, ok := tables[name]; ok {
				out.WriteString(quoteIdent(tn))
				continue
			}
			v, err := resolvePath(name, lookup)
			if err != nil {
				return nil, err
			}
			t, isTable, err := asTable(v)
			if err != nil {
				return nil, fmt.Errorf("{%s}: %w", name, err)
			}
			if isTable {
				tn := t.name
				if tn == "" {
					tn = fmt.Sprintf("_ferry_go_%s_%d", strings.ReplaceAll(name, ".", "_"), len(b.Tables))
					b.Tables[tn] = t
				}
				tables[name] = tn
				out.WriteString(quoteIdent(tn))
				continue
			}
			out.WriteString("?")
			b.Args = append(b.Args, param(v))
		}
	}
	b.SQL = out.String()
	return b, nil
}

func isPath(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, c := range part {
			if !(c == '_' || unicode.IsLetter(c) || (i > 0 && unicode.IsDigit(c))) {
				return false
			}
		}
	}
	return true
}

// resolvePath looks up a.b.c: a from lookup, then fields (or map keys).
func resolvePath(path string, lookup Vars) (any, error) {
	parts := strings.Split(path, ".")
	v, ok := lookup(parts[0])
	if !ok {
		return nil, fmt.Errorf("{%s}: no Go variable named %s (define it in a Go cell first)", path, parts[0])
	}
	rv := reflect.ValueOf(v)
	for _, p := range parts[1:] {
		for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
			if rv.IsNil() {
				return nil, fmt.Errorf("{%s}: nil before .%s", path, p)
			}
			rv = rv.Elem()
		}
		switch rv.Kind() {
		case reflect.Struct:
			f := rv.FieldByName(p)
			if !f.IsValid() {
				return nil, fmt.Errorf("{%s}: %s has no field %s", path, rv.Type(), p)
			}
			rv = f
		case reflect.Map:
			f := rv.MapIndex(reflect.ValueOf(p))
			if !f.IsValid() {
				return nil, fmt.Errorf("{%s}: no key %q", path, p)
			}
			rv = f
		default:
			return nil, fmt.Errorf("{%s}: %s has no field %s", path, rv.Type(), p)
		}
	}
	if !rv.IsValid() {
		return nil, nil
	}
	if !rv.CanInterface() {
		return nil, fmt.Errorf("{%s}: unexported field", path)
	}
	return rv.Interface(), nil
}

// asTable converts table-like values.
func asTable(v any) (*Table, bool, error) {
	switch x := v.(type) {
	case *Table:
		if x == nil {
			return nil, false, fmt.Errorf("nil *data.Table")
		}
		return x, true, nil
	case arrow.RecordBatch:
		t, err := FromRecords(x)
		return t, true, err
	case arrow.Table:
		t, err := FromArrow(x)
		return t, true, err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		et := rv.Type().Elem()
		if et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		if et.Kind() == reflect.Struct && et != timeType {
			t, err := FromStructs(v)
			return t, true, err
		}
	}
	return nil, false, nil
}

// param turns a Go value into one DuckDB binds: named basic types become
// their underlying type; slices become lists.
func param(v any) any {
	switch v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, time.Time, []byte:
		return v
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint()
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return param(rv.Elem().Interface())
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = param(rv.Index(i).Interface())
		}
		return out
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return v
}
