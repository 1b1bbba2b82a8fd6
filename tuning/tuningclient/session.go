package tuningclient

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/jobs/jobsclient"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
	"github.com/ferryml/ferry/tuning/runner"
	"github.com/ferryml/ferry/tuning/tuningapi"
)

// Session is a connection to a tuning backend.
type Session struct {
	Backend tuning.Backend
	// Where says which backend this is, for messages.
	Where string
}

// Connect opens the backend the environment names: the control plane at
// $FERRY_API_URL (with $FERRY_TOKEN), else a runner of this process over
// <data dir>/studies whose trial jobs run on the jobs session js and
// whose runs go to the tracking session ts (either may be nil).
func Connect(ctx context.Context, js *jobsclient.Session, ts *tracking.Session) (*Session, error) {
	if ep, ok := controlplane.FromEnv(); ok {
		return &Session{Backend: tuningapi.NewClient(ep.URL, ep.Token, nil), Where: ep.URL}, nil
	}
	dir := filepath.Join(controlplane.DataDir(), "studies")
	opts := runner.Options{Dir: dir, Suggesters: algorithms.New, Stoppers: algorithms.NewEarlyStopper}
	if js != nil {
		opts.Jobs = js.Backend
	}
	if ts != nil {
		opts.Tracker = ts.Tracker
	}
	r, err := runner.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("tuning: runner in %s: %w", dir, err)
	}
	return &Session{Backend: r, Where: dir}, nil
}

var defaultSession = controlplane.NewDefault(func(ctx context.Context) (*Session, error) {
	if _, remote := controlplane.FromEnv(); remote {
		return Connect(ctx, nil, nil)
	}
	ts, err := tracking.Default()
	if err != nil {
		return nil, err
	}
	js, err := jobsclient.Default()
	if err != nil {
		return nil, err
	}
	return Connect(ctx, js, ts)
})

// Default returns the session of this process, connecting on first use.
func Default() (*Session, error) { return defaultSession.Get() }

// SetDefault makes s the session Default returns.
func SetDefault(s *Session) { defaultSession.Set(s) }
