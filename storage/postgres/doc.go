// Package postgres opens Ferry's tracking store on a PostgreSQL database,
// through pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib).
package postgres
