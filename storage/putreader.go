package storage

import (
	"context"
	"hash"
	"io"
)

// PutReader is what a backend's Put reads the caller's data through: it
// counts what it reads and reports the count to PutOptions.Progress, writes
// it to a hash when given one, remembers the first read error other than
// io.EOF, and stops with ctx's error once ctx ends.
type PutReader struct {
	ctx      context.Context
	r        io.Reader
	h        hash.Hash
	n        int64
	err      error
	progress func(int64)
}

// NewPutReader returns a PutReader of r. h and progress may be nil.
func NewPutReader(ctx context.Context, r io.Reader, h hash.Hash, progress func(int64)) *PutReader {
	return &PutReader{ctx: ctx, r: r, h: h, progress: progress}
}

func (c *PutReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	if n > 0 {
		if c.h != nil {
			c.h.Write(p[:n])
		}
		c.n += int64(n)
		if c.progress != nil {
			c.progress(c.n)
		}
	}
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// N returns the number of bytes read.
func (c *PutReader) N() int64 { return c.n }

// Err returns the error that stopped reading: ctx's error once ctx ended,
// else the first error other than io.EOF of the underlying reader, or nil.
func (c *PutReader) Err() error { return c.err }
