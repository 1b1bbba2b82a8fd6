// Package trackingtest is the contract test suite of storage.Tracker: every
// backend (storage/sqlite, storage/postgres) runs it with Run.
package trackingtest
