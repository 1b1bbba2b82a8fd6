// Package storage holds the contracts of Ferry's shared storage: the object
// store where datasets, artifacts and models live (local files or S3), and
// the tracking store of experiments, runs, parameters and metrics (SQLite or
// PostgreSQL).
//
// Implementations live in one subpackage per technology: storage/file and
// storage/s3 for objects, storage/sqlite and storage/postgres for tracking
// (both over the database/sql code in storage/sqldb). Errors are
// *ferry.Error values with a Code (NotFound, AlreadyExists, Invalid,
// Unavailable) that the control-plane API maps to HTTP statuses.
package storage
