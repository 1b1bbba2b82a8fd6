package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ferryml/ferry/storage/sqldb"
)

// BusyTimeoutMs is how long a connection waits for another writer.
const BusyTimeoutMs = 30000

// Dialect is the SQLite dialect of sqldb.
func Dialect() sqldb.Dialect {
	return sqldb.Dialect{
		Name:      "sqlite",
		MaxParams: 32766, // SQLITE_MAX_VARIABLE_NUMBER since 3.32
		Retryable: func(err error) bool {
			var e *sqlite.Error
			if errors.As(err, &e) {
				c := e.Code() & 0xff
				return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
			}
			return false
		},
	}
}

// DSN returns the modernc.org/sqlite data source name Open uses for path.
func DSN(path string) string {
	q := []string{
		"_pragma=busy_timeout(" + fmt.Sprint(BusyTimeoutMs) + ")",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=mmap_size(1073741824)",
		"_pragma=foreign_keys(1)",
		// LIKE is case-sensitive in the filter grammar, as in PostgreSQL.
		"_pragma=case_sensitive_like(1)",
		// Write transactions take the write lock at BEGIN, so two writers
		// never deadlock upgrading read locks.
		"_txlock=immediate",
	}
	return "file:" + path + "?" + strings.Join(q, "&")
}

// Open opens the tracking store in the SQLite file at path, creating the
// file (and its directory) and migrating the schema as needed.
func Open(ctx context.Context, path string, opts sqldb.Options) (*sqldb.Tracker, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q: give a file path without ? or #", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create directory of %s: %w", path, err)
		}
	}
	if err := initFile(ctx, path); err != nil {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	t, err := sqldb.New(ctx, db, Dialect(), opts)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return t, nil
}

// PageSize is the page size of new database files: 16 KiB pages hold a
// packed block of metric points without overflow pages.
const PageSize = 16384

// initFile gives a new (missing or empty) database file its page size and
// WAL mode, which must happen before anything else is written to it.
func initFile(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err == nil && fi.Size() > 0 {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout("+fmt.Sprint(BusyTimeoutMs)+")")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, q := range []string{"PRAGMA page_size = " + fmt.Sprint(PageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
