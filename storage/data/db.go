package data

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/ferryml/ferry"
)

// DB is an in-memory DuckDB database with one connection. Its methods are
// safe for concurrent use; queries run one at a time.
type DB struct {
	connector *duckdb.Connector
	db        *sql.DB
	conn      *sql.Conn

	mu       sync.Mutex // serialises use of conn
	ar       arrowConn
	seq      atomic.Int64
	cacheDir string
	drops    chan string // tables of collected Tables, dropped at the next query
	closed   bool
}

// Options configure Open.
type Options struct {
	// CacheDir holds local copies of s3:// objects read by queries; default
	// $XDG_CACHE_HOME/ferry/data (or the system temporary directory).
	CacheDir string
	// Threads bounds DuckDB's worker threads; 0 means one per CPU.
	Threads int
	// MemoryLimit bounds DuckDB's buffer memory, as DuckDB's memory_limit
	// setting ("4GB"); "" keeps DuckDB's default (80% of RAM).
	MemoryLimit string
}

// Open returns a fresh in-memory DuckDB database.
func Open(ctx context.Context, o Options) (*DB, error) {
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("data: open duckdb: %w", err)
	}
	sdb := sql.OpenDB(c)
	conn, err := sdb.Conn(ctx)
	if err != nil {
		sdb.Close()
		c.Close()
		return nil, fmt.Errorf("data: open duckdb connection: %w", err)
	}
	d := &DB{connector: c, db: sdb, conn: conn, cacheDir: o.CacheDir, drops: make(chan string, 1024)}
	if d.cacheDir == "" {
		d.cacheDir = defaultCacheDir()
	}
	if err := conn.Raw(func(dc any) error {
		var err error
		d.ar, err = newArrowConn(dc.(driver.Conn))
		return err
	}); err != nil {
		d.Close()
		return nil, fmt.Errorf("data: %w", err)
	}
	var settings []string
	if o.Threads > 0 {
		settings = append(settings, fmt.Sprintf("SET threads = %d", o.Threads))
	}
	if o.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit = "+quoteLiteral(o.MemoryLimit))
	}
	// DuckDB would try to download httpfs for s3:// and https:// paths
	// that slip through: say clearly that it is not available instead.
	settings = append(settings, "SET autoinstall_known_extensions = false", "SET autoload_known_extensions = false")
	for _, s := range settings {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			d.Close()
			return nil, fmt.Errorf("data: %s: %w", s, err)
		}
	}
	return d, nil
}

func defaultCacheDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "ferry", "data")
	}
	return filepath.Join(os.TempDir(), "ferry-data-cache")
}

// Close closes the database; Tables that live in it can no longer be read.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if d.conn != nil {
		errs = append(errs, d.conn.Close())
	}
	errs = append(errs, d.db.Close(), d.connector.Close())
	return errors.Join(errs...)
}

var (
	defaultMu sync.Mutex
	defaultDB *DB
)

// Default returns the process's shared database, opening it on first use.
// Read, Query and the %%sql magic use it.
func Default() (*DB, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultDB == nil {
		d, err := Open(context.Background(), Options{})
		if err != nil {
			return nil, err
		}
		defaultDB = d
	}
	return defaultDB, nil
}

// lock takes the connection and drops the tables of collected Tables.
func (d *DB) lock(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("data: the database is closed")
	}
	for {
		select {
		case name := <-d.drops:
			_, _ = d.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(name))
			_, _ = d.conn.ExecContext(ctx, "DROP VIEW IF EXISTS "+quoteIdent(name))
			continue
		default:
		}
		return nil
	}
}

func (d *DB) unlock() { d.mu.Unlock() }

// tempName returns a fresh name for a table the package owns.
func (d *DB) tempName() string {
	return fmt.Sprintf("_ferry_t%d", d.seq.Add(1))
}

// Exec runs statements that return no rows (CREATE, INSERT, SET, ...).
// s3:// paths in string literals are resolved as in Query.
func (d *DB) Exec(ctx context.Context, query string, args ...any) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.unlock()
	q, after, err := d.resolveS3(ctx, query)
	if err != nil {
		return err
	}
	if _, err := d.conn.ExecContext(ctx, q, args...); err != nil {
		after(ctx, false)
		return d.queryError(ctx, err, query)
	}
	return after(ctx, true)
}

// Query runs query (with args bound to its ? or $n parameters) and returns
// every row of its last statement as a Table held in memory.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*Table, error) {
	return d.query(ctx, query, args, -1)
}

// QueryHead runs query and keeps at most limit rows of its result (the
// rest is counted, not kept): the Table's NumRows is the full count and
// Complete reports false when rows were dropped.
func (d *DB) QueryHead(ctx context.Context, limit int, query string, args ...any) (*Table, error) {
	if limit < 0 {
		limit = 0
	}
	return d.query(ctx, query, args, int64(limit))
}

func (d *DB) query(ctx context.Context, query string, args []any, limit int64) (*Table, error) {
	start := time.Now()
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.unlock()
	q, after, err := d.resolveS3(ctx, query)
	if err != nil {
		return nil, err
	}
	t, err := d.queryLocked(ctx, q, args, limit)
	if err != nil {
		after(ctx, false)
		return nil, d.queryError(ctx, err, query)
	}
	if err := after(ctx, true); err != nil {
		t.Release()
		return nil, err
	}
	t.elapsed = time.Since(start)
	return t, nil
}

// queryLocked runs q and reads its result; limit < 0 keeps every row.
func (d *DB) queryLocked(ctx context.Context, q string, args []any, limit int64) (*Table, error) {
	rr, err := d.ar.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	t := &Table{db: d, schema: rr.Schema(), complete: true}
	for rr.Next() {
		rec := rr.RecordBatch()
		n := rec.NumRows()
		switch {
		case limit < 0 || t.kept()+n <= limit:
			rec.Retain()
			t.recs = append(t.recs, rec)
		case t.kept() < limit:
			t.recs = append(t.recs, rec.NewSlice(0, limit-t.kept()))
			t.complete = false
		default:
			t.complete = false
		}
		t.nrows += n
	}
	if err := rr.Err(); err != nil {
		t.Release()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		t.Release()
		return nil, err
	}
	return t, nil
}

// Register makes t queryable under name (replacing a table or view of that
// name) by copying its rows into the database.
func (d *DB) Register(ctx context.Context, name string, t *Table) error {
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.unlock()
	return d.registerLocked(ctx, name, t)
}

func (d *DB) registerLocked(ctx context.Context, name string, t *Table) error {
	if t.db == d && t.name != "" {
		_, err := d.conn.ExecContext(ctx, "CREATE OR REPLACE TABLE "+quoteIdent(name)+" AS SELECT * FROM "+quoteIdent(t.name))
		return err
	}
	if t.nrows < 0 {
		return fmt.Errorf("data: register %s: the table's database is closed", name)
	}
	if !t.complete {
		return fmt.Errorf("data: table holds only the first %d of %d rows (shown by %%%%sql without -o): run the query with -o NAME, or with Query, to keep every row", t.kept(), t.nrows)
	}
	if err := t.materialize(ctx); err != nil {
		return err
	}
	rr, err := array.NewRecordReader(t.schema, t.recs)
	if err != nil {
		return fmt.Errorf("data: register %s: %w", name, err)
	}
	defer rr.Release()
	view := d.tempName() + "_arrow"
	release, err := d.ar.registerView(rr, view)
	if err != nil {
		return fmt.Errorf("data: register %s: %w", name, err)
	}
	defer release()
	defer d.conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+quoteIdent(view))
	if _, err := d.conn.ExecContext(ctx, "CREATE OR REPLACE TABLE "+quoteIdent(name)+" AS SELECT * FROM "+quoteIdent(view)); err != nil {
		return fmt.Errorf("data: register %s: %w", name, err)
	}
	return nil
}

// relation returns the name of a database table holding t's rows, copying
// them in on first use.
func (d *DB) relationLocked(ctx context.Context, t *Table) (string, error) {
	if t.db == d && t.name != "" {
		return t.name, nil
	}
	name := d.tempName()
	if err := d.registerLocked(ctx, name, t); err != nil {
		return "", err
	}
	if t.db == nil || t.db == d {
		t.db, t.name, t.owned = d, name, true
		t.setCleanup()
	}
	return name, nil
}

// Table returns the database table or view called name as a Table (rows
// are read when Go code asks for them).
func (d *DB) Table(ctx context.Context, name string) (*Table, error) {
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.unlock()
	return d.tableLocked(ctx, name, false, true)
}

// tableLocked returns the table or view name; with count false its row
// count is left to NumRows.
func (d *DB) tableLocked(ctx context.Context, name string, owned, count bool) (*Table, error) {
	head, err := d.queryLocked(ctx, "SELECT * FROM "+quoteIdent(name)+" LIMIT 0", nil, -1)
	if err != nil {
		return nil, d.queryError(ctx, err, "")
	}
	n := int64(-1)
	if count {
		if err := d.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(name)).Scan(&n); err != nil {
			return nil, d.queryError(ctx, err, "")
		}
	}
	t := &Table{db: d, name: name, owned: owned, schema: head.schema, nrows: n}
	head.Release()
	if owned {
		t.setCleanup()
	}
	return t, nil
}

// Read loads a CSV, Parquet or JSON file (local path or s3://bucket/key,
// format from the extension; globs allowed for local files) into a table
// of the database and returns it.
func (d *DB) Read(ctx context.Context, path string) (*Table, error) {
	return d.readFile(ctx, path, false)
}

// Scan returns a Table that reads the file at path (as Read takes it) on
// every use instead of loading it: nothing is held in memory, and DuckDB
// reads only the columns and row groups a query needs (best with Parquet;
// a CSV file is parsed again by each query). An s3:// object is fetched
// once into the local cache.
func (d *DB) Scan(ctx context.Context, path string) (*Table, error) {
	return d.readFile(ctx, path, true)
}

// readFile makes a table (Read) or, with view set, a view (Scan) of the
// file at path.
func (d *DB) readFile(ctx context.Context, path string, view bool) (*Table, error) {
	start := time.Now()
	if err := d.lock(ctx); err != nil {
		return nil, err
	}
	defer d.unlock()
	src, err := d.source(ctx, path)
	if err != nil {
		return nil, err
	}
	name := d.tempName()
	kind := "TABLE"
	if view {
		kind = "VIEW"
	}
	if _, err := d.conn.ExecContext(ctx, "CREATE "+kind+" "+quoteIdent(name)+" AS SELECT * FROM "+src); err != nil {
		return nil, d.queryError(ctx, err, "")
	}
	t, err := d.tableLocked(ctx, name, true, !view)
	if err != nil {
		return nil, err
	}
	if view {
		t.view = true
		fn, _ := readerFunc(path)
		t.rescan = fn != "read_parquet"
	}
	t.elapsed = time.Since(start)
	return t, nil
}

// source returns the table expression that reads the file at path.
func (d *DB) source(ctx context.Context, path string) (string, error) {
	local := path
	if isS3(path) {
		p, err := d.fetchS3(ctx, path)
		if err != nil {
			return "", err
		}
		local = p
	} else if !strings.ContainsAny(path, "*?[") {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("data: file not found: %s (%v)", path, errors.Unwrap(err))
		}
	}
	fn, err := readerFunc(path)
	if err != nil {
		return "", err
	}
	return fn + "(" + quoteLiteral(local) + ")", nil
}

// readerFunc returns DuckDB's table function for the format of path.
func readerFunc(path string) (string, error) {
	p := strings.ToLower(path)
	for _, z := range []string{".gz", ".zst"} {
		p = strings.TrimSuffix(p, z)
	}
	switch {
	case strings.HasSuffix(p, ".parquet") || strings.HasSuffix(p, ".pq"):
		return "read_parquet", nil
	case strings.HasSuffix(p, ".csv") || strings.HasSuffix(p, ".tsv") || strings.HasSuffix(p, ".txt"):
		return "read_csv", nil
	case strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".jsonl") || strings.HasSuffix(p, ".ndjson"):
		return "read_json", nil
	}
	return "", fmt.Errorf("data: cannot tell the format of %s: name it .parquet, .csv or .json (or query it with read_csv(...), read_parquet(...), read_json(...))", path)
}

var (
	noFilesRE   = regexp.MustCompile(`No files found that match the pattern "([^"]*)"`)
	httpfsRE    = regexp.MustCompile(`(?i)httpfs`)
	errNotFound = errors.New("not found")
)

// queryError turns a DuckDB error into one that names the problem. A
// cancelled context is returned as is.
func (d *DB) queryError(ctx context.Context, err error, query string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("data: query interrupted: %w", ctx.Err())
	}
	msg := err.Error()
	if m := noFilesRE.FindStringSubmatch(msg); m != nil {
		return &Error{Msg: "file not found: " + m[1], Err: errNotFound, Query: query}
	}
	if httpfsRE.MatchString(msg) {
		return &Error{Msg: msg + "\n(DuckDB's httpfs is not available here: name s3:// objects in string literals, which Ferry fetches through its object store; http(s) URLs are not supported)", Err: err, Query: query}
	}
	var de *duckdb.Error
	if errors.As(err, &de) {
		return &Error{Msg: de.Msg, Err: err, Query: query}
	}
	return &Error{Msg: msg, Err: err, Query: query}
}

// Error is an error of a query: DuckDB's message, with the position it
// names in the query when it names one.
type Error struct {
	Msg   string
	Query string
	Err   error
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

var lineRE = regexp.MustCompile(`(?m)^LINE (\d+):`)

// Line returns the 1-based line of the query the error points at, or 0.
func (e *Error) Line() int {
	m := lineRE.FindStringSubmatch(e.Msg)
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// IsNotFound reports whether err says a file or object does not exist.
func IsNotFound(err error) bool {
	return errors.Is(err, errNotFound) || ferry.IsNotFound(err)
}

// quoteIdent quotes a SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes a SQL string literal (for paths the package itself
// chose; user values are bound as parameters).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// arrowConn is DuckDB's Arrow interface on one connection.
type arrowConn interface {
	query(ctx context.Context, q string, args ...any) (array.RecordReader, error)
	registerView(rr array.RecordReader, name string) (release func(), err error)
}
