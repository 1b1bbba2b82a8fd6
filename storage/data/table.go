package data

import (
	"context"
	"fmt"
	"html"
	"runtime"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/ferryml/ferry/display"
)

// Table is a result or a dataset: an Arrow schema and record batches, or a
// table of a DB whose rows are read into Arrow when Go code asks for them.
// A Table is not safe for concurrent use.
type Table struct {
	db    *DB
	name  string // table in db holding every row, or ""
	owned bool   // name was made by the package: dropped when t is collected

	schema   *arrow.Schema
	recs     []arrow.RecordBatch // the rows held in memory (all when complete)
	loaded   bool                // recs holds every row of name
	nrows    int64               // -1: not counted yet (a view made by Scan)
	view     bool                // name is a view
	rescan   bool                // name is a view over a CSV or JSON file (parsed by each query)
	complete bool                // for tables without name: recs holds every row
	elapsed  time.Duration
}

// dropper makes the database drop an owned table when its Table is
// collected.
type dropper struct {
	drops chan string
	name  string
}

func (t *Table) setCleanup() {
	runtime.AddCleanup(t, func(d dropper) {
		select {
		case d.drops <- d.name:
		default:
		}
	}, dropper{t.db.drops, t.name})
}

// Name returns the name SQL uses for the table's rows, or "" if they are
// only held in Go (a query result that was not given a name with -o).
func (t *Table) Name() string { return t.name }

// Schema returns the table's Arrow schema.
func (t *Table) Schema() *arrow.Schema { return t.schema }

// NumRows returns the number of rows (counted on first use for a Table
// made by Scan; -1 if counting fails).
func (t *Table) NumRows() int64 {
	if t.nrows < 0 && t.name != "" {
		if err := t.db.lock(context.Background()); err != nil {
			return -1
		}
		defer t.db.unlock()
		var n int64
		if err := t.db.conn.QueryRowContext(context.Background(), "SELECT count(*) FROM "+quoteIdent(t.name)).Scan(&n); err != nil {
			return -1
		}
		t.nrows = n
	}
	return t.nrows
}

// NumCols returns the number of columns.
func (t *Table) NumCols() int { return t.schema.NumFields() }

// ColumnNames returns the names of the columns in order.
func (t *Table) ColumnNames() []string {
	names := make([]string, t.schema.NumFields())
	for i, f := range t.schema.Fields() {
		names[i] = f.Name
	}
	return names
}

// Elapsed is how long the query or read that made the table took.
func (t *Table) Elapsed() time.Duration { return t.elapsed }

// Complete reports whether every row can be read from the table: false for
// the preview of a large %%sql result that was not kept with -o.
func (t *Table) Complete() bool { return t.name != "" || t.complete }

// kept returns the number of rows held in recs.
func (t *Table) kept() int64 {
	var n int64
	for _, r := range t.recs {
		n += r.NumRows()
	}
	return n
}

// Release frees the Arrow memory the table holds in Go. A table backed by
// the database can still be read (its rows are read again); one that is
// not is empty afterwards.
func (t *Table) Release() {
	for _, r := range t.recs {
		r.Release()
	}
	t.recs, t.loaded = nil, false
	if t.name == "" {
		t.nrows = 0
	}
}

// materialize reads every row into recs.
func (t *Table) materialize(ctx context.Context) error {
	if t.name == "" {
		if !t.complete {
			return fmt.Errorf("data: the table holds only the first %d of %d rows (a %%%%sql preview): run the query with -o NAME, or with data.Query, to read every row", t.kept(), t.nrows)
		}
		return nil
	}
	if t.loaded {
		return nil
	}
	if err := t.db.lock(ctx); err != nil {
		return err
	}
	defer t.db.unlock()
	r, err := t.db.queryLocked(ctx, "SELECT * FROM "+quoteIdent(t.name), nil, -1)
	if err != nil {
		return t.db.queryError(ctx, err, "")
	}
	for _, old := range t.recs {
		old.Release()
	}
	t.recs, t.loaded, t.nrows = r.recs, true, r.nrows
	return nil
}

// head returns up to n rows held in memory, reading them from the database
// when needed, and whether they were read.
func (t *Table) head(ctx context.Context, n int64) ([]arrow.RecordBatch, error) {
	if t.name == "" || t.loaded || t.kept() >= n {
		return t.recs, nil
	}
	if err := t.db.lock(ctx); err != nil {
		return nil, err
	}
	defer t.db.unlock()
	r, err := t.db.queryLocked(ctx, fmt.Sprintf("SELECT * FROM %s LIMIT %d", quoteIdent(t.name), n), nil, -1)
	if err != nil {
		return nil, t.db.queryError(ctx, err, "")
	}
	for _, old := range t.recs {
		old.Release()
	}
	t.recs = r.recs
	return t.recs, nil
}

// Records returns the table's rows as Arrow record batches (read from the
// database first if needed). The table keeps ownership: retain a batch to
// keep it past Release.
func (t *Table) Records() ([]arrow.RecordBatch, error) {
	if err := t.materialize(context.Background()); err != nil {
		return nil, err
	}
	return t.recs, nil
}

// Arrow returns the table as an arrow.Table (the caller releases it).
func (t *Table) Arrow() (arrow.Table, error) {
	recs, err := t.Records()
	if err != nil {
		return nil, err
	}
	return array.NewTableFromRecords(t.schema, recs), nil
}

// Column returns the column called name as chunks of one Arrow array per
// batch (the caller releases it).
func (t *Table) Column(name string) (*arrow.Chunked, error) {
	idx := t.schema.FieldIndices(name)
	if len(idx) == 0 {
		return nil, fmt.Errorf("data: no column %q (columns: %s)", name, strings.Join(t.ColumnNames(), ", "))
	}
	recs, err := t.Records()
	if err != nil {
		return nil, err
	}
	chunks := make([]arrow.Array, len(recs))
	for i, r := range recs {
		chunks[i] = r.Column(idx[0])
	}
	return arrow.NewChunked(t.schema.Field(idx[0]).Type, chunks), nil
}

// Values returns the column called name as Go values (see Rows for the
// types); a null is nil.
func (t *Table) Values(name string) ([]any, error) {
	col, err := t.Column(name)
	if err != nil {
		return nil, err
	}
	defer col.Release()
	out := make([]any, 0, col.Len())
	for _, c := range col.Chunks() {
		for i := 0; i < c.Len(); i++ {
			out = append(out, Value(c, i))
		}
	}
	return out, nil
}

// Float64s returns a numeric column as float64s; a null is NaN.
func (t *Table) Float64s(name string) ([]float64, error) {
	vals, err := t.Values(name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(vals))
	for i, v := range vals {
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("data: column %q is not numeric (row %d holds %T)", name, i, v)
		}
		out[i] = f
	}
	return out, nil
}

// Strings returns a column formatted as strings; a null is "".
func (t *Table) Strings(name string) ([]string, error) {
	vals, err := t.Values(name)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = display.Cell(v)
	}
	return out, nil
}

// Rows returns an iterator over the rows:
//
//	for it := t.Rows(); it.Next(); {
//		fmt.Println(it.Row())
//	}
//	if err := it.Err(); err != nil { ... }
func (t *Table) Rows() *RowIter {
	it := &RowIter{t: t, batch: 0, row: -1}
	if err := t.materialize(context.Background()); err != nil {
		it.err = err
	}
	return it
}

// RowIter iterates over the rows of a Table.
type RowIter struct {
	t     *Table
	batch int
	row   int
	err   error
}

// Next advances to the next row and reports whether there is one.
func (it *RowIter) Next() bool {
	if it.err != nil {
		return false
	}
	it.row++
	for it.batch < len(it.t.recs) && int64(it.row) >= it.t.recs[it.batch].NumRows() {
		it.batch++
		it.row = 0
	}
	return it.batch < len(it.t.recs)
}

// Row returns the current row's values (see Value for their types).
func (it *RowIter) Row() []any {
	if it.batch >= len(it.t.recs) {
		return nil
	}
	rec := it.t.recs[it.batch]
	out := make([]any, rec.NumCols())
	for j := range out {
		out[j] = Value(rec.Column(j), it.row)
	}
	return out
}

// Map returns the current row keyed by column name.
func (it *RowIter) Map() map[string]any {
	row := it.Row()
	m := make(map[string]any, len(row))
	for j, f := range it.t.schema.Fields() {
		m[f.Name] = row[j]
	}
	return m
}

// Get returns the current row's value in the column called name, or nil.
func (it *RowIter) Get(name string) any {
	idx := it.t.schema.FieldIndices(name)
	if len(idx) == 0 || it.batch >= len(it.t.recs) {
		return nil
	}
	return Value(it.t.recs[it.batch].Column(idx[0]), it.row)
}

// Err returns the error that stopped the iteration, if any.
func (it *RowIter) Err() error { return it.err }

// Head returns the first n rows as [][]any.
func (t *Table) Head(n int) ([][]any, error) {
	recs, err := t.head(context.Background(), int64(n))
	if err != nil {
		return nil, err
	}
	return rowsOf(recs, n), nil
}

func rowsOf(recs []arrow.RecordBatch, n int) [][]any {
	var out [][]any
	for _, r := range recs {
		for i := 0; i < int(r.NumRows()) && len(out) < n; i++ {
			row := make([]any, r.NumCols())
			for j := range row {
				row[j] = Value(r.Column(j), i)
			}
			out = append(out, row)
		}
	}
	return out
}

// DisplayRows is how many rows a Table shows when displayed.
var DisplayRows = 10

// String renders the first DisplayRows rows as text.
func (t *Table) String() string {
	d, _ := t.MIMEBundle()
	return d["text/plain"].(string)
}

// MIMEBundle renders the first DisplayRows rows (never the whole table) as
// an HTML table with the column types, the row count and the elapsed time,
// with an aligned text version.
func (t *Table) MIMEBundle() (data, metadata map[string]any) {
	return t.render(DisplayRows)
}

// Preview is a Table shown with a given number of rows; make one with Show.
type Preview struct {
	T    *Table
	Rows int
}

// Show returns t to display with its first n rows.
func (t *Table) Show(n int) Preview { return Preview{t, n} }

// MIMEBundle renders the preview like Table.MIMEBundle.
func (p Preview) MIMEBundle() (data, metadata map[string]any) { return p.T.render(p.Rows) }

func (t *Table) render(n int) (map[string]any, map[string]any) {
	if t == nil || t.schema == nil {
		return map[string]any{"text/plain": "<nil table>"}, map[string]any{}
	}
	recs, err := t.head(context.Background(), int64(n))
	if err != nil {
		return map[string]any{"text/plain": err.Error()}, map[string]any{}
	}
	rows := rowsOf(recs, n)
	fields := t.schema.Fields()
	nrows := t.NumRows()
	summary := fmt.Sprintf("%s × %d columns", plural(nrows, "row"), len(fields))
	if int64(len(rows)) < nrows {
		summary = fmt.Sprintf("first %d of %s", len(rows), summary)
	}
	if t.elapsed > 0 {
		summary += " · " + roundDuration(t.elapsed).String()
	}
	if t.name != "" && !strings.HasPrefix(t.name, "_ferry_") {
		summary += " · " + t.name
	}

	var h strings.Builder
	h.WriteString(`<div class="ferry-data"><table class="ferry-table"><thead><tr>`)
	for _, f := range fields {
		fmt.Fprintf(&h, `<th>%s<br><span style="font-weight:normal;opacity:0.6">%s</span></th>`, html.EscapeString(f.Name), html.EscapeString(typeName(f.Type)))
	}
	h.WriteString("</tr></thead><tbody>")
	for _, row := range rows {
		h.WriteString("<tr>")
		for _, v := range row {
			align := ""
			if _, ok := toFloat(v); ok {
				align = ` style="text-align:right"`
			}
			if v == nil {
				fmt.Fprintf(&h, `<td%s><i style="opacity:0.5">null</i></td>`, align)
				continue
			}
			fmt.Fprintf(&h, "<td%s>%s</td>", align, html.EscapeString(truncate(display.Cell(v), 200)))
		}
		h.WriteString("</tr>")
	}
	fmt.Fprintf(&h, `</tbody></table><p style="opacity:0.7">%s</p></div>`, html.EscapeString(summary))

	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = f.Name + " (" + typeName(f.Type) + ")"
	}
	text := display.Table{Columns: cols, Rows: cellRows(rows)}.String() + "\n" + summary
	return map[string]any{"text/html": h.String(), "text/plain": text}, map[string]any{}
}

func cellRows(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = make([]any, len(r))
		for j, v := range r {
			switch x := v.(type) {
			case nil:
				out[i][j] = "null"
			case int64, uint64, float64:
				out[i][j] = x
			default:
				out[i][j] = truncate(display.Cell(v), 60)
			}
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// typeName is a short name of an Arrow type.
func typeName(t arrow.DataType) string {
	switch tt := t.(type) {
	case *arrow.TimestampType:
		if tt.TimeZone != "" {
			return "timestamptz"
		}
		return "timestamp"
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal(%d,%d)", tt.Precision, tt.Scale)
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "string"
	}
	return t.String()
}
