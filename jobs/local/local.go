package local

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/storage"
)

// BackendName is the value of Job.Backend for jobs of this package.
const BackendName = "local"

// Defaults of Options.
const (
	DefaultGracePeriod  = 5 * time.Second
	DefaultRestartDelay = time.Second
	DefaultPollInterval = 200 * time.Millisecond
	// DefaultBackoffLimit is the number of restarts allowed when the spec
	// leaves RunPolicy.BackoffLimit nil, as for a Kubernetes Job.
	DefaultBackoffLimit = 6
	// DefaultMaxReplicas is the most replicas (processes) one job may ask
	// for, so that a mistyped count cannot fork-bomb the machine.
	DefaultMaxReplicas = 64
	maxRestartDelay    = time.Minute
)

// Options configure a Backend.
type Options struct {
	// Dir is the state directory: one subdirectory per job with job.json,
	// logs/ and the working files. Required.
	Dir string
	// Tracker, when set, gets one run per job, with the metrics parsed from
	// the job's output; the run's status follows the job.
	Tracker storage.Tracker
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// GPUs are the devices (CUDA indices) replicas may get. Nil means detect
	// them with `nvidia-smi -L`; an empty non-nil slice means none.
	GPUs []string
	// GracePeriod is the time between SIGTERM and SIGKILL when replicas are
	// stopped, and the time replicas still running when the job succeeded
	// get to finish on their own. Default DefaultGracePeriod.
	GracePeriod time.Duration
	// RestartDelay is the wait before the first restart of a replica;
	// it doubles with each further restart, up to a minute. Default
	// DefaultRestartDelay.
	RestartDelay time.Duration
	// PollInterval is how often logs are tailed (metrics, followed logs) and
	// replicas this Backend did not start are checked. Default
	// DefaultPollInterval.
	PollInterval time.Duration
	// MaxReplicas is the most replicas, of all roles together, one job may
	// ask for; Submit refuses more. Default DefaultMaxReplicas.
	MaxReplicas int
}

// Backend runs jobs as local processes. Each replica is a process in its own
// process group, started under /bin/sh (see the package documentation),
// with its output in a log file under Options.Dir. Jobs outlive the Backend:
// Close detaches from running jobs and New over the same directory picks
// them up again.
type Backend struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context // done when Close is called
	cancel context.CancelFunc
	wg     sync.WaitGroup // supervisors and watchers

	mu       sync.Mutex
	jobs     map[string]*job
	watchers map[*watcher]struct{}
	gpus     []string
	gpuUsed  map[string]string // device -> job name
	closed   bool

	lock *os.File // holds an exclusive flock on <Dir>/.lock until Close
}

var _ jobs.Backend = (*Backend)(nil)

// job is the Backend's view of one job. rec is guarded by Backend.mu.
type job struct {
	dir    string
	rec    record
	cancel chan struct{} // closed by Cancel or Delete
	done   chan struct{} // closed when the supervisor returns
	once   sync.Once
}

// record is what job.json holds.
type record struct {
	Job jobs.Job `json:"job"`
	// Procs holds the process of each replica, parallel to
	// Job.Status.Replicas.
	Procs []proc `json:"procs"`
	// Ports chosen at submission, by key (see portsFor).
	Ports map[string]int `json:"ports,omitempty"`
	// GPUs assigned to each replica, by replica id.
	GPUs map[string][]string `json:"gpus,omitempty"`
	// MetricsOffset is how far the primary replica's log has been parsed.
	MetricsOffset int64            `json:"metricsOffset"`
	NextStep      map[string]int64 `json:"nextStep,omitempty"`
	// Cleaned is set once no replica of a finished job runs any more.
	Cleaned bool `json:"cleaned,omitempty"`
}

// proc identifies a replica's process: the shell that leads its group.
type proc struct {
	PID int `json:"pid,omitempty"`
	// Start is the process's start time in clock ticks since boot, to tell
	// it from a later process that reuses the pid.
	Start uint64 `json:"start,omitempty"`
	// Attempt counts starts of the replica; exits of older attempts are
	// ignored.
	Attempt int `json:"attempt"`
	// NoProcess marks replicas that are no process of their own: the
	// workers of an MPI job, which are ranks that mpirun starts.
	NoProcess bool `json:"noProcess,omitempty"`
}

// New opens the state directory (creating it) and resumes supervising the
// jobs recorded there: finished ones are listed with their final state;
// running ones are re-attached (their replicas are polled through /proc
// and their exit codes read from the files the wrapper writes).
func New(ctx context.Context, opts Options) (*Backend, error) {
	if opts.Dir == "" {
		return nil, ferry.Errorf(ferry.Invalid, "local jobs: no state directory: set Options.Dir, e.g. <data dir>/jobs")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("local jobs: create state directory: %w", err)
	}
	// One Backend per state directory: two would both supervise (restart,
	// cancel, log metrics of) the same jobs.
	lock, err := os.OpenFile(filepath.Join(opts.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local jobs: lock the state directory: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, ferry.Errorf(ferry.Unavailable, "local jobs: %s is in use by another process (a ferry lab, or a kernel started outside one): "+
			"reach its jobs through its control plane (set FERRY_API_URL and FERRY_TOKEN, or ferry jobs --url), or stop it (%v)", opts.Dir, err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = DefaultGracePeriod
	}
	if opts.RestartDelay <= 0 {
		opts.RestartDelay = DefaultRestartDelay
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.MaxReplicas <= 0 {
		opts.MaxReplicas = DefaultMaxReplicas
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := &Backend{
		opts: opts, log: opts.Logger.With("component", "jobs/local"), ctx: bctx, cancel: cancel,
		jobs: map[string]*job{}, watchers: map[*watcher]struct{}{}, gpuUsed: map[string]string{}, lock: lock,
	}
	b.gpus = opts.GPUs
	if b.gpus == nil {
		b.gpus = detectGPUs(ctx)
	}
	ents, err := os.ReadDir(opts.Dir)
	if err != nil {
		cancel()
		lock.Close()
		return nil, fmt.Errorf("local jobs: read state directory: %w", err)
	}
	var resume []*job
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(opts.Dir, e.Name())
		var rec record
		data, err := os.ReadFile(filepath.Join(dir, "job.json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = json.Unmarshal(data, &rec)
		}
		if err != nil {
			b.log.Warn("skipping unreadable job record", "dir", dir, "err", err)
			continue
		}
		j := &job{dir: dir, rec: rec, cancel: make(chan struct{}), done: make(chan struct{})}
		b.jobs[rec.Job.Name()] = j
		if !rec.Job.Status.Finished() || !rec.Cleaned {
			for _, devs := range rec.GPUs {
				for _, d := range devs {
					b.gpuUsed[d] = rec.Job.Name()
				}
			}
			resume = append(resume, j)
		} else {
			close(j.done)
			b.scheduleTTL(j)
		}
	}
	for _, j := range resume {
		b.wg.Add(1)
		go b.supervise(j)
	}
	return b, nil
}

// Close stops supervising: running replicas keep running (they outlive the
// control plane) and a later New over the same directory re-attaches them.
// Watch channels close.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	return b.lock.Close() // releases the flock
}

// Dir returns the state directory.
func (b *Backend) Dir() string { return b.opts.Dir }

// LogPath returns the path of the log file of a replica of job name (it
// may not exist yet).
func (b *Backend) LogPath(name string, t jobs.ReplicaType, index int) string {
	return filepath.Join(b.opts.Dir, name, "logs", logName(t, index))
}

func logName(t jobs.ReplicaType, index int) string {
	return strings.ToLower(jobs.ReplicaID(t, index)) + ".log"
}

// totalReplicas is spec.TotalReplicas, saturating instead of overflowing
// (a count near the largest int must not wrap round to a small one).
func totalReplicas(spec *jobs.Spec) int {
	n := 0
	for _, r := range spec.Replicas {
		if r.Replicas > math.MaxInt-n {
			return math.MaxInt
		}
		n += r.Replicas
	}
	return n
}

// Submit validates spec, records the job, creates its tracking run and
// starts its replicas in the background.
func (b *Backend) Submit(ctx context.Context, spec jobs.Spec) (jobs.Job, error) {
	if err := spec.Validate(); err != nil {
		return jobs.Job{}, err
	}
	if n := totalReplicas(&spec); n > b.opts.MaxReplicas {
		return jobs.Job{}, ferry.Errorf(ferry.Invalid, "job spec: %d replicas in all, but local jobs have at most %d each: "+
			"lower the replica counts, or raise the limit (ferry lab --jobs-max-replicas), or run it on a cluster (--jobs-backend kube)", n, b.opts.MaxReplicas)
	}
	for _, t := range spec.ReplicaTypes() {
		argv := spec.CommandFor(t)
		if err := lookPath(argv[0]); err != nil {
			return jobs.Job{}, ferry.Errorf(ferry.Invalid, "job spec: command %q of %s: not found on PATH (%v): install it or give its full path", argv[0], t, err)
		}
	}
	if spec.Kind == jobs.MPI {
		if _, err := exec.LookPath("mpirun"); err != nil {
			return jobs.Job{}, ferry.Errorf(ferry.Unavailable, "local jobs: an mpi job needs mpirun (OpenMPI) on PATH: install openmpi-bin")
		}
	}
	uid := newUID()
	now := time.Now().UTC()
	j := &job{dir: filepath.Join(b.opts.Dir, spec.Name), cancel: make(chan struct{}), done: make(chan struct{})}
	j.rec = record{
		Job:      jobs.Job{UID: uid, Spec: spec, Backend: BackendName, CreationTime: now},
		NextStep: map[string]int64{},
	}
	st := &j.rec.Job.Status
	for _, t := range spec.ReplicaTypes() {
		for i := range spec.ReplicaCount(t) {
			st.Replicas = append(st.Replicas, jobs.ReplicaState{Type: t, Index: i, Phase: jobs.ReplicaPending})
			j.rec.Procs = append(j.rec.Procs, proc{NoProcess: spec.Kind == jobs.MPI && t == jobs.Worker})
		}
	}
	st.SetCondition(jobs.Created, jobs.ReasonCreated, fmt.Sprintf("%s job %s is created.", spec.Kind, spec.Name), now)
	countReplicas(st)

	keys := portsFor(&spec)
	ports, err := freePorts(len(keys))
	if err != nil {
		return jobs.Job{}, err
	}
	j.rec.Ports = map[string]int{}
	for i, k := range keys {
		j.rec.Ports[k] = ports[i]
	}

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return jobs.Job{}, ferry.Errorf(ferry.Unavailable, "local jobs: backend is closed")
	}
	if _, ok := b.jobs[spec.Name]; ok {
		b.mu.Unlock()
		return jobs.Job{}, ferry.Errorf(ferry.AlreadyExists, "job %q already exists: choose another name, or delete the old job first", spec.Name)
	}
	if err := b.assignGPUs(j); err != nil {
		b.mu.Unlock()
		return jobs.Job{}, err
	}
	b.jobs[spec.Name] = j // reserve the name
	b.mu.Unlock()

	fail := func(err error) (jobs.Job, error) {
		b.mu.Lock()
		delete(b.jobs, spec.Name)
		b.releaseGPUs(j)
		b.mu.Unlock()
		os.RemoveAll(j.dir)
		return jobs.Job{}, err
	}
	if err := b.prepareDir(j); err != nil {
		return fail(err)
	}
	var runID string
	if b.opts.Tracker != nil {
		var err error
		// createRun only reads the spec, which no one changes after Submit.
		if runID, err = b.createRun(ctx, &j.rec.Job); err != nil {
			return fail(err)
		}
	}
	b.mu.Lock()
	// The job is visible (reserved) already: set the run id under the lock.
	j.rec.Job.RunID = runID
	if err := b.persistLocked(j); err != nil {
		b.mu.Unlock()
		return fail(err)
	}
	out := cloneJob(&j.rec.Job)
	b.broadcastLocked(jobs.Added, j)
	b.wg.Add(1)
	b.mu.Unlock()
	go b.supervise(j)
	return out, nil
}

// prepareDir creates the job's directory, logs, working files and (MPI)
// hostfile.
func (b *Backend) prepareDir(j *job) error {
	spec := &j.rec.Job.Spec
	if err := os.MkdirAll(filepath.Join(j.dir, "logs"), 0o755); err != nil {
		return fmt.Errorf("local jobs: create job directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(j.dir, "exit"), 0o755); err != nil {
		return fmt.Errorf("local jobs: create job directory: %w", err)
	}
	wd := b.workDir(j)
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return fmt.Errorf("local jobs: create working directory %s: %w", wd, err)
	}
	for _, p := range slices.Sorted(maps.Keys(spec.Files)) {
		path := filepath.Join(wd, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("local jobs: write %s: %w", p, err)
		}
		if err := os.WriteFile(path, []byte(spec.Files[p]), 0o644); err != nil {
			return fmt.Errorf("local jobs: write %s: %w", p, err)
		}
	}
	for _, r := range j.rec.Job.Status.Replicas {
		f, err := os.OpenFile(filepath.Join(j.dir, "logs", logName(r.Type, r.Index)), os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("local jobs: create log: %w", err)
		}
		f.Close()
	}
	if spec.Kind == jobs.MPI {
		hf := fmt.Sprintf("localhost slots=%d\n", mpiRanks(spec))
		if err := os.WriteFile(filepath.Join(j.dir, "hostfile"), []byte(hf), 0o644); err != nil {
			return fmt.Errorf("local jobs: write hostfile: %w", err)
		}
	}
	return nil
}

func (b *Backend) workDir(j *job) string {
	if wd := j.rec.Job.Spec.WorkingDir; wd != "" {
		return wd
	}
	return filepath.Join(j.dir, "work")
}

// Get returns the job named name.
func (b *Backend) Get(ctx context.Context, name string) (jobs.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	j, ok := b.jobs[name]
	if !ok {
		return jobs.Job{}, notFound(name)
	}
	return cloneJob(&j.rec.Job), nil
}

// List returns the jobs that match opts, oldest first.
func (b *Backend) List(ctx context.Context, opts jobs.ListOptions) ([]jobs.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []jobs.Job
	for _, j := range b.jobs {
		if opts.Matches(&j.rec.Job) {
			out = append(out, cloneJob(&j.rec.Job))
		}
	}
	slices.SortFunc(out, func(a, c jobs.Job) int {
		if d := a.CreationTime.Compare(c.CreationTime); d != 0 {
			return d
		}
		return strings.Compare(a.Name(), c.Name())
	})
	return out, nil
}

// Watch sends an ADDED event per job, then every change, until ctx is done.
func (b *Backend) Watch(ctx context.Context, name string) (<-chan jobs.Event, error) {
	w := newWatcher(name)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ferry.Errorf(ferry.Unavailable, "local jobs: backend is closed")
	}
	if name != "" {
		if _, ok := b.jobs[name]; !ok {
			b.mu.Unlock()
			return nil, notFound(name)
		}
	}
	all := slices.Collect(maps.Values(b.jobs))
	slices.SortFunc(all, func(a, c *job) int { return a.rec.Job.CreationTime.Compare(c.rec.Job.CreationTime) })
	for _, j := range all {
		w.push(jobs.Event{Type: jobs.Added, Job: cloneJob(&j.rec.Job)})
	}
	b.watchers[w] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	wctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-b.ctx.Done():
		case <-wctx.Done():
		}
		cancel()
	}()
	go w.run(wctx, func() {
		b.mu.Lock()
		delete(b.watchers, w)
		b.mu.Unlock()
		cancel()
		b.wg.Done()
	})
	return w.ch, nil
}

// Cancel stops every replica of the job (SIGTERM to each process group,
// SIGKILL after the grace period) and waits until none runs. The job ends
// Failed with reason JobCancelled; its run is KILLED.
func (b *Backend) Cancel(ctx context.Context, name string) error {
	b.mu.Lock()
	j, ok := b.jobs[name]
	closed := b.closed
	b.mu.Unlock()
	if !ok {
		return notFound(name)
	}
	if closed {
		return ferry.Errorf(ferry.Unavailable, "local jobs: backend is closed")
	}
	j.once.Do(func() { close(j.cancel) })
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("local jobs: cancel %s: %w", name, ctx.Err())
	}
}

// Delete cancels the job if it runs, then removes its record, logs and
// working directory (a WorkingDir given in the spec is left alone). The
// tracking run stays.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if err := b.Cancel(ctx, name); err != nil {
		return err
	}
	b.mu.Lock()
	j, ok := b.jobs[name]
	if !ok {
		b.mu.Unlock()
		return notFound(name)
	}
	// Replicas left running by cleanPodPolicy None.
	for _, p := range j.rec.Procs {
		signalGroup(p.PID, p.Start, syscall.SIGKILL)
	}
	for _, pid := range markedProcesses(j.rec.Job.UID) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	b.deleteLocked(j)
	b.mu.Unlock()
	return nil
}

func (b *Backend) deleteLocked(j *job) {
	name := j.rec.Job.Name()
	if b.jobs[name] != j {
		return
	}
	delete(b.jobs, name)
	b.releaseGPUs(j)
	if err := os.RemoveAll(j.dir); err != nil {
		b.log.Warn("removing job directory", "job", name, "err", err)
	}
	b.broadcastLocked(jobs.Deleted, j)
}

// scheduleTTL deletes a finished job once its TTL has passed.
func (b *Backend) scheduleTTL(j *job) {
	ttl := j.rec.Job.Spec.RunPolicy.TTLSecondsAfterFinished
	if ttl == nil || j.rec.Job.Status.CompletionTime.IsZero() {
		return
	}
	wait := time.Until(j.rec.Job.Status.CompletionTime.Add(time.Duration(*ttl) * time.Second))
	time.AfterFunc(max(wait, 0), func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if !b.closed {
			b.deleteLocked(j)
		}
	})
}

// persistLocked writes job.json atomically.
func (b *Backend) persistLocked(j *job) error {
	data, err := json.MarshalIndent(&j.rec, "", "  ")
	if err != nil {
		return fmt.Errorf("local jobs: encode %s: %w", j.rec.Job.Name(), err)
	}
	tmp := filepath.Join(j.dir, "job.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("local jobs: save %s: %w", j.rec.Job.Name(), err)
	}
	if err := os.Rename(tmp, filepath.Join(j.dir, "job.json")); err != nil {
		return fmt.Errorf("local jobs: save %s: %w", j.rec.Job.Name(), err)
	}
	return nil
}

// updateLocked recounts, saves and broadcasts a changed job.
func (b *Backend) updateLocked(j *job) {
	st := &j.rec.Job.Status
	countReplicas(st)
	if b.jobs[j.rec.Job.Name()] != j {
		return // deleted
	}
	if st.Finished() && !slices.ContainsFunc(st.Replicas, func(r jobs.ReplicaState) bool {
		return r.Phase == jobs.ReplicaRunning || r.Phase == jobs.ReplicaPending
	}) {
		b.releaseGPUs(j) // before watchers see that no replica runs
	}
	if err := b.persistLocked(j); err != nil {
		b.log.Error("saving job state", "job", j.rec.Job.Name(), "err", err)
	}
	b.broadcastLocked(jobs.Modified, j)
}

func (b *Backend) broadcastLocked(t jobs.EventType, j *job) {
	if len(b.watchers) == 0 {
		return
	}
	ev := jobs.Event{Type: t, Job: cloneJob(&j.rec.Job)}
	for w := range b.watchers {
		w.push(ev)
	}
}

// countReplicas recomputes ReplicaStatuses from Replicas.
func countReplicas(st *jobs.Status) {
	st.ReplicaStatuses = map[jobs.ReplicaType]jobs.ReplicaStatus{}
	for _, r := range st.Replicas {
		c := st.ReplicaStatuses[r.Type]
		switch r.Phase {
		case jobs.ReplicaRunning:
			c.Active++
		case jobs.ReplicaSucceeded:
			c.Succeeded++
		case jobs.ReplicaFailed:
			c.Failed++
		}
		st.ReplicaStatuses[r.Type] = c
	}
}

// cloneJob deep-copies the parts of a job that change.
func cloneJob(j *jobs.Job) jobs.Job {
	out := *j
	out.Status.Conditions = slices.Clone(j.Status.Conditions)
	out.Status.Replicas = slices.Clone(j.Status.Replicas)
	for i, r := range out.Status.Replicas {
		if r.ExitCode != nil {
			c := *r.ExitCode
			out.Status.Replicas[i].ExitCode = &c
		}
	}
	out.Status.ReplicaStatuses = maps.Clone(j.Status.ReplicaStatuses)
	return out
}

func notFound(name string) error {
	return ferry.Errorf(ferry.NotFound, "job %q not found: list jobs to see their names", name)
}

func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// detectGPUs lists the CUDA devices `nvidia-smi -L` reports ("GPU 0: ...").
func detectGPUs(ctx context.Context) []string {
	if _, err := exec.LookPath("nvidia-smi"); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nvidia-smi", "-L").Output()
	if err != nil {
		return nil
	}
	return parseGPUList(string(out))
}

// parseGPUList reads the indices of `nvidia-smi -L` output.
func parseGPUList(out string) []string {
	var gpus []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "GPU ")
		if !ok {
			continue
		}
		idx, _, ok := strings.Cut(rest, ":")
		if ok && idx != "" && strings.Trim(idx, "0123456789") == "" {
			gpus = append(gpus, idx)
		}
	}
	return gpus
}

// assignGPUs gives each replica that asks for GPUs its own devices.
func (b *Backend) assignGPUs(j *job) error {
	spec := &j.rec.Job.Spec
	need := 0
	for i, r := range j.rec.Job.Status.Replicas {
		if !j.rec.Procs[i].NoProcess {
			need += spec.ResourcesFor(r.Type).GPU
		}
	}
	if need == 0 {
		return nil
	}
	if need > len(b.gpus) {
		return ferry.Errorf(ferry.Invalid, "job %s asks for %d GPUs in all but this machine has %d (nvidia-smi -L): lower resources.gpu or use the kube backend", spec.Name, need, len(b.gpus))
	}
	var free []string
	for _, d := range b.gpus {
		if _, used := b.gpuUsed[d]; !used {
			free = append(free, d)
		}
	}
	if need > len(free) {
		var users []string
		for _, name := range b.gpuUsed {
			if !slices.Contains(users, name) {
				users = append(users, name)
			}
		}
		slices.Sort(users)
		return ferry.Errorf(ferry.Unavailable, "job %s asks for %d GPUs but only %d of %d are free (in use by %s): wait for those jobs to end or cancel one", spec.Name, need, len(free), len(b.gpus), strings.Join(users, ", "))
	}
	j.rec.GPUs = map[string][]string{}
	for i, r := range j.rec.Job.Status.Replicas {
		n := spec.ResourcesFor(r.Type).GPU
		if n == 0 || j.rec.Procs[i].NoProcess {
			continue
		}
		devs := free[:n]
		free = free[n:]
		j.rec.GPUs[r.ID()] = devs
		for _, d := range devs {
			b.gpuUsed[d] = spec.Name
		}
	}
	return nil
}

func (b *Backend) releaseGPUs(j *job) {
	for _, devs := range j.rec.GPUs {
		for _, d := range devs {
			if b.gpuUsed[d] == j.rec.Job.Name() {
				delete(b.gpuUsed, d)
			}
		}
	}
}
