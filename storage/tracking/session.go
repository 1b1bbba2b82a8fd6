package tracking

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/open"
	"github.com/ferryml/ferry/storage/trackingapi"
)

// Environment variables that choose the tracking store of a process (a
// kernel, the CLI), as controlplane names them (the cells' names for them).
// `ferry lab` sets FERRY_API_URL and FERRY_TOKEN for the kernels it starts;
// without them a process opens the embedded store of its data directory.
const (
	EnvAPIURL      = controlplane.EnvAPIURL      // the control plane, e.g. http://127.0.0.1:8888/api/ferry/v1/
	EnvToken       = controlplane.EnvToken       // its token
	EnvTrackingURL = controlplane.EnvTrackingURL // a tracking store URL (sqlite:///..., postgres://...)
	EnvDataDir     = controlplane.EnvDataDir     // Ferry's data directory
	EnvNotebook    = controlplane.EnvNotebook    // the notebook path of a kernel (set by Jupyter servers)
)

// DataDir returns Ferry's data directory: $FERRY_DATA_DIR, else
// $XDG_DATA_HOME/ferry, else ~/.local/share/ferry (controlplane.DataDir).
func DataDir() string { return controlplane.DataDir() }

// Session is a connection to a tracking store with a current experiment:
// what notebook cells, magics and the CLI use. Its methods are safe for
// concurrent use.
type Session struct {
	Tracker storage.Tracker
	// Remote is set when Tracker is a control-plane client; artifacts then
	// go through the API.
	Remote *trackingapi.Client
	// Where says which store this is, for messages.
	Where string

	mu         sync.Mutex
	experiment storage.Experiment
}

// NewSession returns a Session over tr with the Default experiment current.
func NewSession(tr storage.Tracker, where string) *Session {
	s := &Session{Tracker: tr, Where: where}
	if c, ok := tr.(*trackingapi.Client); ok {
		s.Remote = c
	}
	return s
}

// Connect opens the tracking store the environment names: the control
// plane at $FERRY_API_URL (with $FERRY_TOKEN), else $FERRY_TRACKING_URL,
// else the embedded SQLite store of DataDir().
func Connect(ctx context.Context) (*Session, error) {
	if ep, ok := controlplane.FromEnv(); ok {
		return NewSession(trackingapi.NewClient(ep.URL, ep.Token, nil), ep.URL), nil
	}
	u := os.Getenv(EnvTrackingURL)
	if u == "" {
		dir := DataDir()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("tracking: data directory: %w", err)
		}
		u = DefaultURL(dir)
	}
	tr, err := Open(ctx, u, Options{})
	if err != nil {
		return nil, err
	}
	return NewSession(tr, u), nil
}

var defaultSession = controlplane.NewDefault(Connect)

// Default returns the session of this process, connecting on first use
// (see Connect).
func Default() (*Session, error) { return defaultSession.Get() }

// SetDefault makes s the session Default returns.
func SetDefault(s *Session) { defaultSession.Set(s) }

// SetExperiment makes the experiment called name current, creating it
// when it does not exist yet.
func (s *Session) SetExperiment(ctx context.Context, name string) (storage.Experiment, error) {
	if strings.TrimSpace(name) == "" {
		return storage.Experiment{}, ferry.Errorf(ferry.Invalid, "experiment name is empty: give one, as in %%experiment my-model")
	}
	e, err := s.Tracker.GetExperimentByName(ctx, name)
	if ferry.IsNotFound(err) {
		e, err = s.Tracker.CreateExperiment(ctx, name, "", nil)
		if ferry.ErrorCode(err) == ferry.AlreadyExists { // created meanwhile
			e, err = s.Tracker.GetExperimentByName(ctx, name)
		}
	}
	if err != nil {
		return storage.Experiment{}, err
	}
	if e.LifecycleStage == storage.Deleted {
		return storage.Experiment{}, ferry.Errorf(ferry.Invalid, "experiment %q is deleted: restore it (ferry runs restore-experiment) or choose another name", name)
	}
	s.mu.Lock()
	s.experiment = e
	s.mu.Unlock()
	return e, nil
}

// Experiment returns the current experiment (Default until one is set).
func (s *Session) Experiment(ctx context.Context) (storage.Experiment, error) {
	s.mu.Lock()
	e := s.experiment
	s.mu.Unlock()
	if e.ID != "" {
		return e, nil
	}
	e, err := s.Tracker.GetExperiment(ctx, storage.DefaultExperimentID)
	if err != nil {
		return storage.Experiment{}, err
	}
	s.mu.Lock()
	s.experiment = e
	s.mu.Unlock()
	return e, nil
}

// StartRun starts a run named name (a generated name when empty) in the
// current experiment, recording the notebook it runs in.
func (s *Session) StartRun(ctx context.Context, name string) (*Run, error) {
	e, err := s.Experiment(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.Tracker.CreateRun(ctx, storage.RunSpec{ExperimentID: e.ID, Name: name, SourceNotebook: os.Getenv(EnvNotebook)})
	if err != nil {
		return nil, err
	}
	return &Run{ID: r.ID, Name: r.Name, ExperimentID: r.ExperimentID, ArtifactURI: r.ArtifactURI, s: s}, nil
}

// Run is a live run, as cells use it: log parameters, metrics and
// artifacts, then End it.
type Run struct {
	ID           string
	Name         string
	ExperimentID string
	ArtifactURI  string
	s            *Session
}

// String names the run.
func (r *Run) String() string { return fmt.Sprintf("run %s (%s)", r.Name, r.ID) }

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Minute)
}

// LogParam records a parameter; value is formatted with fmt (%v). A
// parameter is written once: another value for the same key is an error.
func (r *Run) LogParam(key string, value any) error {
	c, cancel := ctx()
	defer cancel()
	return r.s.Tracker.LogParam(c, r.ID, storage.Param{Key: key, Value: fmt.Sprint(value)})
}

// LogParams records several parameters at once.
func (r *Run) LogParams(params map[string]any) error {
	ps := make([]storage.Param, 0, len(params))
	for k, v := range params {
		ps = append(ps, storage.Param{Key: k, Value: fmt.Sprint(v)})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
	c, cancel := ctx()
	defer cancel()
	return r.s.Tracker.LogBatch(c, r.ID, nil, ps, nil)
}

// LogMetric appends value at step to the history of metric key.
func (r *Run) LogMetric(key string, value float64, step int) error {
	c, cancel := ctx()
	defer cancel()
	return r.s.Tracker.LogMetric(c, r.ID, storage.Metric{Key: key, Value: value, Step: int64(step), Timestamp: time.Now().UnixMilli()})
}

// LogMetrics appends several metrics at one step, in one batch.
func (r *Run) LogMetrics(values map[string]float64, step int) error {
	now := time.Now().UnixMilli()
	ms := make([]storage.Metric, 0, len(values))
	for k, v := range values {
		ms = append(ms, storage.Metric{Key: k, Value: v, Step: int64(step), Timestamp: now})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
	c, cancel := ctx()
	defer cancel()
	return r.s.Tracker.LogBatch(c, r.ID, ms, nil, nil)
}

// SetTag sets a tag of the run.
func (r *Run) SetTag(key, value string) error {
	c, cancel := ctx()
	defer cancel()
	return r.s.Tracker.SetTag(c, r.ID, storage.Tag{Key: key, Value: value})
}

// LogArtifact stores the file at path, or every file under the directory
// at path, among the run's artifacts, under the base name of path.
func (r *Run) LogArtifact(path string) error {
	c, cancel := ctx()
	defer cancel()
	fi, err := os.Stat(path)
	if err != nil {
		return ferry.Errorf(ferry.NotFound, "log artifact: %w", err)
	}
	base := filepath.Base(filepath.Clean(path))
	if !fi.IsDir() {
		return r.putFile(c, path, base)
	}
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(path, p)
		if err != nil {
			return err
		}
		return r.putFile(c, p, base+"/"+filepath.ToSlash(rel))
	})
}

func (r *Run) putFile(c context.Context, path, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	return r.s.PutArtifact(c, r.ID, r.ArtifactURI, key, f, fi.Size())
}

// PutArtifact stores size bytes of rd (-1: unknown) as artifact key of the
// run runID whose artifact URI is artifactURI.
func (s *Session) PutArtifact(ctx context.Context, runID, artifactURI, key string, rd io.Reader, size int64) error {
	if s.Remote != nil {
		_, err := s.Remote.PutArtifact(ctx, runID, key, rd, size, "")
		return err
	}
	st, err := OpenStore(ctx, artifactURI)
	if err != nil {
		return err
	}
	_, err = st.Put(ctx, key, rd, storage.PutOptions{Size: size})
	return err
}

// Artifacts lists the artifacts of a run.
func (s *Session) Artifacts(ctx context.Context, run storage.Run) ([]storage.ObjectInfo, error) {
	if s.Remote != nil {
		as, err := s.Remote.ListArtifacts(ctx, run.ID, "")
		if err != nil {
			return nil, err
		}
		out := make([]storage.ObjectInfo, len(as))
		for i, a := range as {
			out[i] = storage.ObjectInfo{Key: a.Path, Size: a.Size, ModTime: a.ModTime, SHA256: a.SHA256, ContentType: a.ContentType}
		}
		return out, nil
	}
	st, err := OpenStore(ctx, run.ArtifactURI)
	if err != nil {
		return nil, err
	}
	var out []storage.ObjectInfo
	o := storage.ListOptions{}
	for {
		page, err := st.List(ctx, o)
		if err != nil {
			if ferry.IsNotFound(err) {
				return out, nil
			}
			return nil, err
		}
		out = append(out, page.Objects...)
		if page.Next == "" {
			return out, nil
		}
		o.Token = page.Next
	}
}

// OpenStore opens the object store at a URL (file:// or s3://, with
// credentials from the AWS_* variables): where run artifacts live.
func OpenStore(ctx context.Context, rawURL string) (storage.ObjectStore, error) {
	return open.Store(ctx, rawURL, open.Options{NoCheck: true})
}

// End marks the run FINISHED.
func (r *Run) End() error { return r.setStatus(storage.RunFinished) }

// Fail marks the run FAILED.
func (r *Run) Fail() error { return r.setStatus(storage.RunFailed) }

func (r *Run) setStatus(st storage.RunStatus) error {
	c, cancel := ctx()
	defer cancel()
	_, err := r.s.Tracker.UpdateRun(c, r.ID, storage.RunUpdate{Status: st})
	return err
}

// StartRun starts a run in the current experiment of the default session.
func StartRun(name string) (*Run, error) {
	s, err := Default()
	if err != nil {
		return nil, err
	}
	c, cancel := ctx()
	defer cancel()
	return s.StartRun(c, name)
}

// SetExperiment makes the experiment called name (created if needed)
// current in the default session.
func SetExperiment(name string) (storage.Experiment, error) {
	s, err := Default()
	if err != nil {
		return storage.Experiment{}, err
	}
	c, cancel := ctx()
	defer cancel()
	return s.SetExperiment(c, name)
}
