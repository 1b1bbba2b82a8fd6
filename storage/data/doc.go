// Package data explores tabular data inline: SQL on an embedded DuckDB over
// CSV, Parquet and JSON files (local or s3://), Go slices of structs and
// Arrow records, with results as Arrow-backed Tables that Go code can read
// (schema, columns, rows, structs), describe (what pandas' describe gives:
// count, mean, std, min, quartiles, max of numbers and times; distinct
// count, most frequent value and its frequency of strings), chart
// (Vega-Lite histograms and scatter plots) and write back as Parquet or
// CSV, locally or to S3.
//
//	t, err := data.Read("s3://bucket/trips.parquet") // load into DuckDB
//	s, err := t.Describe()
//	h, err := t.Hist("fare", 30)
//	r, err := data.Query("SELECT vendor, avg(fare) FROM trips GROUP BY 1")
//	err = r.WriteParquet("s3://bucket/by_vendor.parquet")
//
// Read loads a file into the database; Scan leaves it in place and reads it
// on each use (the better choice for one look at a large Parquet file).
//
// One in-memory DuckDB database backs a process (Default); Open makes
// others. Tables made by Read, Scan and %%sql -o live in that database, so
// SQL can name them; a Table built in Go (FromStructs, FromRecords) is
// copied into it when a query or a statistic needs it, and a query result
// is held in Go memory as Arrow record batches.
//
// DuckDB's httpfs extension is not available: an s3:// object named in a
// string literal of a query, or given to Read or Scan, is fetched through
// Ferry's object store (OpenStore, by default storage/open with the AWS_*
// variables) into a local cache keyed by its ETag, and an s3:// target of
// COPY ... TO or of WriteParquet/WriteCSV is written locally and uploaded.
// s3:// values bound as parameters are not fetched.
//
// Values in a query are bound as parameters, never pasted into the SQL
// text (see Bind): a string holding SQL stays a string literal.
//
// The package needs DuckDB's Arrow interface, which duckdb-go builds only
// with the build tag duckdb_arrow: without it every query fails with an
// error that says so.
package data
