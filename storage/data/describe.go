package data

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/ferryml/ferry/display"
)

// withRelation runs fn with the name of a database table holding t's rows
// (copying them into the default database first if t lives only in Go).
func (t *Table) withRelation(ctx context.Context, fn func(d *DB, rel string) error) error {
	d := t.db
	if d == nil {
		var err error
		if d, err = Default(); err != nil {
			return err
		}
	}
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.unlock()
	rel, err := d.relationLocked(ctx, t)
	if err != nil {
		return err
	}
	return fn(d, rel)
}

// ColumnStats are the statistics of one column (see Describe).
type ColumnStats struct {
	Column string
	Type   string
	Count  int64 // non-null values
	Nulls  int64
	// Mean, Std (sample standard deviation) and the quartiles Q25, Q50
	// (median) and Q75 are nil for columns that are not numeric. The
	// quartiles are estimates beyond ExactQuantileRows rows.
	Mean, Std     *float64
	Min           string
	Q25, Q50, Q75 *float64
	Max           string
	// Distinct is the number of distinct non-null values of a column that
	// is neither numeric nor temporal (strings, booleans, ...), exact, as
	// pandas' unique; -1 for numeric and temporal columns, which pandas'
	// describe does not count either (approx_count_distinct in SQL
	// estimates them, at a cost of about a pass over the column).
	Distinct int64
	// Top is the most frequent non-null value of a column that is neither
	// numeric nor temporal (the smallest of those tied) and Freq its
	// count, as pandas' describe gives them; "" and 0 for other columns.
	Top  string
	Freq int64
	// MeanTime and the quartiles Q25Time, Q50Time, Q75Time are those of a
	// temporal column (timestamp or date), estimated as for numbers;
	// nil for other columns.
	MeanTime, Q25Time, Q50Time, Q75Time *time.Time
}

// Summary is the result of Describe: one ColumnStats per column.
type Summary struct {
	Columns []ColumnStats
	NumRows int64
	Elapsed time.Duration
}

// ExactQuantileRows is the largest table whose quartiles Describe computes
// exactly. Above it the quartiles are the exact quartiles of a uniform
// sample of about QuantileSample rows (within about 0.5% of the rank; the
// same sample each time for a table made by Read), or t-digest estimates
// for a CSV or JSON file left in place by Scan; either takes constant
// memory instead of a copy of each column.
var ExactQuantileRows int64 = 1_000_000

// QuantileSample is the sample size of Describe's quartiles above
// ExactQuantileRows.
var QuantileSample = 100_000

// Describe computes the statistics of pandas' describe(include="all") for
// every column, in one query: count, nulls, min and max of each column;
// mean, standard deviation and quartiles (see ExactQuantileRows) of numeric
// columns; mean and quartiles of temporal ones; distinct count, most
// frequent value and its frequency of the others (strings, booleans, ...).
func (t *Table) Describe() (*Summary, error) {
	return t.DescribeContext(context.Background())
}

func isNumeric(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

func isTemporal(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return true
	}
	return false
}

// DescribeContext is Describe with a context that stops the query.
func (t *Table) DescribeContext(ctx context.Context) (*Summary, error) {
	start := time.Now()
	fields := t.schema.Fields()
	if len(fields) == 0 {
		return &Summary{}, nil
	}
	// One statement, three kinds of subquery joined into one row:
	//   - m: one pass over every column: count; min, max and mean of
	//     numbers and times (times as microseconds since the epoch); std
	//     of numbers; their quartiles when exact (small tables) or
	//     t-digest estimates (a CSV or JSON file left in place by Scan,
	//     which the sample would parse again);
	//   - q: exact quartiles of a uniform sample of about QuantileSample
	//     rows of a large table (reading only the numeric and temporal
	//     columns): the rows whose rowid hashes to 0 modulo
	//     rows/QuantileSample in a table (parallel, repeatable), a
	//     reservoir sample of a view;
	//   - g<i>: distinct count, min, max, top value and its frequency of
	//     column i, neither numeric nor temporal, from a hash aggregate
	//     on it alone.
	sampled := t.nrows < 0 || t.nrows > ExactQuantileRows
	quantile := func(q string) string { return "quantile_cont(" + q + ", [0.25, 0.5, 0.75])" }
	if sampled && t.rescan {
		quantile = func(q string) string { return "approx_quantile(" + q + ", [0.25, 0.5, 0.75])" }
		sampled = false
	}
	var res *Table
	var stats []string
	var msel, qsel []string
	err := t.withRelation(ctx, func(d *DB, rel string) error {
		if !t.view {
			stats = d.tableStatsLocked(ctx, rel, fields)
		}
		from := quoteIdent(rel)
		var groups []string
		for i, f := range fields {
			q := quoteIdent(f.Name)
			if i < len(stats) && strings.Contains(stats[i], "[Has Null: false") {
				msel = append(msel, "count(*)") // the same count, without reading the column
			} else {
				msel = append(msel, "count("+q+")")
			}
			var v string // the value whose quartiles are taken
			switch {
			case isNumeric(f.Type):
				v = q + "::DOUBLE"
				msel = append(msel, "min("+q+")::VARCHAR", "max("+q+")::VARCHAR", "avg("+q+")::DOUBLE", "stddev_samp("+q+")::DOUBLE")
			case isTemporal(f.Type):
				v = "epoch_us(" + q + ")::DOUBLE"
				msel = append(msel, "min("+q+")::VARCHAR", "max("+q+")::VARCHAR", "avg(epoch_us("+q+"))::DOUBLE")
			default:
				// min and max over the distinct values, not every row.
				groups = append(groups, "(SELECT count(*) OVER (), min(v) OVER ()::VARCHAR, max(v) OVER ()::VARCHAR, v::VARCHAR, n FROM (SELECT "+q+" AS v, count(*) AS n FROM "+from+" WHERE "+q+" IS NOT NULL GROUP BY 1) ORDER BY n DESC, v LIMIT 1) AS g"+strconv.Itoa(i))
				continue
			}
			if sampled {
				qsel = append(qsel, quantile(v))
			} else {
				msel = append(msel, quantile(v))
			}
		}
		msel = append(msel, "count(*)")
		q := "SELECT * FROM (SELECT " + strings.Join(msel, ", ") + " FROM " + from + ") AS m"
		switch {
		case len(qsel) == 0:
		case t.owned && !t.view && t.nrows >= 0:
			// A table the package made (Read): rowid is there.
			q += fmt.Sprintf(", (SELECT %s FROM %s WHERE hash(rowid) %% %d = 0) AS q", strings.Join(qsel, ", "), from, max(1, t.nrows/int64(max(1, QuantileSample))))
		default:
			q += fmt.Sprintf(", (SELECT %s FROM %s USING SAMPLE reservoir(%d ROWS) REPEATABLE (42)) AS q", strings.Join(qsel, ", "), from, QuantileSample)
		}
		// A subquery g<i> yields no row for a column of nulls only: the
		// LEFT JOINs keep the row of m.
		for _, g := range groups {
			q += " LEFT JOIN " + g + " ON true"
		}
		r, err := d.queryLocked(ctx, q, nil, -1)
		if err != nil {
			return d.queryError(ctx, err, "")
		}
		res = r
		return nil
	})
	if err != nil {
		if res != nil {
			res.Release()
		}
		return nil, err
	}
	defer res.Release()
	if len(res.recs) == 0 || res.recs[0].NumRows() == 0 {
		return nil, fmt.Errorf("data: describe: no result")
	}
	rec := res.recs[0]
	// The columns of the row: those of m in the order of msel, then
	// those of q in the order of qsel, then five per g<i>.
	col, qcol, gcol := 0, len(msel), len(msel)+len(qsel)
	next := func() any { v := Value(rec.Column(col), 0); col++; return v }
	quartiles := func() []float64 {
		c := &col
		if sampled {
			c = &qcol
		}
		qs := listFloats(rec.Column(*c), 0)
		*c++
		if len(qs) != 3 {
			return nil
		}
		return qs
	}
	s := &Summary{}
	for _, f := range fields {
		cs := ColumnStats{Column: f.Name, Type: typeName(f.Type), Distinct: -1}
		cs.Count, _ = next().(int64)
		switch {
		case isNumeric(f.Type):
			cs.Min, _ = next().(string)
			cs.Max, _ = next().(string)
			cs.Mean = floatPtr(next())
			cs.Std = floatPtr(next())
			if qs := quartiles(); qs != nil {
				cs.Q25, cs.Q50, cs.Q75 = &qs[0], &qs[1], &qs[2]
			}
		case isTemporal(f.Type):
			cs.Min, _ = next().(string)
			cs.Max, _ = next().(string)
			cs.MeanTime = timePtr(next())
			if qs := quartiles(); qs != nil {
				cs.Q25Time, cs.Q50Time, cs.Q75Time = timePtr(qs[0]), timePtr(qs[1]), timePtr(qs[2])
			}
		default:
			cs.Distinct, _ = Value(rec.Column(gcol), 0).(int64)
			cs.Min, _ = Value(rec.Column(gcol+1), 0).(string)
			cs.Max, _ = Value(rec.Column(gcol+2), 0).(string)
			cs.Top, _ = Value(rec.Column(gcol+3), 0).(string)
			cs.Freq, _ = Value(rec.Column(gcol+4), 0).(int64)
			gcol += 5
		}
		s.Columns = append(s.Columns, cs)
	}
	s.NumRows, _ = next().(int64)
	if t.nrows < 0 {
		t.nrows = s.NumRows
	}
	for i := range s.Columns {
		s.Columns[i].Nulls = s.NumRows - s.Columns[i].Count
	}
	s.Elapsed = time.Since(start)
	return s, nil
}

// tableStatsLocked returns DuckDB's statistics of each column of rel as
// stats() prints them ("[Min: 0, Max: 9][Has Null: false, ...]"), or nil.
// They are bounds kept as rows are stored (reading them costs nothing):
// "Has Null: false" means no nulls; min and max may be loose after a
// DELETE or UPDATE, and the distinct count is too rough to show.
func (d *DB) tableStatsLocked(ctx context.Context, rel string, fields []arrow.Field) []string {
	var sel []string
	for _, f := range fields {
		sel = append(sel, "stats("+quoteIdent(f.Name)+")")
	}
	r, err := d.queryLocked(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+quoteIdent(rel)+" LIMIT 1", nil, -1)
	if err != nil {
		return nil
	}
	defer r.Release()
	if len(r.recs) == 0 || r.recs[0].NumRows() == 0 || int(r.recs[0].NumCols()) != len(fields) {
		return nil
	}
	out := make([]string, len(fields))
	for i := range out {
		out[i], _ = Value(r.recs[0].Column(i), 0).(string)
	}
	return out
}

// timePtr converts microseconds since the epoch to a time.
func timePtr(v any) *time.Time {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	tm := time.UnixMicro(int64(math.Round(f))).UTC()
	return &tm
}

func floatPtr(v any) *float64 {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) {
		return nil
	}
	return &f
}

func listFloats(arr arrow.Array, i int) []float64 {
	l, ok := arr.(*array.List)
	if !ok || l.IsNull(i) {
		return nil
	}
	start, end := l.ValueOffsets(i)
	var out []float64
	for j := start; j < end; j++ {
		if f, ok := Value(l.ListValues(), int(j)).(float64); ok {
			out = append(out, f)
		}
	}
	return out
}

// Get returns the statistics of the column called name.
func (s *Summary) Get(name string) (ColumnStats, bool) {
	for _, c := range s.Columns {
		if c.Column == name {
			return c, true
		}
	}
	return ColumnStats{}, false
}

// Table returns the summary as a Table, one row per column.
func (s *Summary) Table() (*Table, error) { return FromStructs(s.Columns) }

// MIMEBundle renders the summary as a table, one row per column: the
// mean and quartiles of a temporal column are shown as times.
func (s *Summary) MIMEBundle() (data, metadata map[string]any) {
	t := display.Table{
		Columns: []string{"column", "type", "count", "nulls", "mean", "std", "min", "25%", "50%", "75%", "max", "distinct", "top", "freq"},
		Caption: fmt.Sprintf("%s · %s", plural(s.NumRows, "row"), roundDuration(s.Elapsed)),
	}
	for _, c := range s.Columns {
		mean, q25, q50, q75 := any(c.Mean), any(c.Q25), any(c.Q50), any(c.Q75)
		if c.MeanTime != nil || c.Q50Time != nil {
			mean, q25, q50, q75 = timeText(c.MeanTime), timeText(c.Q25Time), timeText(c.Q50Time), timeText(c.Q75Time)
		}
		var distinct, top, freq any
		if c.Distinct >= 0 {
			distinct = c.Distinct
		}
		if c.Freq > 0 {
			top, freq = truncate(c.Top, 40), c.Freq
		}
		t.Rows = append(t.Rows, []any{c.Column, c.Type, c.Count, c.Nulls, mean, c.Std,
			truncate(c.Min, 40), q25, q50, q75, truncate(c.Max, 40), distinct, top, freq})
	}
	return t.MIMEBundle()
}

func timeText(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format("2006-01-02 15:04:05.999999")
}

// Hist returns a Vega-Lite histogram of the column called name: bins
// equal-width bins (0 means 30) for a numeric column, the 30 most frequent
// values for another one.
func (t *Table) Hist(name string, bins int) (display.VegaLiteChart, error) {
	return t.HistContext(context.Background(), name, bins)
}

// HistContext is Hist with a context that stops the query.
func (t *Table) HistContext(ctx context.Context, name string, bins int) (display.VegaLiteChart, error) {
	f, err := t.field(name)
	if err != nil {
		return display.VegaLiteChart{}, err
	}
	if bins <= 0 {
		bins = 30
	}
	q := quoteIdent(name)
	var values []map[string]any
	numeric := isNumeric(f.Type)
	err = t.withRelation(ctx, func(d *DB, rel string) error {
		if !numeric {
			r, err := d.queryLocked(ctx, fmt.Sprintf("SELECT %s::VARCHAR AS v, count(*) AS n FROM %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %d", q, quoteIdent(rel), bins), nil, -1)
			if err != nil {
				return d.queryError(ctx, err, "")
			}
			defer r.Release()
			for _, row := range rowsOf(r.recs, bins) {
				v := row[0]
				if v == nil {
					v = "null"
				}
				values = append(values, map[string]any{"value": v, "count": row[1]})
			}
			return nil
		}
		var lo, hi float64
		var n int64
		var slo, shi *float64
		if err := d.conn.QueryRowContext(ctx, fmt.Sprintf("SELECT min(%s)::DOUBLE, max(%s)::DOUBLE, count(%s) FROM %s", q, q, q, quoteIdent(rel))).Scan(&slo, &shi, &n); err != nil {
			return d.queryError(ctx, err, "")
		}
		if n == 0 || slo == nil || shi == nil {
			return nil
		}
		lo, hi = *slo, *shi
		width := (hi - lo) / float64(bins)
		if width == 0 {
			width = 1
		}
		rows, err := d.conn.QueryContext(ctx, fmt.Sprintf("SELECT least(floor((%s::DOUBLE - ?) / ?)::BIGINT, ?) AS b, count(*) FROM %s WHERE %s IS NOT NULL GROUP BY 1 ORDER BY 1", q, quoteIdent(rel), q), lo, width, int64(bins-1))
		if err != nil {
			return d.queryError(ctx, err, "")
		}
		defer rows.Close()
		counts := make([]int64, bins)
		for rows.Next() {
			var b, c int64
			if err := rows.Scan(&b, &c); err != nil {
				return err
			}
			if b >= 0 && b < int64(bins) {
				counts[b] = c
			}
		}
		if err := rows.Err(); err != nil {
			return d.queryError(ctx, err, "")
		}
		for i, c := range counts {
			values = append(values, map[string]any{"bin_start": lo + float64(i)*width, "bin_end": lo + float64(i+1)*width, "count": c})
		}
		return nil
	})
	if err != nil {
		return display.VegaLiteChart{}, err
	}
	spec := map[string]any{
		"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
		"title":   "Histogram of " + name,
		"width":   400,
		"height":  240,
		"data":    map[string]any{"values": values},
		"mark":    map[string]any{"type": "bar", "tooltip": true},
	}
	if numeric {
		spec["encoding"] = map[string]any{
			"x":  map[string]any{"field": "bin_start", "type": "quantitative", "bin": map[string]any{"binned": true}, "title": name},
			"x2": map[string]any{"field": "bin_end"},
			"y":  map[string]any{"field": "count", "type": "quantitative", "title": "count"},
		}
	} else {
		spec["encoding"] = map[string]any{
			"x": map[string]any{"field": "value", "type": "nominal", "sort": "-y", "title": name},
			"y": map[string]any{"field": "count", "type": "quantitative", "title": "count"},
		}
	}
	return display.VegaLite(spec), nil
}

// ScatterPoints bounds the points of a scatter plot: larger tables are
// sampled (reservoir, repeatable).
var ScatterPoints = 5000

// Scatter returns a Vega-Lite scatter plot of column y against column x,
// coloured by the column named by color if given. At most ScatterPoints
// rows are plotted (a sample of larger tables).
func (t *Table) Scatter(x, y string, color ...string) (display.VegaLiteChart, error) {
	return t.ScatterContext(context.Background(), x, y, color...)
}

// ScatterContext is Scatter with a context that stops the query.
func (t *Table) ScatterContext(ctx context.Context, x, y string, color ...string) (display.VegaLiteChart, error) {
	cols := []string{x, y}
	keys := []string{"x", "y"}
	if len(color) > 0 && color[0] != "" {
		cols = append(cols, color[0])
		keys = append(keys, "color")
	}
	fs := make([]arrow.Field, len(cols))
	for i, c := range cols {
		f, err := t.field(c)
		if err != nil {
			return display.VegaLiteChart{}, err
		}
		fs[i] = f
	}
	var sel []string
	for _, c := range cols {
		sel = append(sel, quoteIdent(c))
	}
	var values []map[string]any
	sampled := false
	nrows := t.NumRows()
	err := t.withRelation(ctx, func(d *DB, rel string) error {
		q := "SELECT " + strings.Join(sel, ", ") + " FROM " + quoteIdent(rel) + " WHERE " + quoteIdent(x) + " IS NOT NULL AND " + quoteIdent(y) + " IS NOT NULL"
		if nrows < 0 || nrows > int64(ScatterPoints) {
			q = fmt.Sprintf("SELECT * FROM (%s) USING SAMPLE reservoir(%d ROWS) REPEATABLE (42)", q, ScatterPoints)
			sampled = true
		}
		r, err := d.queryLocked(ctx, q, nil, int64(ScatterPoints))
		if err != nil {
			return d.queryError(ctx, err, "")
		}
		defer r.Release()
		for _, row := range rowsOf(r.recs, ScatterPoints) {
			m := map[string]any{}
			for i, v := range row {
				if tm, ok := v.(time.Time); ok {
					v = tm.Format(time.RFC3339Nano)
				}
				m[keys[i]] = v
			}
			values = append(values, m)
		}
		return nil
	})
	if err != nil {
		return display.VegaLiteChart{}, err
	}
	enc := map[string]any{}
	for i, f := range fs {
		typ := "nominal"
		switch {
		case isNumeric(f.Type):
			typ = "quantitative"
		case isTemporal(f.Type):
			typ = "temporal"
		}
		e := map[string]any{"field": keys[i], "type": typ, "title": f.Name}
		if keys[i] != "color" && typ == "quantitative" {
			e["scale"] = map[string]any{"zero": false}
		}
		enc[keys[i]] = e
	}
	enc["tooltip"] = []any{enc["x"], enc["y"]}
	title := y + " vs " + x
	if sampled {
		title += fmt.Sprintf(" (sample of %d)", ScatterPoints)
	}
	return display.VegaLite(map[string]any{
		"$schema":  "https://vega.github.io/schema/vega-lite/v5.json",
		"title":    title,
		"width":    400,
		"height":   300,
		"data":     map[string]any{"values": values},
		"mark":     map[string]any{"type": "point", "opacity": 0.6},
		"encoding": enc,
	}), nil
}

func (t *Table) field(name string) (arrow.Field, error) {
	idx := t.schema.FieldIndices(name)
	if len(idx) == 0 {
		return arrow.Field{}, fmt.Errorf("data: no column %q (columns: %s)", name, strings.Join(t.ColumnNames(), ", "))
	}
	return t.schema.Field(idx[0]), nil
}

// Write writes the table's rows to path: Parquet for .parquet, CSV for
// .csv, JSON lines for .json, on a local path or s3://bucket/key.
func (t *Table) Write(path string) error {
	return t.WriteContext(context.Background(), path)
}

// WriteParquet writes the table to path (local or s3://) as Parquet (zstd).
func (t *Table) WriteParquet(path string) error {
	return t.write(context.Background(), path, "FORMAT parquet, COMPRESSION zstd")
}

// WriteCSV writes the table to path (local or s3://) as CSV with a header.
func (t *Table) WriteCSV(path string) error {
	return t.write(context.Background(), path, "FORMAT csv, HEADER true")
}

// WriteContext is Write with a context that stops the query.
func (t *Table) WriteContext(ctx context.Context, path string) error {
	fn, err := readerFunc(path)
	if err != nil {
		return err
	}
	opts := map[string]string{"read_parquet": "FORMAT parquet, COMPRESSION zstd", "read_csv": "FORMAT csv, HEADER true", "read_json": "FORMAT json"}[fn]
	return t.write(ctx, path, opts)
}

func (t *Table) write(ctx context.Context, path, opts string) error {
	return t.withRelation(ctx, func(d *DB, rel string) error {
		q, after, err := d.resolveS3(ctx, "COPY "+quoteIdent(rel)+" TO "+quoteLiteral(path)+" ("+opts+")")
		if err != nil {
			return err
		}
		if _, err := d.conn.ExecContext(ctx, q); err != nil {
			after(ctx, false)
			return d.queryError(ctx, err, "")
		}
		return after(ctx, true)
	})
}
