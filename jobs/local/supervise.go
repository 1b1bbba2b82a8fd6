package local

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
)

// exitEvent reports that attempt of replica i exited with code.
type exitEvent struct {
	i, attempt, code int
	// vanished: the process was gone without an exit code (killed while no
	// Backend watched it).
	vanished bool
}

// supervisor drives one job: it starts, restarts and stops the replicas and
// keeps the record up to date. One goroutine per job runs it.
type supervisor struct {
	b        *Backend
	j        *job
	exits    chan exitEvent
	restarts chan int
	quit     chan struct{} // closed when the supervisor returns
	parser   *jobs.MetricParser
	stopping bool // replicas are being stopped: no restarts, no job transitions
}

func (b *Backend) supervise(j *job) {
	defer b.wg.Done()
	defer close(j.done)
	b.mu.Lock()
	n := len(j.rec.Procs)
	spec := j.rec.Job.Spec
	nextStep := maps.Clone(j.rec.NextStep)
	b.mu.Unlock()
	s := &supervisor{b: b, j: j, exits: make(chan exitEvent, n+1), restarts: make(chan int, n+1), quit: make(chan struct{})}
	defer close(s.quit)
	if b.opts.Tracker != nil && !spec.Metrics.Disabled {
		p, err := jobs.NewMetricParser(spec.Metrics)
		if err != nil {
			b.log.Warn("metrics parser", "job", spec.Name, "err", err)
		} else {
			if nextStep != nil {
				p.NextStep = nextStep
			}
			s.parser = p
		}
	}
	s.run()
}

func (s *supervisor) run() {
	b, j := s.b, s.j
	b.mu.Lock()
	finished := j.rec.Job.Status.Finished()
	var start, poll []int
	for i, r := range j.rec.Job.Status.Replicas {
		if j.rec.Procs[i].NoProcess {
			continue
		}
		switch r.Phase {
		case jobs.ReplicaPending:
			start = append(start, i)
		case jobs.ReplicaRunning:
			poll = append(poll, i) // started by an earlier Backend
		}
	}
	b.mu.Unlock()
	for _, i := range poll {
		s.watchDetached(i)
	}
	if finished { // the previous Backend stopped during clean-up
		s.cleanup(false)
		return
	}
	for _, i := range start {
		s.start(i)
	}

	var deadline <-chan time.Time
	b.mu.Lock()
	if d := j.rec.Job.Spec.RunPolicy.ActiveDeadlineSeconds; d != nil {
		from := j.rec.Job.Status.StartTime
		if from.IsZero() {
			from = time.Now()
		}
		at := from.Add(time.Duration(*d) * time.Second)
		t := time.NewTimer(max(time.Until(at), 0))
		defer t.Stop()
		deadline = t.C
	}
	b.mu.Unlock()
	tick := time.NewTicker(b.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-b.ctx.Done():
			s.tail(false) // detach: the replicas keep running
			return
		case <-j.cancel:
			s.finish(jobs.Failed, jobs.ReasonCancelled, fmt.Sprintf("%s job %s was cancelled.", j.rec.Job.Spec.Kind, j.rec.Job.Name()), storage.RunKilled)
			s.cleanup(true)
			return
		case <-deadline:
			d := *j.rec.Job.Spec.RunPolicy.ActiveDeadlineSeconds
			s.finish(jobs.Failed, jobs.ReasonDeadlineExceeded, fmt.Sprintf("job %s ran longer than activeDeadlineSeconds (%d s) and was stopped.", j.rec.Job.Name(), d), storage.RunFailed)
			s.cleanup(true)
			return
		case i := <-s.restarts:
			s.start(i)
		case ev := <-s.exits:
			if s.onExit(ev) {
				s.cleanup(false)
				return
			}
		case <-tick.C:
			s.tail(false)
		}
	}
}

func (s *supervisor) exitFile(i, attempt int) string {
	r := s.j.rec.Job.Status.Replicas[i]
	return filepath.Join(s.j.dir, "exit", fmt.Sprintf("%s.%d", strings.ToLower(r.ID()), attempt))
}

// replicaEnvLocked builds the environment of replica i.
func (s *supervisor) replicaEnvLocked(i int) []string {
	j := s.j
	spec := &j.rec.Job.Spec
	r := j.rec.Job.Status.Replicas[i]
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	maps.Copy(env, spec.Env)
	if t := ompThreads(spec.ResourcesFor(r.Type).CPU); t != "" {
		if _, set := spec.Env["OMP_NUM_THREADS"]; !set {
			env["OMP_NUM_THREADS"] = t
		}
	}
	maps.Copy(env, contractEnv(spec, j.rec.Ports, r.Type, r.Index, filepath.Join(j.dir, "hostfile")))
	if len(s.b.gpus) > 0 {
		env["CUDA_VISIBLE_DEVICES"] = strings.Join(j.rec.GPUs[r.ID()], ",")
	}
	env[jobMarker] = j.rec.Job.UID
	env["FERRY_JOB_NAME"] = spec.Name
	env["FERRY_JOB_KIND"] = string(spec.Kind)
	env["FERRY_REPLICA_TYPE"] = string(r.Type)
	env["FERRY_REPLICA_INDEX"] = strconv.Itoa(r.Index)
	if j.rec.Job.RunID != "" {
		env["FERRY_RUN_ID"] = j.rec.Job.RunID
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// start starts (or restarts) replica i.
func (s *supervisor) start(i int) {
	b, j := s.b, s.j
	b.mu.Lock()
	if s.stopping || j.rec.Job.Status.Finished() {
		b.mu.Unlock()
		return
	}
	spec := &j.rec.Job.Spec
	r := j.rec.Job.Status.Replicas[i]
	argv := spec.CommandFor(r.Type)
	if spec.Kind == jobs.MPI && r.Type == jobs.Launcher {
		argv = mpiCommand(spec, argv, filepath.Join(j.dir, "hostfile"))
	}
	env := s.replicaEnvLocked(i)
	attempt := j.rec.Procs[i].Attempt + 1
	exitFile := s.exitFile(i, attempt)
	logPath := filepath.Join(j.dir, "logs", logName(r.Type, r.Index))
	wd := b.workDir(j)
	b.mu.Unlock()

	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.startFailed(i, attempt, fmt.Errorf("open log: %w", err))
		return
	}
	if attempt > 1 {
		fmt.Fprintf(logf, "ferry: %s restarted (attempt %d)\n", r.ID(), attempt)
	}
	cmd := exec.Command("/bin/sh", append([]string{"-c", wrapper, "ferry-replica", exitFile}, argv...)...)
	cmd.Dir = wd
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		s.startFailed(i, attempt, err)
		return
	}
	pid := cmd.Process.Pid
	_, startTicks, _ := procStat(pid)
	now := time.Now().UTC()

	b.mu.Lock()
	j.rec.Procs[i] = proc{PID: pid, Start: startTicks, Attempt: attempt}
	st := &j.rec.Job.Status
	rs := &st.Replicas[i]
	rs.Phase, rs.StartTime, rs.EndTime, rs.Name, rs.Message = jobs.ReplicaRunning, now, time.Time{}, "pid "+strconv.Itoa(pid), ""
	if st.StartTime.IsZero() {
		st.StartTime = now
	}
	s.mirrorMPILocked(i)
	s.maybeRunningLocked(now)
	b.updateLocked(j)
	b.mu.Unlock()
	b.log.Debug("replica started", "job", spec.Name, "replica", r.ID(), "pid", pid, "attempt", attempt)

	go func() {
		_ = cmd.Wait()
		ev := exitEvent{i: i, attempt: attempt, code: exitCode(cmd.ProcessState)}
		select {
		case s.exits <- ev:
		case <-s.quit:
		}
	}()
}

// startFailed records a replica that could not be started as one that
// exited with 127, as a shell reports a command it cannot run.
func (s *supervisor) startFailed(i, attempt int, err error) {
	s.b.log.Error("replica start", "job", s.j.rec.Job.Name(), "err", err)
	s.b.mu.Lock()
	s.j.rec.Procs[i].Attempt = attempt
	s.j.rec.Job.Status.Replicas[i].Message = "could not start: " + err.Error()
	s.b.mu.Unlock()
	select {
	case s.exits <- exitEvent{i: i, attempt: attempt, code: 127}:
	case <-s.quit:
	}
}

// watchDetached follows replica i, which an earlier Backend started: it
// polls /proc until the process is gone, then reads the exit code file.
func (s *supervisor) watchDetached(i int) {
	s.b.mu.Lock()
	p := s.j.rec.Procs[i]
	exitFile := s.exitFile(i, p.Attempt)
	s.b.mu.Unlock()
	report := func() {
		code, ok := readExitCode(exitFile)
		ev := exitEvent{i: i, attempt: p.Attempt, code: code}
		if !ok {
			ev.code, ev.vanished = 128+int(syscall.SIGKILL), true
		}
		select {
		case s.exits <- ev:
		case <-s.quit:
		}
	}
	if !alive(p.PID, p.Start) {
		go report()
		return
	}
	go func() {
		t := time.NewTicker(s.b.opts.PollInterval)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				if !alive(p.PID, p.Start) {
					report()
					return
				}
			}
		}
	}()
}

// mirrorMPILocked gives the workers of an MPI job the launcher's phase: they
// are ranks of its mpirun.
func (s *supervisor) mirrorMPILocked(i int) {
	st := &s.j.rec.Job.Status
	if s.j.rec.Job.Spec.Kind != jobs.MPI || st.Replicas[i].Type != jobs.Launcher {
		return
	}
	l := st.Replicas[i]
	for k := range st.Replicas {
		if s.j.rec.Procs[k].NoProcess {
			w := &st.Replicas[k]
			w.Phase, w.StartTime, w.EndTime, w.Restarts = l.Phase, l.StartTime, l.EndTime, l.Restarts
			w.Name = "rank of mpirun (" + l.Name + ")"
		}
	}
}

// maybeRunningLocked sets the Running condition once every replica runs.
func (s *supervisor) maybeRunningLocked(now time.Time) {
	st := &s.j.rec.Job.Status
	for _, r := range st.Replicas {
		if r.Phase == jobs.ReplicaPending {
			return
		}
	}
	if st.Phase() == jobs.Running {
		return
	}
	spec := &s.j.rec.Job.Spec
	st.SetCondition(jobs.Running, jobs.ReasonRunning, fmt.Sprintf("%s job %s is running.", spec.Kind, spec.Name), now)
}

// onExit records an exit and decides what follows; it reports whether the
// job has ended.
func (s *supervisor) onExit(ev exitEvent) bool {
	b, j := s.b, s.j
	now := time.Now().UTC()
	b.mu.Lock()
	if ev.attempt != j.rec.Procs[ev.i].Attempt || j.rec.Job.Status.Replicas[ev.i].Phase != jobs.ReplicaRunning && !s.stopping {
		b.mu.Unlock()
		return false
	}
	spec := &j.rec.Job.Spec
	st := &j.rec.Job.Status
	r := &st.Replicas[ev.i]
	code := ev.code
	r.ExitCode, r.EndTime = &code, now
	if ev.vanished {
		r.Message = "the process ended while no backend watched it and left no exit code; assuming it was killed"
	}
	if s.stopping {
		if code == 0 {
			r.Phase = jobs.ReplicaSucceeded
		} else {
			r.Phase = jobs.ReplicaFailed
			if r.Message == "" {
				r.Message = "stopped when the job ended"
			}
		}
		s.mirrorMPILocked(ev.i)
		// Saved and shown by markCleaned, once no process of the job is
		// left: whoever sees every replica ended may rely on that.
		b.mu.Unlock()
		return false
	}
	if code == 0 {
		r.Phase = jobs.ReplicaSucceeded
		s.mirrorMPILocked(ev.i)
		if s.succeededLocked() {
			b.mu.Unlock()
			s.finish(jobs.Succeeded, jobs.ReasonSucceeded, fmt.Sprintf("%s job %s completed successfully.", spec.Kind, spec.Name), storage.RunFinished)
			return true
		}
		b.updateLocked(j)
		b.mu.Unlock()
		return false
	}
	policy := spec.RestartPolicyFor(r.Type)
	retry := policy == jobs.RestartOnFailure || policy == jobs.RestartAlways ||
		(policy == jobs.RestartExitCode && code >= 128)
	limit := DefaultBackoffLimit
	if l := spec.RunPolicy.BackoffLimit; l != nil {
		limit = *l
	}
	total := 0 // restarts of the job, over replicas that are processes
	for k, x := range st.Replicas {
		if !j.rec.Procs[k].NoProcess {
			total += x.Restarts
		}
	}
	id := r.ID()
	if retry && total < limit {
		r.Restarts++
		r.Phase = jobs.ReplicaPending
		delay := min(b.opts.RestartDelay<<min(r.Restarts-1, 16), maxRestartDelay)
		r.Message = fmt.Sprintf("exited with code %d; restarting in %s", code, delay)
		s.mirrorMPILocked(ev.i)
		st.SetCondition(jobs.Restarting, jobs.ReasonRestarting,
			fmt.Sprintf("%s exited with code %d and restarts per restartPolicy %s (restart %d of backoffLimit %d).", id, code, policy, total+1, limit), now)
		b.updateLocked(j)
		b.mu.Unlock()
		i := ev.i
		time.AfterFunc(delay, func() {
			select {
			case s.restarts <- i:
			case <-s.quit:
			}
		})
		return false
	}
	r.Phase = jobs.ReplicaFailed
	s.mirrorMPILocked(ev.i)
	logPath := filepath.Join(j.dir, "logs", logName(r.Type, r.Index))
	b.mu.Unlock()

	reason, why := jobs.ReasonFailed, ""
	switch {
	case retry:
		reason, why = jobs.ReasonBackoffLimitExceeded, fmt.Sprintf(" after %d restarts (backoffLimit %d)", total, limit)
	case policy == jobs.RestartExitCode:
		why = " (a permanent error under restartPolicy ExitCode: codes 1-127 are not retried)"
	}
	msg := fmt.Sprintf("%s exited with code %d%s.", id, code, why)
	if last := lastLines(logPath, 10); last != "" {
		msg += " Last lines of its log:\n" + last
	}
	s.finish(jobs.Failed, reason, msg, storage.RunFailed)
	return true
}

// succeededLocked applies the operators' success policies: the Launcher
// (MPI), Master (PyTorch, XGBoost, Paddle) or Chief (TensorFlow) succeeded;
// without one, Worker 0 of a TFJob, or every Worker of other kinds.
func (s *supervisor) succeededLocked() bool {
	spec := &s.j.rec.Job.Spec
	st := &s.j.rec.Job.Status
	phase := func(t jobs.ReplicaType, i int) jobs.ReplicaPhase {
		for _, r := range st.Replicas {
			if r.Type == t && r.Index == i {
				return r.Phase
			}
		}
		return ""
	}
	switch {
	case spec.Kind == jobs.MPI:
		return phase(jobs.Launcher, 0) == jobs.ReplicaSucceeded
	case spec.Kind == jobs.TensorFlow && spec.ReplicaCount(jobs.Chief) > 0:
		return phase(jobs.Chief, 0) == jobs.ReplicaSucceeded
	case spec.Kind == jobs.TensorFlow:
		return phase(jobs.Worker, 0) == jobs.ReplicaSucceeded
	case spec.ReplicaCount(jobs.Master) > 0:
		return phase(jobs.Master, 0) == jobs.ReplicaSucceeded
	}
	for _, r := range st.Replicas {
		if r.Type == jobs.Worker && r.Phase != jobs.ReplicaSucceeded {
			return false
		}
	}
	return true
}

// finish records the job's end and ends its tracking run.
func (s *supervisor) finish(t jobs.ConditionType, reason, msg string, run storage.RunStatus) {
	b, j := s.b, s.j
	s.tail(true)
	now := time.Now().UTC()
	// The run ends first, so whoever sees the job ended finds it ended.
	if runID := j.rec.Job.RunID; runID != "" {
		b.endRun(runID, run, now)
	}
	b.mu.Lock()
	st := &j.rec.Job.Status
	st.SetCondition(t, reason, msg, now)
	st.CompletionTime = now
	b.updateLocked(j)
	b.mu.Unlock()
	b.log.Info("job ended", "job", j.rec.Job.Name(), "condition", t, "reason", reason)
}

// cleanup stops the replicas still running after the job ended, per the
// clean-pod policy: after a success they get the grace period to finish on
// their own; then SIGTERM goes to each replica's process group, SIGKILL
// after the grace period, also to any process of the job that left its
// group.
func (s *supervisor) cleanup(now bool) {
	b, j := s.b, s.j
	b.mu.Lock()
	s.stopping = true
	policy := j.rec.Job.Spec.RunPolicy.CleanPodPolicy
	b.mu.Unlock()
	if policy == jobs.CleanNone && !now {
		s.markCleaned()
		return
	}
	// After a success the others get time to finish on their own; after a
	// failure they stop at once.
	b.mu.Lock()
	succeeded := j.rec.Job.Status.Phase() == jobs.Succeeded
	b.mu.Unlock()
	if !now && succeeded && s.settle(b.opts.GracePeriod, false) && s.groupsEmpty() {
		s.markCleaned()
		return
	}
	s.signal(syscall.SIGTERM)
	if !s.settle(b.opts.GracePeriod, true) {
		s.signal(syscall.SIGKILL)
		s.settle(b.opts.GracePeriod, true)
	}
	s.markCleaned()
}

// running returns the replicas that are processes and still run.
func (s *supervisor) running() []int {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	var out []int
	for i, r := range s.j.rec.Job.Status.Replicas {
		if !s.j.rec.Procs[i].NoProcess && r.Phase == jobs.ReplicaRunning {
			out = append(out, i)
		}
	}
	return out
}

// groupsEmpty reports whether no process is left in any replica's process
// group (children a replica left behind included).
func (s *supervisor) groupsEmpty() bool {
	s.b.mu.Lock()
	procs := slices.Clone(s.j.rec.Procs)
	s.b.mu.Unlock()
	var pgids []int
	for _, p := range procs {
		pgids = append(pgids, p.PID)
	}
	return !groupsAlive(pgids)
}

// settle records exits until no replica runs (and, with groups, no process
// is left in their groups): true; or until d has passed or the Backend
// closes: false.
func (s *supervisor) settle(d time.Duration, groups bool) bool {
	done := func() bool { return len(s.running()) == 0 && (!groups || s.groupsEmpty()) }
	if done() {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(s.b.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case ev := <-s.exits:
			s.onExit(ev)
		case <-tick.C:
		case <-t.C:
			return done()
		case <-s.b.ctx.Done():
			return false
		}
		if done() {
			return true
		}
	}
}

// signal sends sig to every replica's process group; SIGKILL also goes to
// every process of the job found by the /proc scan.
func (s *supervisor) signal(sig syscall.Signal) {
	s.b.mu.Lock()
	procs := slices.Clone(s.j.rec.Procs)
	uid := s.j.rec.Job.UID
	s.b.mu.Unlock()
	for _, p := range procs {
		signalGroup(p.PID, p.Start, sig)
	}
	if sig == syscall.SIGKILL {
		for _, pid := range markedProcesses(uid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// markCleaned records that no replica runs any more (unless the Backend is
// closing, when a later one resumes the clean-up).
func (s *supervisor) markCleaned() {
	b, j := s.b, s.j
	select {
	case <-b.ctx.Done():
		return
	default:
	}
	if j.rec.Job.Spec.RunPolicy.CleanPodPolicy != jobs.CleanNone {
		// Processes that left their group (daemons, double forks); a
		// process forking as it dies may leave a child the scan missed,
		// so scan again until none is left.
		for range 20 {
			pids := markedProcesses(j.rec.Job.UID)
			if len(pids) == 0 {
				break
			}
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.mu.Lock()
	now := time.Now().UTC()
	for i := range j.rec.Job.Status.Replicas {
		r := &j.rec.Job.Status.Replicas[i]
		if r.Phase == jobs.ReplicaPending {
			r.Phase, r.Message = jobs.ReplicaFailed, "not started: the job ended"
		}
		if r.Phase == jobs.ReplicaRunning && j.rec.Job.Spec.RunPolicy.CleanPodPolicy != jobs.CleanNone && !j.rec.Procs[i].NoProcess {
			r.Phase, r.EndTime, r.Message = jobs.ReplicaFailed, now, "killed when the job ended"
		}
		s.mirrorMPILocked(i)
	}
	j.rec.Cleaned = true
	b.releaseGPUs(j)
	b.updateLocked(j)
	b.mu.Unlock()
	b.scheduleTTL(j)
}

// tail parses new complete lines of the primary replica's log into
// metrics of the job's run; final parses a last line without a newline.
func (s *supervisor) tail(final bool) {
	if s.parser == nil {
		return
	}
	b, j := s.b, s.j
	b.mu.Lock()
	t, idx := j.rec.Job.Spec.PrimaryReplica()
	path := filepath.Join(j.dir, "logs", logName(t, idx))
	off := j.rec.MetricsOffset
	runID := j.rec.Job.RunID
	b.mu.Unlock()
	if runID == "" {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	var ms []storage.Metric
	const chunk = 1 << 20
	buf := make([]byte, chunk)
	for {
		n, err := f.ReadAt(buf, off)
		data := buf[:n]
		if n == 0 {
			break
		}
		k := bytes.LastIndexByte(data, '\n')
		switch {
		case k >= 0:
			data = data[:k+1]
		case n == chunk: // a line longer than a chunk: skip it
		case final && err == io.EOF:
		default:
			data = nil
		}
		if len(data) == 0 {
			break
		}
		ts := time.Now().UnixMilli()
		for line := range strings.Lines(string(data)) {
			for _, m := range s.parser.Parse(line) {
				m.Timestamp = ts
				ms = append(ms, m)
			}
		}
		off += int64(len(data))
		if err != nil {
			break
		}
	}
	b.mu.Lock()
	changed := off != j.rec.MetricsOffset
	j.rec.MetricsOffset = off
	j.rec.NextStep = maps.Clone(s.parser.NextStep)
	if changed && b.jobs[j.rec.Job.Name()] == j {
		if err := b.persistLocked(j); err != nil {
			b.log.Warn("saving job state", "job", j.rec.Job.Name(), "err", err)
		}
	}
	b.mu.Unlock()
	if len(ms) > 0 {
		b.logMetrics(runID, ms)
	}
}

// lastLines returns the last n lines of the file at path (at most 8 KiB).
func lastLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	const window = 8 << 10
	off := max(fi.Size()-window, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // a partial first line
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
