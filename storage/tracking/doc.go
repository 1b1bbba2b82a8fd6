// Package tracking opens Ferry's tracking store (experiments, runs, params,
// metrics) by URL:
//
//	sqlite:///abs/path/ferry.db      SQLite file (the embedded default)
//	sqlite://rel/path/ferry.db       SQLite file relative to the working directory
//	postgres://user:pw@host:5432/db?sslmode=disable   PostgreSQL (postgresql:// too)
//
// Both keep the same schema (storage/sqldb) and pass the same contract
// suite (storage/trackingtest).
package tracking
