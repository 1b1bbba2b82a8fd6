package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
)

const (
	// pendingLimit is how many points of one metric wait as rows before
	// they move into a block.
	pendingLimit = 100
	// blockPoints is the size up to which new points are appended to a
	// metric's last block instead of starting a new one.
	blockPoints = 2048
)

// LogMetric logs one metric point.
func (t *Tracker) LogMetric(ctx context.Context, runID string, m storage.Metric) error {
	return t.LogBatch(ctx, runID, []storage.Metric{m}, nil, nil)
}

// LogParam logs a parameter.
func (t *Tracker) LogParam(ctx context.Context, runID string, p storage.Param) error {
	return t.LogBatch(ctx, runID, nil, []storage.Param{p}, nil)
}

// SetTag sets a run tag.
func (t *Tracker) SetTag(ctx context.Context, runID string, tag storage.Tag) error {
	return t.LogBatch(ctx, runID, nil, nil, []storage.Tag{tag})
}

// series is the points of one metric key in a batch.
type series struct {
	key    string
	points []storage.MetricPoint
	latest storage.MetricPoint
}

// LogBatch writes metrics, params and tags in one transaction.
func (t *Tracker) LogBatch(ctx context.Context, runID string, metrics []storage.Metric, params []storage.Param, tags []storage.Tag) error {
	// Validate everything before touching the database.
	ps, err := dedupParams(runID, params)
	if err != nil {
		return err
	}
	tagMap := map[string]string{}
	for _, tg := range tags {
		if err := checkKey("tag", tg.Key); err != nil {
			return err
		}
		if len(tg.Value) > maxTagValueLen {
			return ferry.Errorf(ferry.Invalid, "tag %q of run %s: value is %d bytes; the limit is %d", tg.Key, runID, len(tg.Value), maxTagValueLen)
		}
		tagMap[tg.Key] = tg.Value // the last value in the batch wins
	}
	ss, err := groupMetrics(metrics)
	if err != nil {
		return err
	}
	return t.inTx(ctx, func(tx *sql.Tx) error {
		if err := t.checkWritable(ctx, tx, runID); err != nil {
			return err
		}
		if err := t.putParams(ctx, tx, runID, ps); err != nil {
			return err
		}
		if err := t.putTags(ctx, tx, runID, tagsOf(tagMap)); err != nil {
			return err
		}
		return t.putMetrics(ctx, tx, runID, ss)
	})
}

func dedupParams(runID string, params []storage.Param) ([]storage.Param, error) {
	seen := make(map[string]string, len(params))
	out := make([]storage.Param, 0, len(params))
	for _, p := range params {
		if err := checkKey("param", p.Key); err != nil {
			return nil, err
		}
		if len(p.Value) > maxParamValueLen {
			return nil, ferry.Errorf(ferry.Invalid, "param %q of run %s: value is %d bytes; the limit is %d", p.Key, runID, len(p.Value), maxParamValueLen)
		}
		if old, ok := seen[p.Key]; ok {
			if old != p.Value {
				return nil, ferry.Errorf(ferry.Invalid, "param %q of run %s is given twice in the batch, as %q and %q: params are written once", p.Key, runID, old, p.Value)
			}
			continue
		}
		seen[p.Key] = p.Value
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func groupMetrics(metrics []storage.Metric) ([]*series, error) {
	if len(metrics) == 0 {
		return nil, nil
	}
	now := nowMs()
	byKey := map[string]*series{}
	var out []*series
	for _, m := range metrics {
		s := byKey[m.Key]
		if s == nil {
			if err := checkKey("metric", m.Key); err != nil {
				return nil, err
			}
			s = &series{key: m.Key}
			byKey[m.Key] = s
			out = append(out, s)
		}
		ts := m.Timestamp
		if ts == 0 {
			ts = now
		}
		p := storage.MetricPoint{Step: m.Step, Timestamp: ts, Value: m.Value}
		if len(s.points) == 0 || newer(p, s.latest) {
			s.latest = p
		}
		s.points = append(s.points, p)
	}
	// A fixed order of keys keeps concurrent writers from deadlocking.
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

// newer reports whether p replaces cur as the latest value: a higher step,
// or the same step and a timestamp at least as high.
func newer(p, cur storage.MetricPoint) bool {
	return p.Step > cur.Step || p.Step == cur.Step && p.Timestamp >= cur.Timestamp
}

// chunk calls fn for consecutive slices of n items with at most per items.
func chunk(n, per int, fn func(lo, hi int) error) error {
	if per < 1 {
		per = 1
	}
	for lo := 0; lo < n; lo += per {
		if err := fn(lo, min(lo+per, n)); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tracker) putParams(ctx context.Context, tx *sql.Tx, runID string, ps []storage.Param) error {
	return chunk(len(ps), t.d.MaxParams/3, func(lo, hi int) error {
		args := make([]any, 0, 3*(hi-lo))
		want := make(map[string]string, hi-lo)
		for _, p := range ps[lo:hi] {
			args = append(args, runID, p.Key, p.Value)
			want[p.Key] = p.Value
		}
		// DO UPDATE (to the same value) makes RETURNING report the stored
		// value of a param that already exists, race-free.
		rows, err := t.query(ctx, tx, `INSERT INTO params (run_id, key, value) VALUES `+rowsOf(hi-lo, 3)+`
ON CONFLICT (run_id, key) DO UPDATE SET value = params.value RETURNING key, value`, args...)
		if err != nil {
			return fmt.Errorf("log params of run %s: %w", runID, err)
		}
		defer rows.Close()
		var conflict error
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return fmt.Errorf("log params of run %s: %w", runID, err)
			}
			if conflict == nil && want[k] != v {
				conflict = ferry.Errorf(ferry.Invalid, "param %q of run %s already has value %q; cannot change it to %q: params are written once (log a new param or start a new run)", k, runID, v, want[k])
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("log params of run %s: %w", runID, err)
		}
		return conflict
	})
}

func (t *Tracker) putTags(ctx context.Context, tx *sql.Tx, runID string, tags []storage.Tag) error {
	return chunk(len(tags), t.d.MaxParams/3, func(lo, hi int) error {
		args := make([]any, 0, 3*(hi-lo))
		for _, tg := range tags[lo:hi] {
			args = append(args, runID, tg.Key, tg.Value)
		}
		if _, err := t.exec(ctx, tx, `INSERT INTO run_tags (run_id, key, value) VALUES `+rowsOf(hi-lo, 3)+`
ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`, args...); err != nil {
			return fmt.Errorf("set tags of run %s: %w", runID, err)
		}
		return nil
	})
}

// nullFloat returns v for the database, NULL for NaN.
func nullFloat(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t *Tracker) putMetrics(ctx context.Context, tx *sql.Tx, runID string, ss []*series) error {
	if len(ss) == 0 {
		return nil
	}
	// Update the latest values and the pending counts; RETURNING tells which
	// metrics now have enough pending points to pack into a block.
	pending := make(map[string]int, len(ss))
	err := chunk(len(ss), t.d.MaxParams/7, func(lo, hi int) error {
		args := make([]any, 0, 7*(hi-lo))
		for _, s := range ss[lo:hi] {
			l := s.latest
			args = append(args, runID, s.key, nullFloat(l.Value), boolInt(math.IsNaN(l.Value)), l.Step, l.Timestamp, len(s.points))
		}
		const isNewer = `(excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND excluded.ts >= latest_metrics.ts))`
		rows, err := t.query(ctx, tx, `INSERT INTO latest_metrics (run_id, key, value, is_nan, step, ts, pending) VALUES `+rowsOf(hi-lo, 7)+`
ON CONFLICT (run_id, key) DO UPDATE SET
	value = CASE WHEN `+isNewer+` THEN excluded.value ELSE latest_metrics.value END,
	is_nan = CASE WHEN `+isNewer+` THEN excluded.is_nan ELSE latest_metrics.is_nan END,
	step = CASE WHEN `+isNewer+` THEN excluded.step ELSE latest_metrics.step END,
	ts = CASE WHEN `+isNewer+` THEN excluded.ts ELSE latest_metrics.ts END,
	pending = latest_metrics.pending + excluded.pending
RETURNING key, pending`, args...)
		if err != nil {
			return fmt.Errorf("log metrics of run %s: %w", runID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				k string
				n int
			)
			if err := rows.Scan(&k, &n); err != nil {
				return fmt.Errorf("log metrics of run %s: %w", runID, err)
			}
			pending[k] = n
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	var (
		rowPoints []*series
		packs     []pack
	)
	for _, s := range ss {
		if n := pending[s.key]; n >= pendingLimit {
			packs = append(packs, pack{key: s.key, oldRows: n - len(s.points), extra: s.points})
			continue
		}
		rowPoints = append(rowPoints, s)
	}
	if err := t.compact(ctx, tx, runID, packs); err != nil {
		return err
	}
	return t.insertPoints(ctx, tx, runID, rowPoints)
}

func (t *Tracker) insertPoints(ctx context.Context, tx *sql.Tx, runID string, ss []*series) error {
	type pt struct {
		key string
		p   storage.MetricPoint
	}
	var all []pt
	for _, s := range ss {
		for _, p := range s.points {
			all = append(all, pt{s.key, p})
		}
	}
	return chunk(len(all), t.d.MaxParams/5, func(lo, hi int) error {
		args := make([]any, 0, 5*(hi-lo))
		for _, x := range all[lo:hi] {
			args = append(args, runID, x.key, x.p.Step, x.p.Timestamp, int64(math.Float64bits(x.p.Value)))
		}
		if _, err := t.exec(ctx, tx, `INSERT INTO metric_points (run_id, key, step, ts, bits) VALUES `+rowsOf(hi-lo, 5), args...); err != nil {
			return fmt.Errorf("log metrics of run %s: %w", runID, err)
		}
		return nil
	})
}

// pack says what compact moves into blocks for one metric: its pending
// rows (oldRows of them, 0 if none), then extra.
type pack struct {
	key     string
	oldRows int
	extra   []storage.MetricPoint
}

// lastBlock is the newest block of a metric.
type lastBlock struct {
	seq, n           int
	lastStep, lastTs int64
}

// compact moves the pending rows and extra points of metrics of a run into
// their blocks and zeroes their pending counts, in a few statements for all
// of them. The caller has updated the metrics' latest_metrics rows in this
// transaction, which serializes compactions of one metric.
func (t *Tracker) compact(ctx context.Context, tx *sql.Tx, runID string, packs []pack) error {
	if len(packs) == 0 {
		return nil
	}
	wrap := func(err error) error { return fmt.Errorf("pack metrics of run %s: %w", runID, err) }
	// At most MaxParams/2 keys per round, so that every statement fits.
	per := max(1, min(500, t.d.MaxParams/8))
	if len(packs) > per {
		return chunk(len(packs), per, func(lo, hi int) error { return t.compact(ctx, tx, runID, packs[lo:hi]) })
	}
	keyArgs := func(keys []string) []any {
		args := make([]any, 0, 1+len(keys))
		args = append(args, runID)
		for _, k := range keys {
			args = append(args, k)
		}
		return args
	}
	pts := make(map[string][]storage.MetricPoint, len(packs))
	var withRows, all []string
	for _, p := range packs {
		all = append(all, p.key)
		if p.oldRows > 0 {
			withRows = append(withRows, p.key)
		}
	}
	if len(withRows) > 0 {
		in := `run_id = ? AND key IN (` + placeholders(len(withRows)) + `)`
		err := t.eachRow(ctx, tx, `SELECT key, step, ts, bits FROM metric_points WHERE `+in+` ORDER BY key, id`, keyArgs(withRows), func(rows *sql.Rows) error {
			var (
				k    string
				p    storage.MetricPoint
				bits int64
			)
			if err := rows.Scan(&k, &p.Step, &p.Timestamp, &bits); err != nil {
				return err
			}
			p.Value = math.Float64frombits(uint64(bits))
			pts[k] = append(pts[k], p)
			return nil
		})
		if err != nil {
			return wrap(err)
		}
		if _, err := t.exec(ctx, tx, `DELETE FROM metric_points WHERE `+in, keyArgs(withRows)...); err != nil {
			return wrap(err)
		}
	}
	for _, p := range packs {
		pts[p.key] = append(pts[p.key], p.extra...)
	}

	// The newest block of each metric, without its data.
	in := `run_id = ? AND key IN (` + placeholders(len(all)) + `)`
	last := map[string]lastBlock{}
	err := t.eachRow(ctx, tx, `SELECT key, seq, n, last_step, last_ts FROM metric_blocks b WHERE `+in+`
AND seq = (SELECT MAX(seq) FROM metric_blocks m WHERE m.run_id = b.run_id AND m.key = b.key)`, keyArgs(all), func(rows *sql.Rows) error {
		var (
			k string
			l lastBlock
		)
		if err := rows.Scan(&k, &l.seq, &l.n, &l.lastStep, &l.lastTs); err != nil {
			return err
		}
		last[k] = l
		return nil
	})
	if err != nil {
		return wrap(err)
	}

	// Small newest blocks take the new points; other metrics get a new block.
	var merge []string
	var inserts []any
	newBlocks := 0
	for _, k := range all {
		p := pts[k]
		if len(p) == 0 {
			continue
		}
		l, ok := last[k]
		if ok && l.n+len(p) <= blockPoints {
			merge = append(merge, k)
			continue
		}
		seq := 0
		if ok {
			seq = l.seq + 1
		}
		data, ls, lt := appendPoints(nil, 0, 0, p)
		inserts = append(inserts, runID, k, seq, len(p), ls, lt, data)
		newBlocks++
	}
	if newBlocks > 0 {
		if _, err := t.exec(ctx, tx, `INSERT INTO metric_blocks (run_id, key, seq, n, last_step, last_ts, data) VALUES `+rowsOf(newBlocks, 7), inserts...); err != nil {
			return wrap(err)
		}
	}
	if len(merge) > 0 {
		var cond []string
		args := []any{runID}
		for _, k := range merge {
			cond = append(cond, "(key = ? AND seq = ?)")
			args = append(args, k, last[k].seq)
		}
		data := map[string][]byte{}
		err := t.eachRow(ctx, tx, `SELECT key, data FROM metric_blocks WHERE run_id = ? AND (`+strings.Join(cond, " OR ")+`)`, args, func(rows *sql.Rows) error {
			var (
				k string
				b []byte
			)
			if err := rows.Scan(&k, &b); err != nil {
				return err
			}
			data[k] = b
			return nil
		})
		if err != nil {
			return wrap(err)
		}
		for _, k := range merge {
			l, p := last[k], pts[k]
			b, ls, lt := appendPoints(data[k], l.lastStep, l.lastTs, p)
			if _, err := t.exec(ctx, tx, `UPDATE metric_blocks SET n = ?, last_step = ?, last_ts = ?, data = ? WHERE run_id = ? AND key = ? AND seq = ?`,
				l.n+len(p), ls, lt, b, runID, k, l.seq); err != nil {
				return wrap(err)
			}
		}
	}
	if _, err := t.exec(ctx, tx, `UPDATE latest_metrics SET pending = 0 WHERE `+in, keyArgs(all)...); err != nil {
		return wrap(err)
	}
	return nil
}

// compactRun packs every pending point of a run into blocks.
func (t *Tracker) compactRun(ctx context.Context, tx *sql.Tx, runID string) error {
	// Lock the run's metric rows first, as LogBatch does, then read the
	// counts.
	if _, err := t.exec(ctx, tx, `UPDATE latest_metrics SET pending = pending WHERE run_id = ? AND pending > 0`, runID); err != nil {
		return fmt.Errorf("pack metrics of run %s: %w", runID, err)
	}
	var packs []pack
	err := t.eachRow(ctx, tx, `SELECT key, pending FROM latest_metrics WHERE run_id = ? AND pending > 0 ORDER BY key`, []any{runID}, func(rows *sql.Rows) error {
		var p pack
		if err := rows.Scan(&p.key, &p.oldRows); err != nil {
			return err
		}
		packs = append(packs, p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("pack metrics of run %s: %w", runID, err)
	}
	return t.compact(ctx, tx, runID, packs)
}
