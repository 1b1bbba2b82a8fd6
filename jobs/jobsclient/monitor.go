package jobsclient

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ferryml/ferry/jobs"
)

// Sink receives what Monitor sees of a job; widgets.JobMonitor is the
// notebook's. Its methods are called from several goroutines.
type Sink interface {
	// SetStatus sets the job's phase, like "Running" or "Failed".
	SetStatus(status string)
	// SetProgress sets the fraction done: done out of total.
	SetProgress(done, total float64)
	// Log appends lines of the primary replica's log and Monitor's notes
	// ("[ferry] Worker-0 Running").
	Log(lines ...string)
	// Metric records value of metric name at step.
	Metric(name string, step, value float64)
	// Flush shows pending changes now; Monitor calls it last.
	Flush()
}

// nopSink discards everything.
type nopSink struct{}

func (nopSink) SetStatus(string)                {}
func (nopSink) SetProgress(float64, float64)    {}
func (nopSink) Log(...string)                   {}
func (nopSink) Metric(string, float64, float64) {}
func (nopSink) Flush()                          {}

// MonitorOptions configure Monitor.
type MonitorOptions struct {
	// Steps is the number of steps (epochs) the job reports, for the
	// progress bar; 0 means progress by replicas.
	Steps int
	// LogWait bounds the wait for the rest of the log after the job ended.
	LogWait time.Duration
}

// MonitorResult is what Monitor saw.
type MonitorResult struct {
	// Job is the job's last state.
	Job jobs.Job
	// Metrics holds the last value of each metric parsed from the log.
	Metrics map[string]float64
	// Deleted is set when the job was deleted while monitored.
	Deleted bool
	// Err is a failure to watch (not a failure of the job).
	Err error
}

// Monitor follows job until it has finished or ctx is done, feeding mon:
// the status and replica states from Watch, the primary replica's log
// lines and the metrics parsed from them. mon may be nil (the CLI, which
// prints the summary only).
func Monitor(ctx context.Context, b jobs.Backend, job jobs.Job, mon Sink, o MonitorOptions) MonitorResult {
	if o.LogWait <= 0 {
		o.LogWait = 10 * time.Second
	}
	if mon == nil {
		mon = nopSink{}
	}
	res := MonitorResult{Job: job, Metrics: map[string]float64{}}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := b.Watch(wctx, job.Name())
	if err != nil {
		res.Err = err
		return res
	}
	type metric struct {
		key         string
		step, value float64
	}
	metrics := make(chan metric, 64)
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		defer close(metrics)
		rc, err := b.Logs(wctx, job.Name(), jobs.LogOptions{Follow: true})
		if err != nil {
			if wctx.Err() == nil {
				mon.Log("[ferry] cannot read the log: " + err.Error())
			}
			return
		}
		defer rc.Close()
		parser, err := jobs.NewMetricParser(job.Spec.Metrics)
		if err != nil {
			parser = nil
		}
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			mon.Log(line)
			if parser == nil || job.Spec.Metrics.Disabled {
				continue
			}
			for _, m := range parser.Parse(line) {
				mon.Metric(m.Key, float64(m.Step), m.Value)
				metrics <- metric{m.Key, float64(m.Step), m.Value}
			}
		}
	}()
	phases := map[string]string{}
	var maxStep float64 = -1
	ended := false
	// After the job finished, replicas still running get LogWait to end
	// (the backend stops them per the clean-pod policy).
	var settle <-chan time.Time
	for !ended {
		select {
		case <-settle:
			ended = true
		case ev, ok := <-events:
			if !ok {
				ended = true
				break
			}
			if ev.Type == jobs.Deleted {
				res.Deleted, ended = true, true
				break
			}
			res.Job = ev.Job
			st := &res.Job.Status
			for _, r := range st.Replicas {
				state := string(r.Phase)
				if r.ExitCode != nil {
					state += fmt.Sprintf(" (exit %d)", *r.ExitCode)
				}
				if r.Restarts > 0 {
					state += fmt.Sprintf(", %d restarts", r.Restarts)
				}
				if phases[r.ID()] != state {
					phases[r.ID()] = state
					mon.Log(fmt.Sprintf("[ferry] %s %s", r.ID(), state))
				}
			}
			phase := string(st.Phase())
			if phase == "" || phase == string(jobs.Created) {
				phase = "Pending"
			}
			mon.SetStatus(phase)
			if o.Steps <= 0 || st.Finished() {
				mon.SetProgress(replicaProgress(st))
			}
			if st.Finished() && settle == nil {
				t := time.NewTimer(o.LogWait)
				defer t.Stop()
				settle = t.C
			}
			ended = st.Finished() && !slices.ContainsFunc(st.Replicas, func(r jobs.ReplicaState) bool {
				return r.Phase == jobs.ReplicaRunning || r.Phase == jobs.ReplicaPending
			})
		case m, ok := <-metrics:
			if !ok {
				metrics = nil
				continue
			}
			res.Metrics[m.key] = m.value
			if m.step > maxStep {
				maxStep = m.step
				if o.Steps > 0 {
					mon.SetProgress(maxStep+1, float64(o.Steps))
				}
			}
		}
	}
	// The rest of the log (and its metrics) comes once the replica's
	// output is read to its end.
	if ctx.Err() == nil {
		timer := time.NewTimer(o.LogWait)
	drain:
		for metrics != nil {
			select {
			case m, ok := <-metrics:
				if !ok {
					break drain
				}
				res.Metrics[m.key] = m.value
			case <-timer.C:
				break drain
			}
		}
		timer.Stop()
	}
	cancel()
	if metrics != nil {
		for range metrics {
		}
	}
	<-logsDone
	mon.Flush()
	return res
}

// replicaProgress counts finished replicas as done and running ones as
// half done.
func replicaProgress(st *jobs.Status) (done, total float64) {
	for _, r := range st.Replicas {
		total++
		switch r.Phase {
		case jobs.ReplicaSucceeded, jobs.ReplicaFailed:
			done++
		case jobs.ReplicaRunning:
			done += 0.5
		}
	}
	if st.Finished() {
		done = total
	}
	return done, total
}
