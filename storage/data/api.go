package data

import (
	"context"
	"fmt"
)

// Read loads a CSV, Parquet or JSON file (a local path, a glob, or
// s3://bucket/key) into the default database and returns it as a Table.
func Read(path string) (*Table, error) {
	return ReadContext(context.Background(), path)
}

// ReadContext is Read with a context that stops the read.
func ReadContext(ctx context.Context, path string) (*Table, error) {
	d, err := Default()
	if err != nil {
		return nil, err
	}
	return d.Read(ctx, path)
}

// Scan returns a Table that reads the file at path on each use instead of
// loading it (see DB.Scan): the way to query a large Parquet file.
func Scan(path string) (*Table, error) {
	d, err := Default()
	if err != nil {
		return nil, err
	}
	return d.Scan(context.Background(), path)
}

// Query runs SQL on the default database, with args bound to its ? or $n
// parameters, and returns every row of the last statement.
func Query(query string, args ...any) (*Table, error) {
	return QueryContext(context.Background(), query, args...)
}

// QueryContext is Query with a context that stops the query.
func QueryContext(ctx context.Context, query string, args ...any) (*Table, error) {
	d, err := Default()
	if err != nil {
		return nil, err
	}
	return d.Query(ctx, query, args...)
}

// Exec runs statements that return no rows on the default database.
func Exec(query string, args ...any) error {
	d, err := Default()
	if err != nil {
		return err
	}
	return d.Exec(context.Background(), query, args...)
}

// Register makes v queryable by SQL under name in the default database: v
// is a *Table, an arrow.RecordBatch, an arrow.Table or a slice of structs.
func Register(name string, v any) error {
	t, ok, err := asTable(v)
	if err != nil {
		return fmt.Errorf("data: register %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("data: register %s: %T is not a table (use a *data.Table, Arrow records or a slice of structs)", name, v)
	}
	d, err := Default()
	if err != nil {
		return err
	}
	return d.Register(context.Background(), name, t)
}

// Lookup returns the table or view called name of the default database
// (a table kept with %%sql -o, or made with Register or SQL).
func Lookup(name string) (*Table, error) {
	d, err := Default()
	if err != nil {
		return nil, err
	}
	return d.Table(context.Background(), name)
}

// AsTable converts a table-like Go value (a *Table, an arrow.RecordBatch,
// an arrow.Table or a slice of structs) to a Table; ok is false for other
// values.
func AsTable(v any) (t *Table, ok bool, err error) { return asTable(v) }
