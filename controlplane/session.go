package controlplane

import (
	"context"
	"sync"
	"time"
)

// ConnectTimeout bounds the connection Default.Get makes on first use.
const ConnectTimeout = 30 * time.Second

// Default is the session of one domain that a process shares (what
// tracking.Default and jobsclient.Default return): made on first use by
// its connect function, which reads the environment (the control plane at
// FromEnv, else local stores), then kept. A failed connection is not kept:
// the next Get tries again. Its methods are safe for concurrent use.
type Default[S any] struct {
	connect func(context.Context) (*S, error)

	mu sync.Mutex
	s  *S
}

// NewDefault returns a Default that connects with connect.
func NewDefault[S any](connect func(context.Context) (*S, error)) *Default[S] {
	return &Default[S]{connect: connect}
}

// Get returns the session, connecting first (within ConnectTimeout) when
// there is none yet.
func (d *Default[S]) Get() (*S, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.s != nil {
		return d.s, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), ConnectTimeout)
	defer cancel()
	s, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	d.s = s
	return s, nil
}

// Set makes s the session Get returns; nil makes the next Get connect
// again.
func (d *Default[S]) Set(s *S) {
	d.mu.Lock()
	d.s = s
	d.mu.Unlock()
}
