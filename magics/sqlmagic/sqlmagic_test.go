//go:build duckdb_arrow

package sqlmagic_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"

	"github.com/ferryml/ferry/cmd/ferry-kernel/symbols"
	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/kernel"
	"github.com/ferryml/ferry/kernel/goeval"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/magics/sqlmagic"
	"github.com/ferryml/ferry/storage/data"
)

// session is a Go evaluator with %%sql and %data on a fresh database.
type session struct {
	t  *testing.T
	ev *magics.Evaluator
	db *data.DB
}

func newSession(t *testing.T) *session {
	t.Helper()
	g, err := goeval.New(goeval.Options{
		Symbols:    []interp.Exports{symbols.Symbols},
		PreImports: map[string]string{"data": "github.com/ferryml/ferry/storage/data", "fmt": "fmt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := data.Open(t.Context(), data.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg := magics.NewRegistry()
	sqlmagic.Register(reg, sqlmagic.Options{Globals: g, DB: func() (*data.DB, error) { return db, nil }})
	return &session{t: t, ev: magics.NewEvaluator(g, reg), db: db}
}

func (s *session) run(code string) *kernel.Bundle {
	s.t.Helper()
	b, err := s.ev.Eval(s.t.Context(), code)
	if err != nil {
		s.t.Fatalf("%s\n: %v", code, err)
	}
	return b
}

func (s *session) text(code string) string {
	s.t.Helper()
	b := s.run(code)
	if b == nil {
		return ""
	}
	txt, _ := b.Data["text/plain"].(string)
	return txt
}

func (s *session) fail(code string) *kernel.ExecError {
	s.t.Helper()
	_, err := s.ev.Eval(s.t.Context(), code)
	var ee *kernel.ExecError
	if !errors.As(err, &ee) {
		s.t.Fatalf("%s\n: err = %v, want an ExecError", code, err)
	}
	return ee
}

func TestSQLWithGoValues(t *testing.T) {
	s := newSession(t)
	s.run(`type Person struct {
	Name string
	Age  int
}
people := []Person{{"ann", 31}, {"bob", 17}, {"cy", 45}}
minAge := 18
evil := "'; DROP TABLE kept; --"`)

	out := s.text("%%sql -o adults\nSELECT Name, Age FROM {people} WHERE Age >= {minAge} ORDER BY Age")
	if !strings.Contains(out, "2 rows × 2 columns") || !strings.Contains(out, "ann") || strings.Contains(out, "bob") {
		t.Errorf("%%%%sql -o output:\n%s", out)
	}
	// The result is a Go variable and a DuckDB table.
	if got := s.text("adults.NumRows()"); got != "2" {
		t.Errorf("adults.NumRows() = %s", got)
	}
	s.run("var back []Person\nerr := adults.ToStructs(&back)")
	if got := s.text("fmt.Sprint(err, back)"); got != `"<nil> [{ann 31} {cy 45}]"` {
		t.Errorf("ToStructs in a cell = %s", got)
	}
	if got := s.text("%%sql\nSELECT sum(Age) AS total FROM adults"); !strings.Contains(got, "76") {
		t.Errorf("query of an -o table:\n%s", got)
	}
	// An injection attempt stays a literal.
	s.run("%%sql -o kept\nSELECT 1 AS one")
	if got := s.text("%%sql\nSELECT {evil} AS v"); !strings.Contains(got, "DROP TABLE kept") {
		t.Errorf("bound string:\n%s", got)
	}
	if got := s.text("kept.NumRows()"); got != "1" {
		t.Errorf("kept after the injection attempt: %s", got)
	}
	// A Go-side table from data.Query joins SQL results with Go values.
	s.run(`bonus, err := data.FromStructs([]struct{ Name string; Bonus float64 }{{"ann", 1.5}, {"cy", 2.5}})`)
	if got := s.text("%%sql\nSELECT a.Name, a.Age * b.Bonus AS score FROM adults a JOIN {bonus} b USING (Name) ORDER BY 1"); !strings.Contains(got, "46.5") || !strings.Contains(got, "112.5") {
		t.Errorf("join with a Go table:\n%s", got)
	}
}

func TestSQLStatements(t *testing.T) {
	s := newSession(t)
	if b := s.run("%%sql\nCREATE TABLE made AS SELECT 1 AS a; INSERT INTO made VALUES (2)"); b != nil && strings.Contains(b.Data["text/plain"].(string), "rows") && !strings.Contains(b.Data["text/plain"].(string), "Count") {
		t.Errorf("DDL output: %v", b.Data)
	}
	if got := s.text("%%sql -o m\nSELECT sum(a) AS s FROM made"); !strings.Contains(got, "3") {
		t.Errorf("after DDL: %s", got)
	}
	// The line form.
	if got := s.text("%sql --limit 1 -o one SELECT 'a b' AS s UNION ALL SELECT 'c'"); !strings.Contains(got, "a b") || !strings.Contains(got, "first 1 of 2 rows") {
		t.Errorf("%%sql line: %s", got)
	}
	if got := s.text("one.NumRows()"); got != "2" {
		t.Errorf("one.NumRows() = %s", got)
	}
	// Several statements with -o keep the last result.
	if got := s.text("%%sql -o tables\nCREATE VIEW v AS SELECT 2 AS b; SHOW TABLES"); !strings.Contains(got, "made") || !strings.Contains(got, "v") {
		t.Errorf("SHOW TABLES -o: %s", got)
	}
	if got := s.text("tables.NumRows() > 0"); got != "true" {
		t.Errorf("tables.NumRows() > 0 = %s", got)
	}
}

func TestSQLTruncatesLargeResults(t *testing.T) {
	s := newSession(t)
	b := s.run("%%sql --limit 3\nSELECT range AS i, repeat('x', 100) AS pad FROM range(200000)")
	h := b.Data["text/html"].(string)
	if got := strings.Count(h, "<tr>") - 1; got != 3 {
		t.Errorf("%d rows in the HTML, want 3", got)
	}
	if !strings.Contains(h, "first 3 of 200000 rows") || len(h) > 5000 {
		t.Errorf("HTML (%d bytes): %s", len(h), h)
	}
}

func TestSQLErrors(t *testing.T) {
	s := newSession(t)
	dir := t.TempDir()
	ee := s.fail("%%sql\nSELECT 1,\n  2 FROM nosuch_table")
	if ee.Name != "SQLError" || !strings.Contains(ee.Value, "nosuch_table") || !strings.Contains(strings.Join(ee.Traceback, "\n"), "at line 3 of the cell: 2 FROM nosuch_table") {
		t.Errorf("missing table: %+v", ee)
	}
	missing := filepath.Join(dir, "gone.csv")
	if ee := s.fail("%%sql\nSELECT * FROM '" + missing + "'"); !strings.Contains(ee.Value, "file not found: "+missing) {
		t.Errorf("missing file: %+v", ee)
	}
	if ee := s.fail("%%sql\nSELECT {nothere}"); !strings.Contains(ee.Value, "no Go variable named nothere") {
		t.Errorf("unknown variable: %+v", ee)
	}
	if ee := s.fail("%%sql -o 9x\nSELECT 1"); ee.Name != "UsageError" {
		t.Errorf("bad -o: %+v", ee)
	}
	if ee := s.fail("%data frob x"); ee.Name != "UsageError" || !strings.Contains(ee.Value, "unknown command") {
		t.Errorf("bad %%data command: %+v", ee)
	}
}

func TestSQLInterrupt(t *testing.T) {
	s := newSession(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := s.ev.Eval(ctx, "%%sql\nSELECT sum(hash(a.range * b.range)) FROM range(1000000) a, range(1000000) b")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := s.text("%%sql\nSELECT 42 AS answer"); !strings.Contains(got, "42") {
		t.Errorf("after the interrupt: %s", got)
	}
}

func TestDataMagic(t *testing.T) {
	s := newSession(t)
	p := filepath.Join(t.TempDir(), "gen.parquet")
	s.run("%%sql -o gen\nSELECT range AS id, (range % 7)::DOUBLE AS x, range * 0.5 AS y, 'c' || (range % 3) AS cat FROM range(500)")
	s.run(`err := gen.WriteParquet(` + "`" + p + "`" + `)`)
	if got := s.text("err"); got != "<nil>" {
		t.Fatalf("WriteParquet: %s", got)
	}
	tests := []struct {
		line string
		mime string
		want string
	}{
		{"%data describe " + p, "text/plain", "cat"},
		{"%data schema gen", "text/plain", "float64"},
		{"%data head gen 3", "text/html", "first 3 of 500 rows"},
		{"%data hist gen x --bins 7", display.VegaLiteMIME, `"bin_start"`},
		{"%data hist " + p + " cat", display.VegaLiteMIME, `"nominal"`},
		{"%data scatter gen x y cat", display.VegaLiteMIME, `"point"`},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			b := s.run(tc.line)
			v, ok := b.Data[tc.mime]
			if !ok {
				t.Fatalf("no %s in %v", tc.mime, b.Data)
			}
			var got string
			switch x := v.(type) {
			case string:
				got = x
			default:
				got = mustJSON(t, x)
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("%s lacks %s:\n%.2000s", tc.mime, tc.want, got)
			}
		})
	}
	// The same from Go.
	if got := s.text(`s, err := gen.Describe()
st, _ := s.Get("x")
fmt.Sprint(err, st.Count, *st.Q50)`); got != `"<nil> 500 3"` {
		t.Errorf("Describe in a cell = %s", got)
	}
}
