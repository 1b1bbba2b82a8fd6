//go:build duckdb_arrow

package data_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/storage/data"
)

func openDB(t *testing.T) *data.DB {
	t.Helper()
	d, err := data.Open(t.Context(), data.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

type person struct {
	Name    string
	Age     int
	Score   *float64
	Born    time.Time `data:"born_at"`
	Skipped string    `data:"-"`
}

func TestStructsRoundTrip(t *testing.T) {
	d := openDB(t)
	ctx := t.Context()
	f := 1.5
	in := []person{
		{Name: "ann", Age: 31, Score: &f, Born: time.Date(1994, 5, 6, 7, 8, 9, 123000, time.UTC)},
		{Name: "bob's", Age: -4, Born: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	tab, err := data.FromStructs(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tab.ColumnNames(), []string{"Name", "Age", "Score", "born_at"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("columns = %v, want %v", got, want)
	}
	if err := d.Register(ctx, "people", tab); err != nil {
		t.Fatal(err)
	}
	res, err := d.Query(ctx, "SELECT * FROM people ORDER BY Age DESC")
	if err != nil {
		t.Fatal(err)
	}
	var out []person
	if err := res.ToStructs(&out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}

	// Pointers to structs, snake_case columns and type widening.
	type row struct {
		FullName string
		N        int32
		Avg      float32
	}
	res, err = d.Query(ctx, "SELECT 'x' AS full_name, 7::BIGINT AS n, 2.5::DOUBLE AS avg")
	if err != nil {
		t.Fatal(err)
	}
	var rows []*row
	if err := res.ToStructs(&rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || *rows[0] != (row{"x", 7, 2.5}) {
		t.Errorf("ToStructs = %+v", rows)
	}
	// Overflow is an error, not a wrapped value.
	res, err = d.Query(ctx, "SELECT 100000::BIGINT AS n")
	if err != nil {
		t.Fatal(err)
	}
	var small []struct{ N int8 }
	if err := res.ToStructs(&small); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("ToStructs into int8 = %v, want an overflow error", err)
	}
}

func TestValues(t *testing.T) {
	d := openDB(t)
	res, err := d.Query(t.Context(), `SELECT 1::TINYINT a, 2::UTINYINT b, 1.25::FLOAT c, 12.5::DECIMAL(10,2) d,
		'héllo' e, true f, DATE '2024-02-03' g, TIMESTAMP '2024-02-03 04:05:06' h, NULL::INT i, 10::HUGEINT j`)
	if err != nil {
		t.Fatal(err)
	}
	it := res.Rows()
	if !it.Next() {
		t.Fatal(it.Err())
	}
	got := it.Row()
	want := []any{int64(1), uint64(2), 1.25, 12.5, "héllo", true,
		time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC), nil, int64(10)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row = %#v\nwant %#v", got, want)
	}
	if it.Next() {
		t.Error("a second row")
	}
	if g := it.Get("e"); g != nil {
		t.Errorf("Get after the end = %v", g)
	}
}

func TestBindKeepsValuesLiteral(t *testing.T) {
	d := openDB(t)
	ctx := t.Context()
	if err := d.Exec(ctx, "CREATE TABLE secrets AS SELECT 42 AS v"); err != nil {
		t.Fatal(err)
	}
	attack := "x'; DROP TABLE secrets; SELECT '"
	vars := map[string]any{
		"name":  attack,
		"limit": 3,
		"cfg":   struct{ Min float64 }{Min: 1.5},
		"ids":   []int{1, 2},
	}
	lookup := func(n string) (any, bool) { v, ok := vars[n]; return v, ok }
	tests := []struct {
		sql  string
		want []any
	}{
		{"SELECT {name} AS v", []any{attack}},
		{"SELECT {limit} + 1 AS v", []any{int64(4)}},
		{"SELECT {cfg.Min} * 2 AS v", []any{3.0}},
		{"SELECT '{name}' AS v", []any{"{name}"}},             // inside a literal: untouched
		{"SELECT {'k': 1}.k AS v -- {name}", []any{int64(1)}}, // a struct literal, a comment
		{"SELECT len({ids}) AS v", []any{int64(2)}},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			b, err := data.Bind(tc.sql, lookup)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.SQL, "DROP") {
				t.Fatalf("value pasted into SQL: %s", b.SQL)
			}
			res, err := d.Query(ctx, b.SQL, b.Args...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := res.Values("v")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("v = %#v, want %#v", got, tc.want)
			}
		})
	}
	res, err := d.Query(ctx, "SELECT v FROM secrets")
	if err != nil || res.NumRows() != 1 {
		t.Fatalf("secrets table after the injection attempts: %v rows, %v", res, err)
	}
	if _, err := data.Bind("SELECT {nope}", lookup); err == nil || !strings.Contains(err.Error(), "no Go variable named nope") {
		t.Errorf("unknown variable: err = %v", err)
	}
}

func TestBindTables(t *testing.T) {
	d := openDB(t)
	ctx := t.Context()
	people := []person{{Name: "a", Age: 1}, {Name: "b", Age: 2}, {Name: "c", Age: 3}}
	lookup := func(n string) (any, bool) {
		if n == "people" {
			return people, true
		}
		return nil, false
	}
	b, err := data.Bind("SELECT sum(Age) AS s FROM {people} WHERE Name <> {people}", lookup)
	if err == nil {
		// A table used as a value too is the same table name.
		_ = b
	}
	b, err = data.Bind("SELECT sum(p.Age) AS s, count(*) AS n FROM {people} p JOIN {people} q USING (Name)", lookup)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Tables) != 1 {
		t.Fatalf("tables = %v, want one", b.Tables)
	}
	for name, tab := range b.Tables {
		if err := d.Register(ctx, name, tab); err != nil {
			t.Fatal(err)
		}
	}
	res, err := d.Query(ctx, b.SQL, b.Args...)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := res.Head(1)
	if want := []any{int64(6), int64(3)}; !reflect.DeepEqual(rows[0], want) {
		t.Errorf("row = %v, want %v", rows[0], want)
	}
}

func TestQueryHeadTruncates(t *testing.T) {
	d := openDB(t)
	const n = 1_000_000
	res, err := d.QueryHead(t.Context(), 5, "SELECT range AS i, 'row ' || range AS s FROM range(1000000)")
	if err != nil {
		t.Fatal(err)
	}
	if res.NumRows() != n || res.Complete() {
		t.Errorf("NumRows = %d, Complete = %v; want %d, false", res.NumRows(), res.Complete(), n)
	}
	recs, _ := res.Records()
	if recs != nil {
		t.Error("Records of a truncated result succeeded")
	}
	html := res.Show(5).T.String()
	_ = html
	bundle, _ := display.MIMEBundle(res.Show(50))
	h := bundle["text/html"].(string)
	if got := strings.Count(h, "<tr>") - 1; got != 5 {
		t.Errorf("HTML has %d body rows, want 5 (the rows kept)", got)
	}
	if !strings.Contains(h, "first 5 of 1000000 rows × 2 columns") {
		t.Errorf("HTML lacks the row count: %s", h)
	}
	if len(h) > 4000 {
		t.Errorf("HTML of a truncated result is %d bytes", len(h))
	}
	// A full result is shown with DisplayRows rows only.
	full, err := d.Query(t.Context(), "SELECT range AS i FROM range(100000)")
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ = display.MIMEBundle(full)
	if got := strings.Count(bundle["text/html"].(string), "<tr>") - 1; got != data.DisplayRows {
		t.Errorf("HTML has %d rows, want %d", got, data.DisplayRows)
	}
	if txt := bundle["text/plain"].(string); !strings.Contains(txt, "100000 rows × 1 columns") || !strings.Contains(txt, "i (int64)") {
		t.Errorf("text/plain = %s", txt)
	}
}

func TestInterrupt(t *testing.T) {
	d := openDB(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := d.Query(ctx, "SELECT sum(hash(a.range + b.range)) FROM range(1000000) a, range(1000000) b")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The connection is usable afterwards.
	res, err := d.Query(t.Context(), "SELECT 1 AS one")
	if err != nil || res.NumRows() != 1 {
		t.Fatalf("after interrupt: %v, %v", res, err)
	}
}

func TestFilesDescribeCharts(t *testing.T) {
	d := openDB(t)
	ctx := t.Context()
	dir := t.TempDir()
	if err := d.Exec(ctx, `CREATE TABLE gen AS SELECT range AS id, (range % 10)::DOUBLE AS x,
		CASE WHEN range % 4 = 0 THEN NULL ELSE range * 2.0 END AS y, 'k' || (range % 3) AS k,
		TIMESTAMP '2024-01-01' + INTERVAL (range) MINUTE AS ts FROM range(1000)`); err != nil {
		t.Fatal(err)
	}
	gen, err := d.Table(ctx, "gen")
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"parquet", "csv", "json"} {
		t.Run(ext, func(t *testing.T) {
			p := filepath.Join(dir, "gen."+ext)
			if err := gen.Write(p); err != nil {
				t.Fatal(err)
			}
			tab, err := d.Read(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if tab.NumRows() != 1000 || tab.NumCols() != 5 {
				t.Fatalf("read %d rows, %d columns", tab.NumRows(), tab.NumCols())
			}
			s, err := tab.Describe()
			if err != nil {
				t.Fatal(err)
			}
			y, _ := s.Get("y")
			if y.Count != 750 || y.Nulls != 250 || y.Mean == nil || math.Abs(*y.Mean-1000) > 1e-9 || y.Min != "2.0" || y.Max != "1998.0" {
				t.Errorf("y stats = %+v", y)
			}
			x, _ := s.Get("x")
			if x.Min != "0.0" || x.Max != "9.0" || *x.Q50 != 4.5 || x.Distinct != -1 {
				t.Errorf("x stats = %+v (min %q max %q)", x, x.Min, x.Max)
			}
			if k, _ := s.Get("k"); k.Mean != nil || k.Distinct != 3 || k.Min != "k0" || k.Max != "k2" || k.Top != "k0" || k.Freq != 334 {
				t.Errorf("k stats = %+v", k)
			}
			ts, _ := s.Get("ts")
			day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			for _, c := range []struct {
				name string
				got  *time.Time
				want time.Time
			}{
				{"mean", ts.MeanTime, day.Add(499*time.Minute + 30*time.Second)},
				{"25%", ts.Q25Time, day.Add(249*time.Minute + 45*time.Second)},
				{"50%", ts.Q50Time, day.Add(499*time.Minute + 30*time.Second)},
				{"75%", ts.Q75Time, day.Add(749*time.Minute + 15*time.Second)},
			} {
				if c.got == nil || !c.got.Equal(c.want) {
					t.Errorf("ts %s = %v, want %v", c.name, c.got, c.want)
				}
			}
			if ts.Mean != nil || ts.Freq != 0 || ts.Min != "2024-01-01 00:00:00" {
				t.Errorf("ts stats = %+v", ts)
			}
		})
	}
	h, err := gen.Hist("x", 10)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.MIMEBundle()
	spec := b[display.VegaLiteMIME].(map[string]any)
	vals := spec["data"].(map[string]any)["values"].([]any)
	if len(vals) != 10 {
		t.Fatalf("%d bins, want 10", len(vals))
	}
	for _, v := range vals {
		if c := v.(map[string]any)["count"].(float64); c != 100 {
			t.Errorf("bin %v has %v values, want 100", v, c)
		}
	}
	hk, err := gen.Hist("k", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = hk.MIMEBundle()
	if vals := b[display.VegaLiteMIME].(map[string]any)["data"].(map[string]any)["values"].([]any); len(vals) != 3 {
		t.Errorf("categorical histogram has %d bars, want 3", len(vals))
	}
	data.ScatterPoints = 200
	t.Cleanup(func() { data.ScatterPoints = 5000 })
	sc, err := gen.Scatter("x", "y", "k")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = sc.MIMEBundle()
	spec = b[display.VegaLiteMIME].(map[string]any)
	if vals := spec["data"].(map[string]any)["values"].([]any); len(vals) != 200 {
		t.Errorf("scatter has %d points, want the 200 sampled", len(vals))
	}
	if enc := spec["encoding"].(map[string]any); enc["color"].(map[string]any)["type"] != "nominal" {
		t.Errorf("color encoding = %v", enc["color"])
	}
}

func TestDescribeKinds(t *testing.T) {
	d := openDB(t)
	ctx := t.Context()
	if err := d.Exec(ctx, `CREATE TABLE kinds AS SELECT range AS i, NULL::VARCHAR AS nothing, range % 2 = 0 AS even,
		DATE '2024-01-01' + range::INTEGER AS day, ['b', 'a', 'c', 'a', 'b'][range + 1] AS "tie %d" FROM range(5)`); err != nil {
		t.Fatal(err)
	}
	tab, err := d.Table(ctx, "kinds")
	if err != nil {
		t.Fatal(err)
	}
	s, err := tab.Describe()
	if err != nil {
		t.Fatal(err)
	}
	day := func(n int) *time.Time { v := time.Date(2024, 1, n, 0, 0, 0, 0, time.UTC); return &v }
	f := func(v float64) *float64 { return &v }
	want := []data.ColumnStats{
		{Column: "i", Type: "int64", Count: 5, Mean: f(2), Std: f(math.Sqrt(2.5)), Min: "0", Q25: f(1), Q50: f(2), Q75: f(3), Max: "4", Distinct: -1},
		{Column: "nothing", Type: "string", Nulls: 5},
		{Column: "even", Type: "bool", Count: 5, Min: "false", Max: "true", Distinct: 2, Top: "true", Freq: 3},
		{Column: "day", Type: "date32", Count: 5, Min: "2024-01-01", Max: "2024-01-05", Distinct: -1,
			MeanTime: day(3), Q25Time: day(2), Q50Time: day(3), Q75Time: day(4)},
		// Ties: the smallest of the most frequent values.
		{Column: "tie %d", Type: "string", Count: 5, Min: "a", Max: "c", Distinct: 3, Top: "a", Freq: 2},
	}
	if s.NumRows != 5 || len(s.Columns) != len(want) {
		t.Fatalf("describe: %d rows, %d columns", s.NumRows, len(s.Columns))
	}
	for i, w := range want {
		if got := s.Columns[i]; !reflect.DeepEqual(got, w) {
			t.Errorf("column %s:\n got %s\nwant %s", w.Column, statsString(got), statsString(w))
		}
	}
	// The same from a Scan (a view, without DuckDB's statistics).
	p := filepath.Join(t.TempDir(), "kinds.parquet")
	if err := tab.Write(p); err != nil {
		t.Fatal(err)
	}
	sc, err := d.Scan(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := sc.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if i, _ := ss.Get("i"); i.Distinct != -1 || i.Count != 5 || *i.Q50 != 2 {
		t.Errorf("scan: i = %s", statsString(i))
	}
	if tie, _ := ss.Get("tie %d"); tie.Distinct != 3 || tie.Top != "a" || tie.Freq != 2 {
		t.Errorf("scan: tie = %s", statsString(tie))
	}
	b, _ := s.MIMEBundle()
	if html, _ := b["text/html"].(string); !strings.Contains(html, "2024-01-03") || !strings.Contains(html, "<th>top</th>") {
		t.Errorf("summary HTML lacks the mean day or the top column:\n%s", html)
	}
}

// statsString prints a ColumnStats with its pointers followed.
func statsString(c data.ColumnStats) string {
	ptr := func(v any) string {
		switch p := v.(type) {
		case *float64:
			if p != nil {
				return fmt.Sprint(*p)
			}
		case *time.Time:
			if p != nil {
				return p.Format(time.DateTime)
			}
		}
		return "nil"
	}
	return fmt.Sprintf("{%s %s count %d nulls %d mean %s std %s min %q q %s %s %s max %q distinct %d top %q freq %d times %s %s %s %s}",
		c.Column, c.Type, c.Count, c.Nulls, ptr(c.Mean), ptr(c.Std), c.Min, ptr(c.Q25), ptr(c.Q50), ptr(c.Q75), c.Max,
		c.Distinct, c.Top, c.Freq, ptr(c.MeanTime), ptr(c.Q25Time), ptr(c.Q50Time), ptr(c.Q75Time))
}

func TestDescribeSample(t *testing.T) {
	d := openDB(t)
	ctx := t.Context()
	oldRows, oldSample := data.ExactQuantileRows, data.QuantileSample
	data.ExactQuantileRows, data.QuantileSample = 1000, 5000
	t.Cleanup(func() { data.ExactQuantileRows, data.QuantileSample = oldRows, oldSample })
	p := filepath.Join(t.TempDir(), "big.parquet")
	if err := d.Exec(ctx, "COPY (SELECT range AS i, TIMESTAMP '2024-01-01' + to_seconds(range) AS ts FROM range(200000)) TO '"+p+"'"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Read", "Scan"} {
		t.Run(name, func(t *testing.T) {
			var tab *data.Table
			var err error
			if name == "Read" {
				tab, err = d.Read(ctx, p)
			} else {
				tab, err = d.Scan(ctx, p)
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := tab.Describe()
			if err != nil {
				t.Fatal(err)
			}
			i, _ := s.Get("i")
			for _, c := range []struct {
				name string
				got  *float64
				want float64
			}{{"25%", i.Q25, 50000}, {"50%", i.Q50, 100000}, {"75%", i.Q75, 150000}} {
				// A sample of 5000: the rank is off by 0.6% (one sigma) at most.
				if c.got == nil || math.Abs(*c.got-c.want) > 0.03*200000 {
					t.Errorf("i %s = %v, want %v ± 3%%", c.name, ptrString(c.got), c.want)
				}
			}
			if *i.Q25 == 49999.75 && *i.Q50 == 99999.5 {
				t.Errorf("quartiles %v %v are exact: not from a sample", *i.Q25, *i.Q50)
			}
			ts, _ := s.Get("ts")
			if want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(100000 * time.Second); ts.Q50Time == nil || ts.Q50Time.Sub(want).Abs() > 6000*time.Second {
				t.Errorf("ts median = %v, want %v ± 6000 s", ts.Q50Time, want)
			}
			again, err := tab.Describe()
			if err != nil {
				t.Fatal(err)
			}
			if i2, _ := again.Get("i"); *i2.Q25 != *i.Q25 || *i2.Q50 != *i.Q50 || *i2.Q75 != *i.Q75 {
				t.Errorf("quartiles changed from %v %v %v to %v %v %v", *i.Q25, *i.Q50, *i.Q75, *i2.Q25, *i2.Q50, *i2.Q75)
			}
		})
	}
	// Nulls set after loading are counted (the statistics that let
	// Describe skip reading a column without nulls follow updates).
	tab, err := d.Read(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Exec(ctx, `UPDATE "`+tab.Name()+`" SET i = NULL WHERE i < 10`); err != nil {
		t.Fatal(err)
	}
	s, err := tab.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if i, _ := s.Get("i"); i.Count != 199990 || i.Nulls != 10 || i.Min != "10" {
		t.Errorf("after UPDATE: i = %s", statsString(i))
	}
}

func ptrString(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func TestErrors(t *testing.T) {
	d := openDB(t)
	ctx := t.Context()
	missing := filepath.Join(t.TempDir(), "nope.parquet")
	_, err := d.Read(ctx, missing)
	if err == nil || !strings.Contains(err.Error(), "file not found: "+missing) {
		t.Errorf("Read missing = %v", err)
	}
	_, err = d.Query(ctx, "SELECT * FROM '"+missing+"'")
	if err == nil || !strings.Contains(err.Error(), "file not found: "+missing) || !data.IsNotFound(err) {
		t.Errorf("query missing = %v", err)
	}
	_, err = d.Query(ctx, "SELECT 1\nFROM nosuchtable")
	var de *data.Error
	if !errors.As(err, &de) || de.Line() != 2 || !strings.Contains(de.Error(), "nosuchtable") {
		t.Errorf("missing table: %v (line %d)", err, de.Line())
	}
	old := data.OpenStore
	data.OpenStore = nil
	t.Cleanup(func() { data.OpenStore = old })
	_, err = d.Query(ctx, "SELECT * FROM 's3://bucket/x.parquet'")
	if err == nil || !strings.Contains(err.Error(), "no object store is configured") {
		t.Errorf("s3 without store = %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("the missing file exists")
	}
}

func TestScan(t *testing.T) {
	d := openDB(t)
	ctx := t.Context()
	for _, ext := range []string{"parquet", "csv"} {
		t.Run(ext, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "big."+ext)
			if err := d.Exec(ctx, "COPY (SELECT range AS i, range % 3 AS g FROM range(2000000)) TO '"+p+"'"); err != nil {
				t.Fatal(err)
			}
			s, err := d.Scan(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := s.Describe()
			if err != nil {
				t.Fatal(err)
			}
			i, _ := sum.Get("i")
			if sum.NumRows != 2000000 || i.Count != 2000000 || *i.Mean != 999999.5 || math.Abs(*i.Q50-1e6)/1e6 > 0.01 || math.Abs(*i.Q25-5e5)/5e5 > 0.02 {
				t.Errorf("describe of a scan: rows %d, %+v (quartiles %v %v %v)", sum.NumRows, i, *i.Q25, *i.Q50, *i.Q75)
			}
			if s.NumRows() != 2000000 {
				t.Errorf("NumRows = %d", s.NumRows())
			}
			res, err := d.Query(ctx, "SELECT g, count(*) AS n FROM \""+s.Name()+"\" GROUP BY g ORDER BY g")
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.Values("n"); !reflect.DeepEqual(n, []any{int64(666667), int64(666667), int64(666666)}) {
				t.Errorf("group counts = %v", n)
			}
		})
	}
}
