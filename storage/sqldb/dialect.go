package sqldb

import (
	"sort"
	"strconv"
	"strings"
)

// Dialect describes what differs between the SQL databases New supports.
type Dialect struct {
	// Name picks the migrations (migrations/<Name>): "sqlite" or "postgres".
	Name string
	// Dollar says placeholders are $1, $2, ... instead of ?.
	Dollar bool
	// MaxParams is the most bind parameters one statement may have.
	MaxParams int
	// MigrationLock is a statement run first in the migration transaction to
	// keep concurrent openers out (e.g. an advisory lock); empty when the
	// transaction itself is exclusive, as SQLite's BEGIN IMMEDIATE is.
	MigrationLock string
	// CaseSensitiveLike says LIKE is case-sensitive (PostgreSQL; SQLite with
	// PRAGMA case_sensitive_like). ILIKE is used when HasILike is true, else
	// lower(x) LIKE lower(p).
	HasILike bool
	// Retryable reports whether a transaction failed for a transient reason
	// (deadlock, serialization failure, busy database) and may be retried.
	Retryable func(error) bool
}

// rebind turns ? placeholders into $n for dialects that need it. The SQL in
// this package has no ? inside literals.
func (d *Dialect) rebind(q string) string {
	if !d.Dollar || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// ilike returns a case-insensitive LIKE of expr against the pattern
// placeholder.
func (d *Dialect) ilike(expr, pattern string) string {
	if d.HasILike {
		return expr + " ILIKE " + pattern + ` ESCAPE '\'`
	}
	return "lower(" + expr + ") LIKE lower(" + pattern + `) ESCAPE '\'`
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// rows returns n groups of k placeholders: "(?, ?), (?, ?)".
func rowsOf(n, k int) string {
	one := "(" + placeholders(k) + ")"
	var b strings.Builder
	b.Grow(n * (len(one) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
