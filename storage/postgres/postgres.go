package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/ferryml/ferry/storage/sqldb"
)

// migrationLockKey is the advisory lock that serializes migrations of
// concurrent openers ("ferry" in ASCII).
const migrationLockKey = 0x6665727279

// Dialect is the PostgreSQL dialect of sqldb.
func Dialect() sqldb.Dialect {
	return sqldb.Dialect{
		Name:          "postgres",
		Dollar:        true,
		MaxParams:     65535,
		MigrationLock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockKey),
		HasILike:      true,
		Retryable: func(err error) bool {
			var e *pgconn.PgError
			if errors.As(err, &e) {
				// serialization_failure, deadlock_detected
				return e.Code == "40001" || e.Code == "40P01"
			}
			return false
		},
	}
}

// Open opens the tracking store in the PostgreSQL database at url
// (postgres://user:password@host:port/db?sslmode=disable, or any form pgx
// accepts) and migrates its schema as needed.
func Open(ctx context.Context, url string, opts sqldb.Options) (*sqldb.Tracker, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w (is the server running and the URL right?)", err)
	}
	t, err := sqldb.New(ctx, db, Dialect(), opts)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return t, nil
}
