package tuningclient

import (
	"context"

	"github.com/ferryml/ferry/tuning"
)

// Sink receives what Monitor sees of a study; widgets.StudyMonitor is the
// notebook's. Its methods are called from several goroutines.
type Sink interface {
	// Update shows the study's latest state.
	Update(st tuning.Study)
	// Flush shows pending changes now; Monitor calls it last.
	Flush()
}

// Controls are the actions a Sink may offer (buttons): nil when not
// offered.
type Controls struct {
	Stop   func() error
	Resume func() error
}

// BackendControls are stop and resume on b's study name.
func BackendControls(ctx context.Context, b tuning.Backend, name string) Controls {
	ctx = context.WithoutCancel(ctx)
	return Controls{
		Stop:   func() error { return b.Stop(ctx, name) },
		Resume: func() error { _, err := b.Resume(ctx, name); return err },
	}
}

// Monitor feeds sink with the study named name until it has finished (or
// stopped) or ctx is done, and returns its last state.
func Monitor(ctx context.Context, b tuning.Backend, name string, sink Sink) (tuning.Study, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := b.Watch(wctx, name)
	if err != nil {
		return tuning.Study{}, err
	}
	var last tuning.Study
	for ev := range events {
		last = ev.Study
		sink.Update(last)
		if last.State != tuning.StudyRunning {
			break
		}
	}
	// The final state, also when ctx ended the watch.
	if st, err := b.Get(context.WithoutCancel(ctx), name); err == nil {
		last = st
		sink.Update(last)
	}
	sink.Flush()
	return last, nil
}
