package data

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// QueryInto runs query and keeps its whole result as the database table
// name (replacing one of that name), returned as a Table whose rows Go code
// reads on demand. A single SELECT (or WITH, FROM, VALUES, TABLE) runs as
// CREATE TABLE ... AS, so the rows never pass through Go; other statements
// (SHOW, DESCRIBE, PRAGMA, several statements) are run and their last
// result copied in.
func (d *DB) QueryInto(ctx context.Context, name, query string, args ...any) (*Table, error) {
	start := time.Now()
	if isSingleQuery(query) {
		body := strings.TrimRight(strings.TrimSpace(query), ";")
		if err := d.Exec(ctx, "CREATE OR REPLACE TABLE "+quoteIdent(name)+" AS "+body, args...); err != nil {
			return nil, shiftError(err, query)
		}
	} else {
		res, err := d.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		err = d.Register(ctx, name, res)
		res.Release()
		if err != nil {
			return nil, err
		}
	}
	t, err := d.Table(ctx, name)
	if err != nil {
		return nil, err
	}
	t.elapsed = time.Since(start)
	return t, nil
}

// shiftError restores the query of an error of the CREATE TABLE that
// wrapped it (the prefix is on the first line, so line numbers hold).
func shiftError(err error, query string) error {
	if e, ok := err.(*Error); ok {
		e.Query = query
	}
	return err
}

// isSingleQuery reports whether q is one statement that CREATE TABLE AS
// accepts: a query starting with SELECT, WITH, FROM, VALUES or TABLE.
func isSingleQuery(q string) bool {
	first := ""
	ended := false // a ; was seen in code
	for _, s := range scanSQL(q) {
		text := q[s.start:s.end]
		switch s.kind {
		case segComment:
			continue
		case segCode:
			for _, c := range text {
				switch {
				case c == ';':
					ended = true
				case ended && !unicode.IsSpace(c):
					return false
				}
			}
		default:
			if ended {
				return false
			}
		}
		if first == "" && strings.TrimSpace(text) != "" {
			if s.kind != segCode {
				return false
			}
			first = strings.ToUpper(strings.TrimLeft(text, "( \t\r\n"))
		}
	}
	for _, kw := range []string{"SELECT", "WITH", "FROM", "VALUES", "TABLE"} {
		if strings.HasPrefix(first, kw) && (len(first) == len(kw) || !isWordByte(first[len(kw)])) {
			return true
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}
