package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
)

// historyChunk is how many runs one history query covers; chunks are read
// in parallel.
const historyChunk = 100

type seriesKey struct{ run, key string }

// MetricHistory returns the histories of keys (all when empty) of runs.
func (t *Tracker) MetricHistory(ctx context.Context, runIDs []string, keys []string) ([]storage.MetricSeries, error) {
	ids := dedup(runIDs)
	keys = dedup(keys)
	if len(ids) == 0 {
		return nil, nil
	}
	per := min(historyChunk, t.d.MaxParams-len(keys))
	if per < 1 {
		return nil, ferry.Errorf(ferry.Invalid, "metric history: %d keys is too many for one request", len(keys))
	}
	type part struct {
		series map[seriesKey][]storage.MetricPoint
		found  map[string]bool
		err    error
	}
	nparts := (len(ids) + per - 1) / per
	parts := make([]part, nparts)
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), nparts) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				lo, hi := i*per, min((i+1)*per, len(ids))
				parts[i].series, parts[i].found, parts[i].err = t.historyChunk(ctx, ids[lo:hi], keys)
			}
		}()
	}
	for i := range nparts {
		work <- i
	}
	close(work)
	wg.Wait()

	var out []storage.MetricSeries
	for i, p := range parts {
		if p.err != nil {
			return nil, p.err
		}
		lo, hi := i*per, min((i+1)*per, len(ids))
		for _, id := range ids[lo:hi] {
			if !p.found[id] {
				return nil, ferry.Errorf(ferry.NotFound, "metric history: run %s not found", id)
			}
		}
		start := len(out)
		for k, pts := range p.series {
			out = append(out, storage.MetricSeries{RunID: k.run, Key: k.key, Points: pts})
		}
		rank := make(map[string]int, hi-lo)
		for j, id := range ids[lo:hi] {
			rank[id] = j
		}
		mine := out[start:]
		sort.Slice(mine, func(a, b int) bool {
			ra, rb := rank[mine[a].RunID], rank[mine[b].RunID]
			if ra != rb {
				return ra < rb
			}
			return mine[a].Key < mine[b].Key
		})
	}
	return out, nil
}

func dedup(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(xs))
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// historyChunk reads the histories of some runs in one read transaction:
// a consistent snapshot, so that points packed into a block between its
// queries are neither lost nor read twice.
func (t *Tracker) historyChunk(ctx context.Context, ids, keys []string) (series map[seriesKey][]storage.MetricPoint, found map[string]bool, err error) {
	err = t.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		series, found, err = t.historyChunkTx(ctx, tx, ids, keys)
		return err
	})
	return series, found, err
}

func (t *Tracker) historyChunkTx(ctx context.Context, tx *sql.Tx, ids, keys []string) (map[seriesKey][]storage.MetricPoint, map[string]bool, error) {
	args := make([]any, 0, len(ids)+len(keys))
	for _, id := range ids {
		args = append(args, id)
	}
	where := `run_id IN (` + placeholders(len(ids)) + `)`
	found := make(map[string]bool, len(ids))
	rows, err := t.query(ctx, tx, `SELECT run_id FROM runs WHERE `+where, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("metric history: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("metric history: %w", err)
		}
		found[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("metric history: %w", err)
	}
	if len(keys) > 0 {
		where += ` AND key IN (` + placeholders(len(keys)) + `)`
		for _, k := range keys {
			args = append(args, k)
		}
	}
	out := map[seriesKey][]storage.MetricPoint{}

	rows, err = t.query(ctx, tx, `SELECT run_id, key, n, data FROM metric_blocks WHERE `+where+` ORDER BY run_id, key, seq`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("metric history: %w", err)
	}
	var (
		cur  seriesKey
		pts  []storage.MetricPoint
		have bool
	)
	flush := func() {
		if have {
			out[cur] = pts
		}
	}
	for rows.Next() {
		var (
			k    seriesKey
			n    int
			data sql.RawBytes
		)
		if err := rows.Scan(&k.run, &k.key, &n, &data); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("metric history: %w", err)
		}
		if !have || k != cur {
			flush()
			cur, have = k, true
			pts = make([]storage.MetricPoint, 0, n)
		}
		if pts, err = decodePoints(pts, data, n); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("metric history: metric %q of run %s: %w", k.key, k.run, err)
		}
	}
	flush()
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("metric history: %w", err)
	}

	rows, err = t.query(ctx, tx, `SELECT run_id, key, step, ts, bits FROM metric_points WHERE `+where+` ORDER BY run_id, key, id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("metric history: %w", err)
	}
	have = false
	for rows.Next() {
		var (
			k    seriesKey
			p    storage.MetricPoint
			bits int64
		)
		if err := rows.Scan(&k.run, &k.key, &p.Step, &p.Timestamp, &bits); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("metric history: %w", err)
		}
		p.Value = math.Float64frombits(uint64(bits))
		if !have || k != cur {
			flush()
			cur, have = k, true
			pts = out[k]
		}
		pts = append(pts, p)
	}
	flush()
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("metric history: %w", err)
	}
	for _, pts := range out {
		sortPoints(pts)
	}
	return out, found, nil
}

// sortPoints orders points by step, then timestamp, keeping the logging
// order of ties.
func sortPoints(pts []storage.MetricPoint) {
	less := func(a, b storage.MetricPoint) bool {
		return a.Step < b.Step || a.Step == b.Step && a.Timestamp < b.Timestamp
	}
	for i := 1; i < len(pts); i++ {
		if less(pts[i], pts[i-1]) {
			sort.SliceStable(pts, func(a, b int) bool { return less(pts[a], pts[b]) })
			return
		}
	}
}

// loadRuns returns the runs with the given ids, in that order, with their
// data; unknown ids are left out.
func (t *Tracker) loadRuns(ctx context.Context, ids []string) (runs []storage.Run, err error) {
	err = t.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		runs, err = t.loadRunsTx(ctx, tx, ids)
		return err
	})
	return runs, err
}

func (t *Tracker) loadRunsTx(ctx context.Context, q querier, ids []string) ([]storage.Run, error) {
	ids = dedup(ids)
	byID := make(map[string]*storage.Run, len(ids))
	runs := make([]storage.Run, 0, len(ids))
	err := chunk(len(ids), min(500, t.d.MaxParams), func(lo, hi int) error {
		args := make([]any, hi-lo)
		for i, id := range ids[lo:hi] {
			args[i] = id
		}
		in := `run_id IN (` + placeholders(hi-lo) + `)`
		rows, err := t.query(ctx, q, `SELECT run_id, experiment_id, name, status, start_time, end_time, parent_run_id, source_notebook, artifact_uri, lifecycle_stage
FROM runs WHERE `+in, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				r            storage.Run
				exp          int64
				status       string
				stage        string
				start        int64
				end          sql.NullInt64
				parent, note string
			)
			if err := rows.Scan(&r.ID, &exp, &r.Name, &status, &start, &end, &parent, &note, &r.ArtifactURI, &stage); err != nil {
				rows.Close()
				return err
			}
			r.ExperimentID = strconv.FormatInt(exp, 10)
			r.Status = storage.RunStatus(status)
			r.LifecycleStage = storage.LifecycleStage(stage)
			r.StartTime = msTime(start)
			if end.Valid {
				r.EndTime = msTime(end.Int64)
			}
			r.ParentRunID, r.SourceNotebook = parent, note
			r.Metrics = map[string]storage.Metric{}
			r.Params = map[string]string{}
			r.Tags = map[string]string{}
			runs = append(runs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range runs {
			byID[runs[i].ID] = &runs[i]
		}
		if err := t.eachRow(ctx, q, `SELECT run_id, key, value, is_nan, step, ts FROM latest_metrics WHERE `+in, args, func(rows *sql.Rows) error {
			var (
				id    string
				m     storage.Metric
				v     sql.NullFloat64
				isNaN int
			)
			if err := rows.Scan(&id, &m.Key, &v, &isNaN, &m.Step, &m.Timestamp); err != nil {
				return err
			}
			m.Value = v.Float64
			if isNaN != 0 {
				m.Value = math.NaN()
			}
			if r := byID[id]; r != nil {
				r.Metrics[m.Key] = m
			}
			return nil
		}); err != nil {
			return err
		}
		for _, tbl := range []string{"params", "run_tags"} {
			if err := t.eachRow(ctx, q, `SELECT run_id, key, value FROM `+tbl+` WHERE `+in, args, func(rows *sql.Rows) error {
				var id, k, v string
				if err := rows.Scan(&id, &k, &v); err != nil {
					return err
				}
				if r := byID[id]; r != nil {
					if tbl == "params" {
						r.Params[k] = v
					} else {
						r.Tags[k] = v
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return t.eachRow(ctx, q, `SELECT run_id, name, digest, source_type, source, schema_json, profile_json, context FROM run_inputs WHERE `+in+` ORDER BY run_id, name, digest`, args, func(rows *sql.Rows) error {
			var (
				id string
				d  storage.DatasetInput
			)
			if err := rows.Scan(&id, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile, &d.Context); err != nil {
				return err
			}
			if r := byID[id]; r != nil {
				r.Inputs = append(r.Inputs, d)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load runs: %w", err)
	}
	order := make(map[string]int, len(ids))
	for i, id := range ids {
		order[id] = i
	}
	sort.Slice(runs, func(a, b int) bool { return order[runs[a].ID] < order[runs[b].ID] })
	return runs, nil
}

// readTx runs fn in a read-only transaction that sees one snapshot of the
// database (REPEATABLE READ on PostgreSQL; a deferred, read-only
// transaction on SQLite, which never waits for writers in WAL mode).
func (t *Tracker) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := t.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

func (t *Tracker) eachRow(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := t.query(ctx, q, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
