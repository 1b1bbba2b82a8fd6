// Package sqlmagic provides the %%sql and %data magics: SQL on the kernel's
// embedded DuckDB (package storage/data) over files, s3:// objects, Go
// values and earlier results, and quick looks at a table or file
// (describe, schema, head, histogram, scatter plot).
//
//	%%sql -o late --limit 20
//	SELECT * FROM 'trips.parquet' WHERE delay > {threshold}
//
// {name} is a Go variable of the session: a value is bound as a query
// parameter (never pasted into the SQL), a table-like value (a *data.Table,
// Arrow records, a slice of structs) is read as a table. -o NAME keeps the
// whole result as the DuckDB table NAME and the Go variable NAME
// (*data.Table); without -o only the first rows are kept, for display.
//
// A query that runs longer than ProgressAfter shows its elapsed time,
// updated every second; interrupting the kernel cancels the query's context,
// which stops DuckDB. Errors show DuckDB's message and the line of the cell
// it points at; a missing file, object or bucket and rejected credentials
// are named as such.
package sqlmagic
