package kube

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
)

// createRun creates the tracking run of a job about to be submitted (see
// jobs.CreateRun), with its image among the parameters. The job's UID is
// tagged once the object exists.
func (b *Backend) createRun(ctx context.Context, spec *jobs.Spec) (string, error) {
	var params []storage.Param
	if img := cmp.Or(spec.Image, b.opts.Image); img != "" {
		params = append(params, storage.Param{Key: "job.image", Value: img})
	}
	id, err := jobs.CreateRun(ctx, b.opts.Tracker, spec, jobs.RunInfo{Backend: BackendName, Params: params})
	if err != nil {
		return "", fmt.Errorf("kube: %w", err)
	}
	return id, nil
}

// runTracker keeps the tracking runs of the namespace's jobs in step with
// them: for each job with a run (annotation ferryml.github.io/run-id) that
// has not ended, a goroutine follows the log of the job's primary replica
// into the run's metrics and ends the run when the informer sees the job
// end. It starts with the backend (New) and stops with Close.
//
// Metrics are never counted twice, also across a restart of the backend:
// a pass over the log always parses it from its start with a fresh parser
// (so metrics without a step get the same steps again) and skips, per
// metric key, as many points as the run already holds. The parse is
// deterministic, so the skipped points are the ones logged before. A
// container restarted by its restart policy starts a new log; its metrics
// count from its start as well, and the first points up to the number
// already logged are skipped.
type runTracker struct {
	b      *Backend
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	jobs map[types.UID]*trackedJob
	done map[types.UID]bool // jobs whose run has ended (or has no future)
}

// trackedJob is the newest state of one job, for its goroutine.
type trackedJob struct {
	mu      sync.Mutex
	obj     *unstructured.Unstructured
	deleted bool
	signal  chan struct{}
}

func (tj *trackedJob) set(u *unstructured.Unstructured, deleted bool) {
	tj.mu.Lock()
	tj.obj = u
	tj.deleted = tj.deleted || deleted
	tj.mu.Unlock()
	select {
	case tj.signal <- struct{}{}:
	default:
	}
}

func (tj *trackedJob) get() (*unstructured.Unstructured, bool) {
	tj.mu.Lock()
	defer tj.mu.Unlock()
	return tj.obj, tj.deleted
}

// startTracking starts the informers and the run tracker.
func (b *Backend) startTracking(ctx context.Context) error {
	inf, err := b.informers(ctx)
	if err != nil {
		return err
	}
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t := &runTracker{b: b, ctx: tctx, cancel: cancel, jobs: map[types.UID]*trackedJob{}, done: map[types.UID]bool{}}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.observe(obj, false) },
		UpdateFunc: func(_, obj any) { t.observe(obj, false) },
		DeleteFunc: func(obj any) { t.observe(obj, true) },
	}
	for _, i := range inf.byKind {
		if _, err := i.AddEventHandler(h); err != nil {
			cancel()
			return ferry.Errorf(ferry.Unavailable, "kube: track jobs: %w", err)
		}
	}
	b.tracker = t
	return nil
}

// stop ends the goroutines (the runs stay as they are, for the next
// backend) and waits for them.
func (t *runTracker) stop() {
	t.mu.Lock() // observe adds to wg under mu, and not once cancelled
	t.cancel()
	t.mu.Unlock()
	t.wg.Wait()
}

// observe hands a job's new state to its goroutine, starting it for a job
// with a run that is not done.
func (t *runTracker) observe(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	runID := u.GetAnnotations()[AnnotationRunID]
	if runID == "" {
		return
	}
	t.mu.Lock()
	if t.ctx.Err() != nil || t.done[u.GetUID()] {
		t.mu.Unlock()
		return
	}
	tj := t.jobs[u.GetUID()]
	if tj == nil {
		tj = &trackedJob{signal: make(chan struct{}, 1)}
		t.jobs[u.GetUID()] = tj
		t.wg.Add(1)
		go t.track(tj, u.GetUID(), u.GetName(), runID)
	}
	t.mu.Unlock()
	tj.set(u, deleted)
}

// track follows one job until it ends, then ends its run.
func (t *runTracker) track(tj *trackedJob, uid types.UID, name, runID string) {
	defer t.wg.Done()
	finished := false
	defer func() {
		t.mu.Lock()
		delete(t.jobs, uid)
		if finished {
			t.done[uid] = true
		}
		t.mu.Unlock()
	}()
	log := t.b.log.With("job", name, "run", runID)
	tr := t.b.opts.Tracker
	rctx, cancel := context.WithTimeout(t.ctx, jobs.TrackerTimeout)
	run, err := tr.GetRun(rctx, runID)
	cancel()
	if err != nil {
		if t.ctx.Err() == nil {
			log.Warn("kube: job's tracking run", "err", err)
			finished = ferry.IsNotFound(err)
		}
		return
	}
	if run.Status.Terminal() {
		finished = true
		return
	}
	counts := map[string]int{}
	if len(run.Metrics) > 0 {
		rctx, cancel := context.WithTimeout(t.ctx, jobs.TrackerTimeout)
		series, err := tr.MetricHistory(rctx, []string{runID}, nil)
		cancel()
		if err != nil {
			log.Warn("kube: metrics already logged to the job's run", "err", err)
			return
		}
		for _, s := range series {
			counts[s.Key] = len(s.Points)
		}
	}
	m := &metricsPass{b: t.b, name: name, runID: runID, counts: counts, log: log}
	var follower struct {
		stop context.CancelFunc
		done chan struct{}
	}
	stopFollower := func() {
		if follower.stop != nil {
			follower.stop()
			<-follower.done
			follower.stop = nil
		}
	}
	defer stopFollower()
	for {
		select {
		case <-tj.signal:
		case <-t.ctx.Done():
			return
		}
		u, deleted := tj.get()
		j, err := jobFromObject(u)
		if err != nil {
			return
		}
		if m.spec == nil && !j.Spec.Metrics.Disabled {
			m.spec = &j.Spec.Metrics
		}
		if !j.Status.Finished() && !deleted {
			if m.spec != nil && follower.done == nil {
				var fctx context.Context
				fctx, follower.stop = context.WithCancel(t.ctx)
				done := make(chan struct{})
				follower.done = done
				go func() {
					defer close(done)
					if err := m.run(fctx, true); err != nil && fctx.Err() == nil {
						log.Warn("kube: following the job's log for metrics", "err", err)
					}
				}()
			}
			continue
		}
		// The job ended: stop following, then read the whole log once
		// more for the lines the follower had not reached.
		stopFollower()
		if m.spec != nil && !deleted {
			cctx, cancel := context.WithTimeout(t.ctx, jobs.TrackerTimeout)
			err := m.run(cctx, false)
			cancel()
			if err != nil && !ferry.IsNotFound(err) {
				if t.ctx.Err() != nil {
					return
				}
				log.Warn("kube: reading the ended job's log for metrics", "err", err)
			}
		}
		status, end := runEnd(&j, deleted)
		rctx, cancel := context.WithTimeout(t.ctx, jobs.TrackerTimeout)
		_, err = tr.UpdateRun(rctx, runID, storage.RunUpdate{Status: status, EndTime: end})
		cancel()
		if err != nil {
			if t.ctx.Err() == nil {
				log.Warn("kube: ending the job's tracking run", "err", err)
			}
			return
		}
		log.Debug("kube: job's run ended", "status", status)
		finished = true
		return
	}
}

// runEnd returns the run status and end time of an ended job: FINISHED
// when it succeeded, KILLED when it was cancelled or deleted while it ran,
// FAILED otherwise.
func runEnd(j *jobs.Job, deleted bool) (storage.RunStatus, time.Time) {
	end := j.Status.CompletionTime
	if end.IsZero() {
		end = time.Now()
	}
	switch {
	case j.Status.Phase() == jobs.Succeeded:
		return storage.RunFinished, end
	case !j.Status.Finished() && deleted:
		return storage.RunKilled, end
	}
	if c, _ := j.Status.Condition(jobs.Failed); c.Reason == jobs.ReasonCancelled {
		return storage.RunKilled, end
	}
	return storage.RunFailed, end
}

// metricsPass reads the primary replica's log into a run's metrics.
type metricsPass struct {
	b      *Backend
	name   string
	runID  string
	spec   *jobs.MetricsSpec
	log    interface{ Warn(string, ...any) }
	mu     sync.Mutex
	counts map[string]int // points of each key in the run
}

// run parses the log from its start (following it when follow is set),
// skipping per key the points the run already has, and logs the others in
// batches: when a batch is full or no more output is at hand.
func (m *metricsPass) run(ctx context.Context, follow bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := jobs.NewMetricParser(*m.spec)
	if err != nil {
		return err
	}
	rc, err := m.b.logs(ctx, m.name, jobs.LogOptions{Follow: follow}, true)
	if err != nil {
		return err
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 64<<10)
	seen := map[string]int{}
	var batch []storage.Metric
	flush := func() error {
		n, err := jobs.LogMetrics(context.WithoutCancel(ctx), m.b.opts.Tracker, m.runID, batch)
		for _, x := range batch[:n] {
			m.counts[x.Key]++
		}
		batch = nil
		if err != nil {
			return fmt.Errorf("kube: log metrics of job %s to run %s: %w", m.name, m.runID, err)
		}
		return nil
	}
	for {
		line, rerr := r.ReadString('\n')
		// A partial last line counts only when the log ended (the
		// container did), not when the read was cut.
		if rerr == nil || (errors.Is(rerr, io.EOF) && ctx.Err() == nil) {
			// Each metric gets the time of its line, also when the line
			// is read again after a restart.
			var ms int64
			if ts, rest, ok := strings.Cut(line, " "); ok {
				if at, err := time.Parse(time.RFC3339Nano, ts); err == nil {
					line, ms = rest, at.UnixMilli()
				}
			}
			for _, x := range p.Parse(line) {
				x.Timestamp = ms
				seen[x.Key]++
				if seen[x.Key] > m.counts[x.Key] {
					batch = append(batch, x)
				}
			}
		}
		if rerr != nil || len(batch) >= jobs.MetricBatch || r.Buffered() == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return rerr
		}
	}
}
