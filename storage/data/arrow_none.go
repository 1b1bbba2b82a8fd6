//go:build !duckdb_arrow

package data

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// errNoArrow is returned by every query of a binary built without DuckDB's
// Arrow interface.
var errNoArrow = errors.New("data: this binary was built without DuckDB's Arrow interface: rebuild with `go build -tags duckdb_arrow`")

type noArrow struct{}

func newArrowConn(driver.Conn) (arrowConn, error) { return noArrow{}, nil }

func (noArrow) query(context.Context, string, ...any) (array.RecordReader, error) {
	return nil, errNoArrow
}

func (noArrow) registerView(array.RecordReader, string) (func(), error) {
	return nil, errNoArrow
}
