package storage

import (
	"context"
	"time"

	"github.com/ferryml/ferry"
)

// The tracking store records experiments, their runs, and each run's
// parameters, tags, metrics and dataset inputs, as MLflow tracking does.
// storage/tracking opens one by URL (SQLite or PostgreSQL).

// DefaultExperimentID is the id of the experiment named "Default" that every
// tracking store has from its first migration on.
const DefaultExperimentID = "0"

// LifecycleStage says whether an experiment or a run is active or soft
// deleted (restorable).
type LifecycleStage string

// Lifecycle stages.
const (
	Active  LifecycleStage = "active"
	Deleted LifecycleStage = "deleted"
)

// RunStatus is the state of a run, with MLflow's names.
type RunStatus string

// Run statuses. RUNNING and SCHEDULED are live; the others are terminal.
const (
	RunRunning   RunStatus = "RUNNING"
	RunScheduled RunStatus = "SCHEDULED"
	RunFinished  RunStatus = "FINISHED"
	RunFailed    RunStatus = "FAILED"
	RunKilled    RunStatus = "KILLED"
)

// Valid reports whether s is one of the five statuses.
func (s RunStatus) Valid() bool {
	switch s {
	case RunRunning, RunScheduled, RunFinished, RunFailed, RunKilled:
		return true
	}
	return false
}

// Terminal reports whether s is FINISHED, FAILED or KILLED.
func (s RunStatus) Terminal() bool {
	return s == RunFinished || s == RunFailed || s == RunKilled
}

// ViewType selects runs or experiments by lifecycle stage.
type ViewType int

// View types; the zero value shows active ones only.
const (
	ActiveOnly ViewType = iota
	DeletedOnly
	All
)

// Experiment groups runs. Its name is unique among all experiments, deleted
// ones included.
type Experiment struct {
	ID   string
	Name string
	// ArtifactLocation is the URL under which the experiment's runs keep
	// their artifacts, e.g. file:///data/artifacts/3 or s3://bucket/ml/3.
	ArtifactLocation string
	LifecycleStage   LifecycleStage
	Tags             map[string]string
	CreationTime     time.Time
	LastUpdateTime   time.Time
}

// RunSpec describes a run to create. Only ExperimentID is required.
type RunSpec struct {
	ExperimentID string
	// Name defaults to "run-" and the first 8 characters of the run id.
	Name string
	// ParentRunID makes the run a child (nested run); the parent must exist
	// in the same experiment.
	ParentRunID string
	// SourceNotebook is the path of the notebook that started the run.
	SourceNotebook string
	Tags           map[string]string
	// StartTime defaults to now.
	StartTime time.Time
	// Status defaults to RUNNING.
	Status RunStatus
}

// RunUpdate changes a run; zero fields are left unchanged.
type RunUpdate struct {
	Status RunStatus
	// EndTime defaults to now when Status is terminal.
	EndTime time.Time
	Name    string
}

// Run is one execution: its attributes, the latest value of each metric,
// its parameters, tags and dataset inputs.
type Run struct {
	ID             string
	ExperimentID   string
	Name           string
	Status         RunStatus
	StartTime      time.Time
	EndTime        time.Time // zero while the run is live
	ParentRunID    string
	SourceNotebook string
	// ArtifactURI is the experiment's artifact location + "/<run id>/artifacts".
	ArtifactURI    string
	LifecycleStage LifecycleStage
	// Metrics holds the latest value of each metric: the one with the
	// highest step, then the highest timestamp; a tie goes to the last logged.
	Metrics map[string]Metric
	Params  map[string]string
	Tags    map[string]string
	Inputs  []DatasetInput
}

// Metric is one logged value of a metric.
type Metric struct {
	Key   string
	Value float64
	// Timestamp is milliseconds since the Unix epoch; 0 means now.
	Timestamp int64
	Step      int64
}

// MetricPoint is one point of a metric's history.
type MetricPoint struct {
	Step      int64
	Timestamp int64 // milliseconds since the Unix epoch
	Value     float64
}

// MetricSeries is the history of one metric of one run, ordered by step,
// then timestamp, then the order of logging.
type MetricSeries struct {
	RunID  string
	Key    string
	Points []MetricPoint
}

// Param is a run parameter. A parameter is written once: logging it again
// with another value is an Invalid error; the same value again is fine.
type Param struct {
	Key   string
	Value string
}

// Tag is a settable key/value label of a run or an experiment.
type Tag struct {
	Key   string
	Value string
}

// DatasetInput records a dataset a run read. (Name, Digest) identifies it
// within the run; logging it again is a no-op.
type DatasetInput struct {
	Name   string
	Digest string
	// SourceType says what Source is, e.g. "s3", "local", "http".
	SourceType string
	// Source is the dataset's URL.
	Source string
	// Schema and Profile are optional JSON documents.
	Schema  string
	Profile string
	// Context says how the run used it, e.g. "training" or "validation".
	Context string
}

// SearchRunsRequest selects, orders and pages runs.
type SearchRunsRequest struct {
	// ExperimentIDs to search; at least one.
	ExperimentIDs []string
	// Filter in MLflow's grammar, e.g.
	// "metrics.accuracy > 0.9 and params.lr = '0.01'"; see ParseFilter.
	Filter string
	// OrderBy clauses, e.g. "metrics.accuracy DESC"; see ParseOrderBy.
	// Runs then come by start time, newest first, then by id.
	OrderBy []string
	// MaxResults is the page size: default 1000, at most 50000.
	MaxResults int
	// PageToken continues a previous search with the same request.
	PageToken string
	ViewType  ViewType
}

// Search limits.
const (
	DefaultMaxResults = 1000
	MaxMaxResults     = 50000
)

// Tracker is the tracking store. Its methods are safe for concurrent use,
// also by several processes sharing one database. Errors are *ferry.Error
// values with a Code: NotFound for an unknown experiment or run,
// AlreadyExists for a taken experiment name, Invalid for bad input (a
// param's second value, a malformed filter, a write to a deleted run).
type Tracker interface {
	CreateExperiment(ctx context.Context, name, artifactLocation string, tags map[string]string) (Experiment, error)
	GetExperiment(ctx context.Context, id string) (Experiment, error)
	GetExperimentByName(ctx context.Context, name string) (Experiment, error)
	ListExperiments(ctx context.Context, view ViewType) ([]Experiment, error)
	SetExperimentTag(ctx context.Context, id string, tag Tag) error
	DeleteExperiment(ctx context.Context, id string) error
	RestoreExperiment(ctx context.Context, id string) error

	CreateRun(ctx context.Context, spec RunSpec) (Run, error)
	GetRun(ctx context.Context, id string) (Run, error)
	UpdateRun(ctx context.Context, id string, u RunUpdate) (Run, error)
	DeleteRun(ctx context.Context, id string) error
	RestoreRun(ctx context.Context, id string) error

	// LogBatch writes metrics, params and tags of a run in one transaction:
	// all of them or none.
	LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error
	LogMetric(ctx context.Context, runID string, m Metric) error
	LogParam(ctx context.Context, runID string, p Param) error
	SetTag(ctx context.Context, runID string, t Tag) error
	LogInputs(ctx context.Context, runID string, inputs []DatasetInput) error

	// MetricHistory returns the histories of keys (all keys when empty) of
	// the runs, in the order of runIDs, then by key. Series without points
	// are left out.
	MetricHistory(ctx context.Context, runIDs []string, keys []string) ([]MetricSeries, error)
	// SearchRuns returns a page of runs and the token of the next page ("" at
	// the end).
	SearchRuns(ctx context.Context, req SearchRunsRequest) ([]Run, string, error)

	Close() error
}

// EnsureExperiment returns the id of the experiment named name, creating
// it when missing (another creator's race included); "" names the Default
// experiment.
func EnsureExperiment(ctx context.Context, tr Tracker, name string) (string, error) {
	if name == "" {
		return DefaultExperimentID, nil
	}
	exp, err := tr.GetExperimentByName(ctx, name)
	if ferry.IsNotFound(err) {
		exp, err = tr.CreateExperiment(ctx, name, "", nil)
		if ferry.ErrorCode(err) == ferry.AlreadyExists { // created meanwhile
			exp, err = tr.GetExperimentByName(ctx, name)
		}
	}
	if err != nil {
		return "", err
	}
	return exp.ID, nil
}
