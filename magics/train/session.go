package train

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/httpapi"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/storage/tracking"
)

// Session is a connection to a jobs backend: what the magics and the CLI
// use.
type Session struct {
	Backend jobs.Backend
	// Where says which backend this is, for messages.
	Where string
	// Remote is set when Backend is a control-plane client.
	Remote *httpapi.Client

	mu   sync.Mutex
	name string // the backend's name, once known
}

// NewSession returns a Session over b.
func NewSession(b jobs.Backend, where string) *Session {
	s := &Session{Backend: b, Where: where}
	switch c := b.(type) {
	case *httpapi.Client:
		s.Remote = c
	case *local.Backend:
		s.name = local.BackendName
	}
	return s
}

// BackendName returns the name of the backend ("local", "kube"); for a
// control-plane client the server's.
func (s *Session) BackendName(ctx context.Context) (string, error) {
	s.mu.Lock()
	name := s.name
	s.mu.Unlock()
	if name != "" || s.Remote == nil {
		return name, nil
	}
	name, err := s.Remote.BackendName(ctx)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.name = name
	s.mu.Unlock()
	return name, nil
}

// Close closes a local backend (its jobs keep running); a client has
// nothing to close.
func (s *Session) Close() error {
	if b, ok := s.Backend.(*local.Backend); ok {
		return b.Close()
	}
	return nil
}

// Connect opens the jobs backend the environment names: the control plane
// at $FERRY_API_URL (with $FERRY_TOKEN), else a local backend over
// <data dir>/jobs (tracking.DataDir) whose runs go to the tracking session
// ts (nil: no tracking runs).
func Connect(ctx context.Context, ts *tracking.Session) (*Session, error) {
	if u := os.Getenv(tracking.EnvAPIURL); u != "" {
		return NewSession(httpapi.NewClient(u, os.Getenv(tracking.EnvToken), nil), u), nil
	}
	dir := filepath.Join(tracking.DataDir(), "jobs")
	opts := local.Options{Dir: dir}
	if ts != nil {
		opts.Tracker = ts.Tracker
	}
	b, err := local.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: local backend in %s: %w", dir, err)
	}
	return NewSession(b, dir), nil
}

var (
	defaultMu      sync.Mutex
	defaultSession *Session
)

// Default returns the session of this process, connecting on first use
// (see Connect) with the tracking session tracking.Default.
func Default() (*Session, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultSession != nil {
		return defaultSession, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ts *tracking.Session
	if os.Getenv(tracking.EnvAPIURL) == "" {
		var err error
		if ts, err = tracking.Default(); err != nil {
			return nil, err
		}
	}
	s, err := Connect(ctx, ts)
	if err != nil {
		return nil, err
	}
	defaultSession = s
	return s, nil
}

// SetDefault makes s the session Default returns.
func SetDefault(s *Session) {
	defaultMu.Lock()
	defaultSession = s
	defaultMu.Unlock()
}
