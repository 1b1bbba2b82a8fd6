// Package sqldb implements storage.Tracker over database/sql, for SQLite and
// PostgreSQL. A Dialect says how the two differ (placeholders, LIKE, the
// migration lock, which errors to retry); storage/sqlite and
// storage/postgres open a database and pass their Dialect to New, and
// storage/tracking picks one by URL.
//
// The schema is versioned: migrations/<dialect>/NNNN_name.sql, embedded,
// applied in order in one transaction by New and recorded in
// ferry_schema_migrations. Both dialects have the same tables.
//
// Metric histories are stored for fast bulk reads: each point is first a
// row of metric_points; once a metric has 100 such rows, or its run ends,
// they move into metric_blocks, which pack many points per row
// (delta-encoded step and timestamp, raw float64 value; see blocks.go).
// latest_metrics holds the latest value of each metric for search and
// ordering.
package sqldb
