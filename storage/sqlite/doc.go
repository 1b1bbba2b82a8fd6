// Package sqlite opens Ferry's tracking store on a SQLite database file
// (modernc.org/sqlite, pure Go): WAL journal, a busy timeout and immediate
// write transactions, so that several processes can write the same file at
// once.
package sqlite
