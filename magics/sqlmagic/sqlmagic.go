package sqlmagic

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/kernel"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/storage/data"
)

// Globals reads and sets the session's Go variables (implemented by
// *goeval.Evaluator).
type Globals interface {
	Global(name string) (reflect.Value, bool)
	SetGlobal(ctx context.Context, name string, v any) error
}

// Options configure the magics.
type Options struct {
	// Globals gives {name} values and receives -o results; nil disables
	// both (a {name} is then an error).
	Globals Globals
	// DB returns the database; nil means data.Default.
	DB func() (*data.DB, error)
}

// DefaultLimit is how many rows %%sql shows without --limit.
const DefaultLimit = 10

const sqlUsage = `%%sql [-o NAME] [--limit N]
SQL ...

%sql [-o NAME] [--limit N] SQL

Runs SQL on the kernel's DuckDB. Tables can be files by path ('x.parquet',
'dir/*.csv', 'y.json'), s3://bucket/key objects, earlier -o results, and Go
variables written {name}. {name} binds a Go value as a parameter; a Go
table (a *data.Table, Arrow records or a slice of structs) is read as a table.

  -o NAME    keep the whole result as the DuckDB table NAME and the Go
             variable NAME (*data.Table)
  --limit N  show the first N rows (default 10); a result is never sent
             whole to the browser`

const dataUsage = `%data describe TABLE_OR_FILE
%data schema TABLE_OR_FILE
%data head TABLE_OR_FILE [N]
%data hist TABLE_OR_FILE COLUMN [--bins N]
%data scatter TABLE_OR_FILE X Y [COLOR]

TABLE_OR_FILE is a Go variable holding a table, a DuckDB table (an -o
result), or a CSV, Parquet or JSON file (local path or s3://bucket/key).`

// Register adds %%sql and %data to reg.
func Register(reg *magics.Registry, o Options) {
	if o.DB == nil {
		o.DB = data.Default
	}
	s := &sqlMagic{o: o}
	s.sql = &magics.Magic{
		Name:    "sql",
		Summary: "run SQL on the embedded DuckDB (files, s3://, Go values); -o NAME keeps the result",
		Usage:   sqlUsage,
		Cell:    s.runSQL,
		Line:    s.runSQLLine,
	}
	s.data = &magics.Magic{
		Name:    "data",
		Summary: "describe, schema, head, hist or scatter a table or a data file",
		Usage:   dataUsage,
		Line:    s.runData,
	}
	reg.Register(s.sql)
	reg.Register(s.data)
}

type sqlMagic struct {
	o    Options
	sql  *magics.Magic
	data *magics.Magic
}

func (s *sqlMagic) lookup(name string) (any, bool) {
	if s.o.Globals == nil {
		return nil, false
	}
	v, ok := s.o.Globals.Global(name)
	if !ok || !v.IsValid() || !v.CanInterface() {
		return nil, false
	}
	return v.Interface(), true
}

func (s *sqlMagic) runSQL(ctx context.Context, args, body string) (any, error) {
	return s.run(ctx, args, body, true)
}

// run runs the SQL of %%sql (cell: the SQL starts on the cell's second
// line) or %sql.
func (s *sqlMagic) run(ctx context.Context, args, body string, cell bool) (any, error) {
	var fs flag.FlagSet
	out := fs.String("o", "", "")
	limit := fs.Int("limit", DefaultLimit, "")
	pos, err := magics.ParseFlags(s.sql, &fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, magics.Usagef(s.sql, "unexpected argument %q: the SQL goes on the lines below %%%%sql", pos[0])
	}
	if *out != "" && (!token.IsIdentifier(*out) || token.IsKeyword(*out)) {
		return nil, magics.Usagef(s.sql, "-o %s: the name must be a Go identifier (it becomes a Go variable)", *out)
	}
	if *limit < 0 {
		return nil, magics.Usagef(s.sql, "--limit %d: must be 0 or more", *limit)
	}
	if strings.TrimSpace(body) == "" {
		return nil, magics.Usagef(s.sql, "no SQL below %%%%sql")
	}
	db, err := s.o.DB()
	if err != nil {
		return nil, err
	}
	b, err := data.Bind(body, s.lookup)
	if err != nil {
		return nil, sqlError(err, body, cell)
	}
	for name, t := range b.Tables {
		if err := db.Register(ctx, name, t); err != nil {
			return nil, err
		}
	}
	defer func() {
		for name := range b.Tables {
			_ = db.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS \""+name+"\"")
		}
	}()
	defer progress(ctx)()
	if *out == "" {
		t, err := db.QueryHead(ctx, *limit, b.SQL, b.Args...)
		if err != nil {
			return nil, sqlError(err, body, cell)
		}
		if t.NumCols() == 0 {
			return nil, nil
		}
		return t.Show(*limit), nil
	}
	t, err := db.QueryInto(ctx, *out, b.SQL, b.Args...)
	if err != nil {
		return nil, sqlError(err, body, cell)
	}
	if s.o.Globals != nil {
		if err := s.o.Globals.SetGlobal(ctx, *out, t); err != nil {
			return nil, err
		}
	}
	return t.Show(*limit), nil
}

// runSQLLine runs `%sql [flags] SQL`: the flags come first, the rest of the
// line is the SQL as written (quotes kept).
func (s *sqlMagic) runSQLLine(ctx context.Context, args string) (any, error) {
	var flags []string
	rest := strings.TrimSpace(args)
	for strings.HasPrefix(rest, "-") {
		name, after, _ := strings.Cut(rest, " ")
		if name == "--" {
			rest = strings.TrimSpace(after)
			break
		}
		flags = append(flags, name)
		if !strings.Contains(name, "=") {
			var val string
			val, after, _ = strings.Cut(strings.TrimSpace(after), " ")
			flags = append(flags, val)
		}
		rest = strings.TrimSpace(after)
	}
	return s.run(ctx, strings.Join(flags, " "), rest, false)
}

// sqlError turns a query error into an ExecError that shows DuckDB's
// message and the line of the cell it points at (the body starts on the
// cell's second line).
func sqlError(err error, body string, cell bool) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	tb := strings.Split("SQLError: "+msg, "\n")
	var de *data.Error
	if errors.As(err, &de) && cell {
		if n := de.Line(); n > 0 {
			lines := strings.Split(body, "\n")
			where := fmt.Sprintf("at line %d of the cell", n+1)
			if n <= len(lines) {
				where += ": " + strings.TrimSpace(lines[n-1])
			}
			tb = append(tb, where)
		}
	}
	return &kernel.ExecError{Name: "SQLError", Value: msg, Traceback: tb}
}

func (s *sqlMagic) runData(ctx context.Context, args string) (any, error) {
	var fs flag.FlagSet
	bins := fs.Int("bins", 30, "")
	pos, err := magics.ParseFlags(s.data, &fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) < 2 {
		return nil, magics.Usagef(s.data, "need a command and a table or file")
	}
	cmd, src, rest := pos[0], pos[1], pos[2:]
	want := map[string][2]int{"describe": {0, 0}, "schema": {0, 0}, "head": {0, 1}, "hist": {1, 1}, "scatter": {2, 3}}
	n, ok := want[cmd]
	if !ok {
		return nil, magics.Usagef(s.data, "unknown command %q: use describe, schema, head, hist or scatter", cmd)
	}
	if len(rest) < n[0] || len(rest) > n[1] {
		return nil, magics.Usagef(s.data, "%s takes %d to %d arguments after the table, not %d", cmd, n[0], n[1], len(rest))
	}
	t, err := s.table(ctx, src)
	if err != nil {
		return nil, err
	}
	switch cmd {
	case "describe":
		return t.DescribeContext(ctx)
	case "schema":
		tab := display.Table{Columns: []string{"column", "type", "nullable"}, Caption: fmt.Sprintf("%d rows", t.NumRows())}
		for _, f := range t.Schema().Fields() {
			tab.Rows = append(tab.Rows, []any{f.Name, f.Type.String(), f.Nullable})
		}
		return tab, nil
	case "head":
		rows := DefaultLimit
		if len(rest) == 1 {
			rows, err = strconv.Atoi(rest[0])
			if err != nil || rows < 0 {
				return nil, magics.Usagef(s.data, "head: %q is not a row count", rest[0])
			}
		}
		return t.Show(rows), nil
	case "hist":
		return t.HistContext(ctx, rest[0], *bins)
	default:
		return t.ScatterContext(ctx, rest[0], rest[1], rest[2:]...)
	}
}

// table resolves a Go variable, a DuckDB table or a file.
func (s *sqlMagic) table(ctx context.Context, src string) (*data.Table, error) {
	if v, ok := s.lookup(src); ok {
		t, ok, err := data.AsTable(v)
		if err != nil {
			return nil, err
		}
		if ok {
			return t, nil
		}
		return nil, magics.Usagef(s.data, "the Go variable %s is a %T, not a table (a *data.Table, Arrow records or a slice of structs)", src, v)
	}
	db, err := s.o.DB()
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(src, "s3://") || strings.ContainsAny(src, "/.*") {
		// One look at a file: read it in place rather than load it.
		return db.Scan(ctx, src)
	}
	t, err := db.Table(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("no Go variable, table or file called %s (%v)", src, err)
	}
	return t, nil
}

// ProgressAfter is how long a query runs before %%sql shows its elapsed
// time (updated every second until it ends or is interrupted).
var ProgressAfter = time.Second

// progress shows a ticking elapsed time while a long query runs; the
// returned func stops it and blanks the display.
func progress(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := time.Now()
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-time.After(ProgressAfter):
		}
		msg := func() display.Text {
			return display.Text(fmt.Sprintf("query running… %s (interrupt the kernel to stop it)", time.Since(start).Round(time.Second)))
		}
		h := display.NewDisplay(msg())
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				h.Update(display.Text(""))
				return
			case <-ctx.Done():
				h.Update(display.Text("query interrupted after " + time.Since(start).Round(100*time.Millisecond).String()))
				return
			case <-tick.C:
				h.Update(msg())
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
