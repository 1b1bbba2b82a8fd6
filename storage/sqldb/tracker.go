package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
)

// Options configure a Tracker.
type Options struct {
	// ArtifactRoot is the URL under which experiments created without an
	// artifact location keep their artifacts: <root>/<experiment id>.
	ArtifactRoot string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Tracker is a storage.Tracker over a SQL database.
type Tracker struct {
	db      *sql.DB
	d       Dialect
	root    string
	log     *slog.Logger
	version int
}

var _ storage.Tracker = (*Tracker)(nil)

// New migrates db to the current schema and returns a Tracker over it. The
// Tracker owns db: Close closes it.
func New(ctx context.Context, db *sql.DB, d Dialect, opts Options) (*Tracker, error) {
	if d.MaxParams <= 0 {
		d.MaxParams = 999
	}
	t := &Tracker{db: db, d: d, root: strings.TrimRight(opts.ArtifactRoot, "/"), log: opts.Logger}
	if t.log == nil {
		t.log = slog.Default()
	}
	v, err := t.migrate(ctx)
	if err != nil {
		return nil, err
	}
	t.version = v
	return t, nil
}

// ArtifactRoot returns the URL under which experiments created without an
// artifact location keep their artifacts (Options.ArtifactRoot).
func (t *Tracker) ArtifactRoot() string { return t.root }

// DB returns the underlying database.
func (t *Tracker) DB() *sql.DB { return t.db }

// SchemaVersion returns the schema version after migration.
func (t *Tracker) SchemaVersion() int { return t.version }

// Close closes the database.
func (t *Tracker) Close() error { return t.db.Close() }

// inTx runs fn in a transaction, retrying transient failures.
func (t *Tracker) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := t.tryTx(ctx, fn)
		if err == nil || attempt >= 8 || t.d.Retryable == nil || !t.d.Retryable(err) || ctx.Err() != nil {
			return err
		}
		t.log.Debug("sqldb: retrying transaction", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
}

func (t *Tracker) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (t *Tracker) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, t.d.rebind(query), args...)
}

func (t *Tracker) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, t.d.rebind(query), args...)
}

func (t *Tracker) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, t.d.rebind(query), args...)
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func nowMs() int64 { return time.Now().UnixMilli() }

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func timeMs(t time.Time) int64 {
	if t.IsZero() {
		return nowMs()
	}
	return t.UnixMilli()
}

// newRunID returns 32 random hex digits, like MLflow's run ids.
func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validName matches MLflow's rule for metric, param and tag keys.
var validName = regexp.MustCompile(`^[/\w.\- :]+$`)

const (
	maxKeyLen        = 250
	maxParamValueLen = 8000
	maxTagValueLen   = 8000
)

func checkKey(kind, key string) error {
	if key == "" {
		return ferry.Errorf(ferry.Invalid, "%s key is empty", kind)
	}
	if len(key) > maxKeyLen {
		return ferry.Errorf(ferry.Invalid, "%s key %.40q... is %d bytes long; the limit is %d", kind, key, len(key), maxKeyLen)
	}
	if !validName.MatchString(key) || strings.Contains(key, "..") || strings.HasPrefix(key, "/") {
		return ferry.Errorf(ferry.Invalid, "%s key %q: use letters, digits, _ - . / : and spaces (no leading /, no ..)", kind, key)
	}
	return nil
}

func parseExperimentID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return 0, ferry.Errorf(ferry.NotFound, "experiment %q not found: experiment ids are non-negative integers", id)
	}
	return n, nil
}

// ---- experiments ----

// CreateExperiment creates an active experiment. An empty artifactLocation
// means <ArtifactRoot>/<id>.
func (t *Tracker) CreateExperiment(ctx context.Context, name, artifactLocation string, tags map[string]string) (storage.Experiment, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return storage.Experiment{}, ferry.Errorf(ferry.Invalid, "create experiment: the name is empty")
	}
	for k, v := range tags {
		if err := checkKey("experiment tag", k); err != nil {
			return storage.Experiment{}, err
		}
		if len(v) > maxTagValueLen {
			return storage.Experiment{}, ferry.Errorf(ferry.Invalid, "experiment tag %q: value is %d bytes; the limit is %d", k, len(v), maxTagValueLen)
		}
	}
	var id int64
	err := t.inTx(ctx, func(tx *sql.Tx) error {
		now := nowMs()
		err := t.queryRow(ctx, tx, `INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
VALUES (?, ?, 'active', ?, ?) ON CONFLICT (name) DO NOTHING RETURNING experiment_id`, name, artifactLocation, now, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			var stage string
			if err := t.queryRow(ctx, tx, `SELECT lifecycle_stage FROM experiments WHERE name = ?`, name).Scan(&stage); err != nil {
				return fmt.Errorf("create experiment %q: %w", name, err)
			}
			if stage == string(storage.Deleted) {
				return ferry.Errorf(ferry.AlreadyExists, "experiment %q already exists in deleted state: restore it or choose another name", name)
			}
			return ferry.Errorf(ferry.AlreadyExists, "experiment %q already exists: choose another name", name)
		}
		if err != nil {
			return fmt.Errorf("create experiment %q: %w", name, err)
		}
		if artifactLocation == "" {
			loc := t.defaultLocation(id)
			if _, err := t.exec(ctx, tx, `UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?`, loc, id); err != nil {
				return fmt.Errorf("create experiment %q: %w", name, err)
			}
		}
		return t.putExperimentTags(ctx, tx, id, tags)
	})
	if err != nil {
		return storage.Experiment{}, err
	}
	return t.GetExperiment(ctx, strconv.FormatInt(id, 10))
}

func (t *Tracker) defaultLocation(id int64) string {
	return t.root + "/" + strconv.FormatInt(id, 10)
}

func (t *Tracker) putExperimentTags(ctx context.Context, tx *sql.Tx, id int64, tags map[string]string) error {
	for _, k := range sortedKeys(tags) {
		if _, err := t.exec(ctx, tx, `INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value`, id, k, tags[k]); err != nil {
			return fmt.Errorf("set experiment tag %q: %w", k, err)
		}
	}
	return nil
}

const experimentCols = `experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time`

func (t *Tracker) scanExperiment(s interface{ Scan(...any) error }) (storage.Experiment, int64, error) {
	var (
		e           storage.Experiment
		id          int64
		stage       string
		ctime, utim int64
	)
	if err := s.Scan(&id, &e.Name, &e.ArtifactLocation, &stage, &ctime, &utim); err != nil {
		return e, 0, err
	}
	e.ID = strconv.FormatInt(id, 10)
	if e.ArtifactLocation == "" {
		e.ArtifactLocation = t.defaultLocation(id)
	}
	e.LifecycleStage = storage.LifecycleStage(stage)
	e.CreationTime, e.LastUpdateTime = msTime(ctime), msTime(utim)
	e.Tags = map[string]string{}
	return e, id, nil
}

// GetExperiment returns an experiment, deleted or not.
func (t *Tracker) GetExperiment(ctx context.Context, id string) (storage.Experiment, error) {
	n, err := parseExperimentID(id)
	if err != nil {
		return storage.Experiment{}, err
	}
	return t.getExperiment(ctx, `experiment_id = ?`, n, fmt.Sprintf("experiment %s", id))
}

// GetExperimentByName returns an experiment by its name.
func (t *Tracker) GetExperimentByName(ctx context.Context, name string) (storage.Experiment, error) {
	return t.getExperiment(ctx, `name = ?`, name, fmt.Sprintf("experiment named %q", name))
}

func (t *Tracker) getExperiment(ctx context.Context, where string, arg any, what string) (storage.Experiment, error) {
	e, id, err := t.scanExperiment(t.queryRow(ctx, t.db, `SELECT `+experimentCols+` FROM experiments WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ferry.Errorf(ferry.NotFound, "%s not found", what)
	}
	if err != nil {
		return e, fmt.Errorf("get %s: %w", what, err)
	}
	rows, err := t.query(ctx, t.db, `SELECT key, value FROM experiment_tags WHERE experiment_id = ?`, id)
	if err != nil {
		return e, fmt.Errorf("get %s tags: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return e, err
		}
		e.Tags[k] = v
	}
	return e, rows.Err()
}

// ListExperiments returns experiments by id.
func (t *Tracker) ListExperiments(ctx context.Context, view storage.ViewType) ([]storage.Experiment, error) {
	where := stageWhere("lifecycle_stage", view)
	rows, err := t.query(ctx, t.db, `SELECT `+experimentCols+` FROM experiments WHERE `+where+` ORDER BY experiment_id`)
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	var out []storage.Experiment
	byID := map[int64]int{}
	for rows.Next() {
		e, id, err := t.scanExperiment(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		byID[id] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	trows, err := t.query(ctx, t.db, `SELECT experiment_id, key, value FROM experiment_tags`)
	if err != nil {
		return nil, fmt.Errorf("list experiment tags: %w", err)
	}
	defer trows.Close()
	for trows.Next() {
		var (
			id   int64
			k, v string
		)
		if err := trows.Scan(&id, &k, &v); err != nil {
			return nil, err
		}
		if i, ok := byID[id]; ok {
			out[i].Tags[k] = v
		}
	}
	return out, trows.Err()
}

func stageWhere(col string, view storage.ViewType) string {
	switch view {
	case storage.DeletedOnly:
		return col + " = 'deleted'"
	case storage.All:
		return "1 = 1"
	default:
		return col + " = 'active'"
	}
}

// SetExperimentTag sets a tag of an experiment.
func (t *Tracker) SetExperimentTag(ctx context.Context, id string, tag storage.Tag) error {
	n, err := parseExperimentID(id)
	if err != nil {
		return err
	}
	if err := checkKey("experiment tag", tag.Key); err != nil {
		return err
	}
	if len(tag.Value) > maxTagValueLen {
		return ferry.Errorf(ferry.Invalid, "experiment tag %q: value is %d bytes; the limit is %d", tag.Key, len(tag.Value), maxTagValueLen)
	}
	return t.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := t.experimentStage(ctx, tx, n); err != nil {
			return err
		}
		return t.putExperimentTags(ctx, tx, n, map[string]string{tag.Key: tag.Value})
	})
}

func (t *Tracker) experimentStage(ctx context.Context, q querier, id int64) (storage.LifecycleStage, error) {
	var stage string
	err := t.queryRow(ctx, q, `SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?`, id).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ferry.Errorf(ferry.NotFound, "experiment %d not found", id)
	}
	if err != nil {
		return "", fmt.Errorf("get experiment %d: %w", id, err)
	}
	return storage.LifecycleStage(stage), nil
}

// DeleteExperiment soft-deletes an experiment and its runs.
func (t *Tracker) DeleteExperiment(ctx context.Context, id string) error {
	return t.setExperimentStage(ctx, id, storage.Deleted)
}

// RestoreExperiment restores a deleted experiment and the runs deleted with it.
func (t *Tracker) RestoreExperiment(ctx context.Context, id string) error {
	return t.setExperimentStage(ctx, id, storage.Active)
}

func (t *Tracker) setExperimentStage(ctx context.Context, id string, stage storage.LifecycleStage) error {
	n, err := parseExperimentID(id)
	if err != nil {
		return err
	}
	if stage == storage.Deleted && id == storage.DefaultExperimentID {
		return ferry.Errorf(ferry.Invalid, "the Default experiment (id 0) cannot be deleted")
	}
	return t.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := t.experimentStage(ctx, tx, n)
		if err != nil {
			return err
		}
		if cur == stage {
			return ferry.Errorf(ferry.Invalid, "experiment %s is already %s", id, stage)
		}
		now := nowMs()
		if _, err := t.exec(ctx, tx, `UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?`, string(stage), now, n); err != nil {
			return fmt.Errorf("set experiment %s %s: %w", id, stage, err)
		}
		// Runs follow their experiment: deleting marks the active ones with
		// the experiment's deletion time, restoring brings back exactly those.
		if stage == storage.Deleted {
			_, err = t.exec(ctx, tx, `UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE experiment_id = ? AND lifecycle_stage = 'active'`, -now, n)
		} else {
			_, err = t.exec(ctx, tx, `UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = ? AND lifecycle_stage = 'deleted' AND deleted_time < 0`, n)
		}
		if err != nil {
			return fmt.Errorf("set runs of experiment %s %s: %w", id, stage, err)
		}
		return nil
	})
}

// ---- runs ----

// CreateRun creates a run in an active experiment.
func (t *Tracker) CreateRun(ctx context.Context, spec storage.RunSpec) (storage.Run, error) {
	expID, err := parseExperimentID(spec.ExperimentID)
	if err != nil {
		return storage.Run{}, err
	}
	status := spec.Status
	if status == "" {
		status = storage.RunRunning
	}
	if !status.Valid() {
		return storage.Run{}, ferry.Errorf(ferry.Invalid, "run status %q: use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", status)
	}
	for k, v := range spec.Tags {
		if err := checkKey("tag", k); err != nil {
			return storage.Run{}, err
		}
		if len(v) > maxTagValueLen {
			return storage.Run{}, ferry.Errorf(ferry.Invalid, "create run: tag %q: value is %d bytes; the limit is %d", k, len(v), maxTagValueLen)
		}
	}
	id := newRunID()
	name := spec.Name
	if name == "" {
		name = "run-" + id[:8]
	}
	start := timeMs(spec.StartTime)
	var end any
	if status.Terminal() {
		end = start
	}
	err = t.inTx(ctx, func(tx *sql.Tx) error {
		var (
			stage string
			loc   string
		)
		err := t.queryRow(ctx, tx, `SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?`, expID).Scan(&stage, &loc)
		if errors.Is(err, sql.ErrNoRows) {
			return ferry.Errorf(ferry.NotFound, "create run: experiment %s not found", spec.ExperimentID)
		}
		if err != nil {
			return fmt.Errorf("create run: %w", err)
		}
		if stage != string(storage.Active) {
			return ferry.Errorf(ferry.Invalid, "create run: experiment %s is deleted: restore it first", spec.ExperimentID)
		}
		if loc == "" {
			loc = t.defaultLocation(expID)
		}
		if spec.ParentRunID != "" {
			var parentExp int64
			err := t.queryRow(ctx, tx, `SELECT experiment_id FROM runs WHERE run_id = ?`, spec.ParentRunID).Scan(&parentExp)
			if errors.Is(err, sql.ErrNoRows) {
				return ferry.Errorf(ferry.NotFound, "create run: parent run %s not found", spec.ParentRunID)
			}
			if err != nil {
				return fmt.Errorf("create run: %w", err)
			}
			if parentExp != expID {
				return ferry.Errorf(ferry.Invalid, "create run: parent run %s is in experiment %d, not %d", spec.ParentRunID, parentExp, expID)
			}
		}
		artifactURI := strings.TrimRight(loc, "/") + "/" + id + "/artifacts"
		if _, err := t.exec(ctx, tx, `INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time, parent_run_id, source_notebook, artifact_uri, lifecycle_stage)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')`, id, expID, name, string(status), start, end, spec.ParentRunID, spec.SourceNotebook, artifactURI); err != nil {
			return fmt.Errorf("create run: %w", err)
		}
		return t.putTags(ctx, tx, id, tagsOf(spec.Tags))
	})
	if err != nil {
		return storage.Run{}, err
	}
	return t.GetRun(ctx, id)
}

func tagsOf(m map[string]string) []storage.Tag {
	out := make([]storage.Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, storage.Tag{Key: k, Value: m[k]})
	}
	return out
}

// GetRun returns a run with its latest metrics, params, tags and inputs.
func (t *Tracker) GetRun(ctx context.Context, id string) (storage.Run, error) {
	runs, err := t.loadRuns(ctx, []string{id})
	if err != nil {
		return storage.Run{}, err
	}
	if len(runs) == 0 {
		return storage.Run{}, ferry.Errorf(ferry.NotFound, "run %s not found", id)
	}
	return runs[0], nil
}

// UpdateRun changes a run's status, end time or name. A terminal status
// also moves the run's pending metric points into blocks.
func (t *Tracker) UpdateRun(ctx context.Context, id string, u storage.RunUpdate) (storage.Run, error) {
	if u.Status != "" && !u.Status.Valid() {
		return storage.Run{}, ferry.Errorf(ferry.Invalid, "update run %s: status %q: use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", id, u.Status)
	}
	err := t.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := t.runStage(ctx, tx, id); err != nil {
			return err
		}
		if u.Name != "" {
			if _, err := t.exec(ctx, tx, `UPDATE runs SET name = ? WHERE run_id = ?`, u.Name, id); err != nil {
				return fmt.Errorf("update run %s: %w", id, err)
			}
		}
		if u.Status != "" {
			var end any
			if u.Status.Terminal() || !u.EndTime.IsZero() {
				end = timeMs(u.EndTime)
			}
			if _, err := t.exec(ctx, tx, `UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?`, string(u.Status), end, id); err != nil {
				return fmt.Errorf("update run %s: %w", id, err)
			}
			if u.Status.Terminal() {
				return t.compactRun(ctx, tx, id)
			}
		} else if !u.EndTime.IsZero() {
			if _, err := t.exec(ctx, tx, `UPDATE runs SET end_time = ? WHERE run_id = ?`, timeMs(u.EndTime), id); err != nil {
				return fmt.Errorf("update run %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return storage.Run{}, err
	}
	return t.GetRun(ctx, id)
}

func (t *Tracker) runStage(ctx context.Context, q querier, id string) (storage.LifecycleStage, error) {
	var stage string
	err := t.queryRow(ctx, q, `SELECT lifecycle_stage FROM runs WHERE run_id = ?`, id).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ferry.Errorf(ferry.NotFound, "run %s not found", id)
	}
	if err != nil {
		return "", fmt.Errorf("get run %s: %w", id, err)
	}
	return storage.LifecycleStage(stage), nil
}

// DeleteRun soft-deletes a run.
func (t *Tracker) DeleteRun(ctx context.Context, id string) error {
	return t.setRunStage(ctx, id, storage.Deleted)
}

// RestoreRun restores a deleted run.
func (t *Tracker) RestoreRun(ctx context.Context, id string) error {
	return t.setRunStage(ctx, id, storage.Active)
}

func (t *Tracker) setRunStage(ctx context.Context, id string, stage storage.LifecycleStage) error {
	return t.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := t.runStage(ctx, tx, id); err != nil {
			return err
		}
		var deleted any
		if stage == storage.Deleted {
			deleted = nowMs()
		}
		if _, err := t.exec(ctx, tx, `UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_id = ?`, string(stage), deleted, id); err != nil {
			return fmt.Errorf("set run %s %s: %w", id, stage, err)
		}
		return nil
	})
}

// LogInputs records datasets the run read.
func (t *Tracker) LogInputs(ctx context.Context, runID string, inputs []storage.DatasetInput) error {
	for _, in := range inputs {
		if in.Name == "" || in.Digest == "" {
			return ferry.Errorf(ferry.Invalid, "log inputs of run %s: a dataset needs a name and a digest (got name %q, digest %q)", runID, in.Name, in.Digest)
		}
	}
	return t.inTx(ctx, func(tx *sql.Tx) error {
		if err := t.checkWritable(ctx, tx, runID); err != nil {
			return err
		}
		for _, in := range inputs {
			if _, err := t.exec(ctx, tx, `INSERT INTO run_inputs (run_id, name, digest, source_type, source, schema_json, profile_json, context)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, name, digest) DO NOTHING`,
				runID, in.Name, in.Digest, in.SourceType, in.Source, in.Schema, in.Profile, in.Context); err != nil {
				return fmt.Errorf("log input %s of run %s: %w", in.Name, runID, err)
			}
		}
		return nil
	})
}

// checkWritable fails unless the run exists and is active.
func (t *Tracker) checkWritable(ctx context.Context, q querier, runID string) error {
	stage, err := t.runStage(ctx, q, runID)
	if err != nil {
		return err
	}
	if stage != storage.Active {
		return ferry.Errorf(ferry.Invalid, "run %s is deleted: restore it before logging to it", runID)
	}
	return nil
}
