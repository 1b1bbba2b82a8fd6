package data

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/ferryml/ferry/widgets/display"
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
	// Distinct is the approximate number of distinct values
	// (HyperLogLog; exact for small columns).
	Distinct int64
}

// Summary is the result of Describe: one ColumnStats per column.
type Summary struct {
	Columns []ColumnStats
	NumRows int64
	Elapsed time.Duration
}

// ExactQuantileRows is the largest table whose quartiles Describe computes
// exactly. Above it the quartiles are those of a uniform sample of
// QuantileSample rows (within about 0.5% of the rank), or t-digest
// estimates for a CSV or JSON file left in place by Scan; either takes
// constant memory instead of a copy of each column.
var ExactQuantileRows int64 = 1_000_000

// QuantileSample is the sample size of Describe's quartiles above
// ExactQuantileRows.
var QuantileSample = 100_000

// Describe computes, in one pass, each column's count, nulls, mean,
// standard deviation, min, quartiles (see ExactQuantileRows), max and
// approximate distinct count.
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
	// Quartiles: exact up to ExactQuantileRows; above, exact quartiles of a
	// uniform sample of QuantileSample rows (a second, cheap query), or
	// t-digest estimates in the main pass for a CSV or JSON file left in
	// place by Scan (which a second query would parse again).
	sampled := t.nrows < 0 || t.nrows > ExactQuantileRows
	quantile := func(q string) string { return "quantile_cont(" + q + "::DOUBLE, [0.25, 0.5, 0.75])" }
	if sampled && t.rescan {
		quantile = func(q string) string { return "approx_quantile(" + q + "::DOUBLE, [0.25, 0.5, 0.75])" }
		sampled = false
	}
	var sel, qsel []string
	for _, f := range fields {
		q := quoteIdent(f.Name)
		sel = append(sel, "count("+q+")", "min("+q+")::VARCHAR", "max("+q+")::VARCHAR", "approx_count_distinct("+q+")")
		if isNumeric(f.Type) {
			sel = append(sel, "avg("+q+")::DOUBLE", "stddev_samp("+q+")::DOUBLE")
			if sampled {
				qsel = append(qsel, quantile(q))
			} else {
				sel = append(sel, quantile(q))
			}
		}
	}
	sel = append(sel, "count(*)")
	var res, qres *Table
	err := t.withRelation(ctx, func(d *DB, rel string) error {
		r, err := d.queryLocked(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+quoteIdent(rel), nil, -1)
		if err != nil {
			return d.queryError(ctx, err, "")
		}
		res = r
		if len(qsel) > 0 {
			r, err := d.queryLocked(ctx, fmt.Sprintf("SELECT %s FROM %s USING SAMPLE reservoir(%d ROWS) REPEATABLE (42)", strings.Join(qsel, ", "), quoteIdent(rel), QuantileSample), nil, -1)
			if err != nil {
				return d.queryError(ctx, err, "")
			}
			qres = r
		}
		return nil
	})
	if err != nil {
		if res != nil {
			res.Release()
		}
		return nil, err
	}
	defer res.Release()
	if qres != nil {
		defer qres.Release()
	}
	if len(res.recs) == 0 || res.recs[0].NumRows() == 0 || qres != nil && (len(qres.recs) == 0 || qres.recs[0].NumRows() == 0) {
		return nil, fmt.Errorf("data: describe: no result")
	}
	rec := res.recs[0]
	col, qcol := 0, 0
	next := func() any { v := Value(rec.Column(col), 0); col++; return v }
	s := &Summary{}
	for _, f := range fields {
		cs := ColumnStats{Column: f.Name, Type: typeName(f.Type)}
		cs.Count, _ = next().(int64)
		cs.Min, _ = next().(string)
		cs.Max, _ = next().(string)
		cs.Distinct, _ = next().(int64)
		if isNumeric(f.Type) {
			cs.Mean = floatPtr(next())
			cs.Std = floatPtr(next())
			var qs []float64
			if qres != nil {
				qs = listFloats(qres.recs[0].Column(qcol), 0)
				qcol++
			} else {
				qs = listFloats(rec.Column(col), 0)
				col++
			}
			if len(qs) == 3 {
				cs.Q25, cs.Q50, cs.Q75 = &qs[0], &qs[1], &qs[2]
			}
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

// MIMEBundle renders the summary as a table, one row per column.
func (s *Summary) MIMEBundle() (data, metadata map[string]any) {
	t := display.Table{
		Columns: []string{"column", "type", "count", "nulls", "mean", "std", "min", "25%", "50%", "75%", "max", "distinct≈"},
		Caption: fmt.Sprintf("%s · %s", plural(s.NumRows, "row"), roundDuration(s.Elapsed)),
	}
	for _, c := range s.Columns {
		t.Rows = append(t.Rows, []any{c.Column, c.Type, c.Count, c.Nulls, c.Mean, c.Std,
			truncate(c.Min, 40), c.Q25, c.Q50, c.Q75, truncate(c.Max, 40), c.Distinct})
	}
	return t.MIMEBundle()
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
