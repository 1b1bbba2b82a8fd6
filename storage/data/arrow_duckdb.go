//go:build duckdb_arrow

package data

import (
	"context"
	"database/sql/driver"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
)

type duckArrow struct{ a *duckdb.Arrow }

func newArrowConn(c driver.Conn) (arrowConn, error) {
	a, err := duckdb.NewArrowFromConn(c)
	if err != nil {
		return nil, err
	}
	return duckArrow{a}, nil
}

func (d duckArrow) query(ctx context.Context, q string, args ...any) (array.RecordReader, error) {
	return d.a.QueryContext(ctx, q, args...)
}

func (d duckArrow) registerView(rr array.RecordReader, name string) (func(), error) {
	return d.a.RegisterView(rr, name)
}
