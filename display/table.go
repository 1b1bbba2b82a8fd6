package display

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Table is rows of values under column headers, displayed as an HTML table
// (text/html) with an aligned text version (text/plain). Numbers are right
// aligned; floats are shown with up to 6 significant digits.
type Table struct {
	Columns []string
	Rows    [][]any
	// Caption, when set, is shown above the table.
	Caption string
	// Marked, when set, parallels Rows: a true cell is emphasised (shown
	// bold with a background in HTML, with a * in text), e.g. a value that
	// differs between compared runs.
	Marked [][]bool
}

// Cell formats one table value.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format("2006-01-02 15:04:05")
	case *float64:
		if x == nil {
			return ""
		}
		return formatFloat(*x)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return fmt.Sprintf("%.6g", f)
}

func numeric(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, *float64:
		return true
	}
	return false
}

func (t Table) marked(i, j int) bool {
	return i < len(t.Marked) && j < len(t.Marked[i]) && t.Marked[i][j]
}

// MIMEBundle renders t as text/html and text/plain.
func (t Table) MIMEBundle() (data, metadata map[string]any) {
	return map[string]any{"text/html": t.HTML(), "text/plain": t.String()}, map[string]any{}
}

// HTML returns the table as an HTML fragment.
func (t Table) HTML() string {
	var b strings.Builder
	b.WriteString(`<table class="ferry-table">`)
	if t.Caption != "" {
		fmt.Fprintf(&b, "<caption>%s</caption>", html.EscapeString(t.Caption))
	}
	b.WriteString("<thead><tr>")
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(c))
	}
	b.WriteString("</tr></thead><tbody>")
	for i, row := range t.Rows {
		b.WriteString("<tr>")
		for j, v := range row {
			style := ""
			if numeric(v) {
				style = "text-align:right;"
			}
			s := html.EscapeString(Cell(v))
			if t.marked(i, j) {
				style += "background:var(--jp-warn-color3,#fff3cd);"
				s = "<b>" + s + "</b>"
			}
			if style != "" {
				fmt.Fprintf(&b, `<td style="%s">%s</td>`, style, s)
			} else {
				fmt.Fprintf(&b, "<td>%s</td>", s)
			}
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

// String returns the table as aligned text.
func (t Table) String() string {
	cells := make([][]string, len(t.Rows))
	width := make([]int, len(t.Columns))
	for j, c := range t.Columns {
		width[j] = utf8.RuneCountInString(c)
	}
	for i, row := range t.Rows {
		cells[i] = make([]string, len(row))
		for j, v := range row {
			s := Cell(v)
			if t.marked(i, j) {
				s += "*"
			}
			cells[i][j] = s
			for len(width) <= j {
				width = append(width, 0)
			}
			width[j] = max(width[j], utf8.RuneCountInString(s))
		}
	}
	var b strings.Builder
	if t.Caption != "" {
		b.WriteString(t.Caption + "\n")
	}
	pad := func(s string, w int, right bool) string {
		n := w - utf8.RuneCountInString(s)
		if n <= 0 {
			return s
		}
		if right {
			return strings.Repeat(" ", n) + s
		}
		return s + strings.Repeat(" ", n)
	}
	line := func(vals []string, right func(int) bool) {
		for j, s := range vals {
			if j > 0 {
				b.WriteString("  ")
			}
			s = pad(s, width[j], right(j))
			if j == len(vals)-1 {
				s = strings.TrimRight(s, " ")
			}
			b.WriteString(s)
		}
		b.WriteString("\n")
	}
	line(t.Columns, func(int) bool { return false })
	seps := make([]string, len(t.Columns))
	for j := range seps {
		seps[j] = strings.Repeat("-", width[j])
	}
	line(seps, func(int) bool { return false })
	for i, row := range cells {
		line(row, func(j int) bool { return j < len(t.Rows[i]) && numeric(t.Rows[i][j]) })
	}
	return strings.TrimRight(b.String(), "\n")
}
