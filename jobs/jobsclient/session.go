package jobsclient

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsapi"
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
	Remote *jobsapi.Client

	mu   sync.Mutex
	name string // the backend's name, once known
}

// NewSession returns a Session over b.
func NewSession(b jobs.Backend, where string) *Session {
	s := &Session{Backend: b, Where: where}
	switch c := b.(type) {
	case *jobsapi.Client:
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
// <data dir>/jobs (controlplane.DataDir) whose runs go to the tracking
// session ts (nil: no tracking runs).
func Connect(ctx context.Context, ts *tracking.Session) (*Session, error) {
	if ep, ok := controlplane.FromEnv(); ok {
		return NewSession(jobsapi.NewClient(ep.URL, ep.Token, nil), ep.URL), nil
	}
	dir := filepath.Join(controlplane.DataDir(), "jobs")
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

var defaultSession = controlplane.NewDefault(func(ctx context.Context) (*Session, error) {
	var ts *tracking.Session
	if _, remote := controlplane.FromEnv(); !remote {
		var err error
		if ts, err = tracking.Default(); err != nil {
			return nil, err
		}
	}
	return Connect(ctx, ts)
})

// Default returns the session of this process, connecting on first use
// (see Connect) with the tracking session tracking.Default.
func Default() (*Session, error) { return defaultSession.Get() }

// SetDefault makes s the session Default returns.
func SetDefault(s *Session) { defaultSession.Set(s) }
