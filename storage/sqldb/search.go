package sqldb

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
)

// attributeColumns maps canonical attribute names to columns of runs.
var attributeColumns = map[string]string{
	storage.AttrRunID:          "r.run_id",
	storage.AttrRunName:        "r.name",
	storage.AttrStatus:         "r.status",
	storage.AttrStartTime:      "r.start_time",
	storage.AttrEndTime:        "r.end_time",
	storage.AttrArtifactURI:    "r.artifact_uri",
	storage.AttrParentRunID:    "r.parent_run_id",
	storage.AttrSourceNotebook: "r.source_notebook",
}

var datasetColumns = map[string]string{"name": "d.name", "digest": "d.digest", "context": "d.context"}

// SearchRuns returns a page of runs of the experiments matching the filter.
func (t *Tracker) SearchRuns(ctx context.Context, req storage.SearchRunsRequest) ([]storage.Run, string, error) {
	if len(req.ExperimentIDs) == 0 {
		return nil, "", ferry.Errorf(ferry.Invalid, "search runs: give at least one experiment id")
	}
	limit := req.MaxResults
	if limit == 0 {
		limit = storage.DefaultMaxResults
	}
	if limit < 0 || limit > storage.MaxMaxResults {
		return nil, "", ferry.Errorf(ferry.Invalid, "search runs: max results %d: use 1 to %d", limit, storage.MaxMaxResults)
	}
	offset, err := decodePageToken(req.PageToken)
	if err != nil {
		return nil, "", err
	}
	f, err := storage.ParseFilter(req.Filter)
	if err != nil {
		return nil, "", err
	}
	var (
		args  []any
		joins strings.Builder
		where strings.Builder
		order []string
	)
	exps := make([]string, 0, len(req.ExperimentIDs))
	for _, id := range req.ExperimentIDs {
		n, err := parseExperimentID(id)
		if err != nil {
			return nil, "", err
		}
		exps = append(exps, "?")
		args = append(args, n)
	}
	// Join arguments come first in the SQL text, so collect them apart.
	var joinArgs []any
	for i, s := range req.OrderBy {
		o, err := storage.ParseOrderBy(s)
		if err != nil {
			return nil, "", err
		}
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
		}
		var col string
		switch o.Entity {
		case storage.EntityAttribute:
			col = attributeColumns[o.Key]
		case storage.EntityMetric:
			a := "o" + strconv.Itoa(i)
			fmt.Fprintf(&joins, " LEFT JOIN latest_metrics %s ON %s.run_id = r.run_id AND %s.key = ?", a, a, a)
			joinArgs = append(joinArgs, o.Key)
			col = a + ".value"
		case storage.EntityParam, storage.EntityTag:
			a := "o" + strconv.Itoa(i)
			tbl := "params"
			if o.Entity == storage.EntityTag {
				tbl = "run_tags"
			}
			fmt.Fprintf(&joins, " LEFT JOIN %s %s ON %s.run_id = r.run_id AND %s.key = ?", tbl, a, a, a)
			joinArgs = append(joinArgs, o.Key)
			col = a + ".value"
		}
		// Missing values come last in both directions.
		order = append(order, "CASE WHEN "+col+" IS NULL THEN 1 ELSE 0 END", col+dir)
	}
	order = append(order, "r.start_time DESC", "r.run_id")

	fmt.Fprintf(&where, "r.experiment_id IN (%s) AND %s", strings.Join(exps, ", "), stageWhere("r.lifecycle_stage", req.ViewType))
	for _, c := range f.Clauses {
		cond, cargs, err := t.clauseSQL(c)
		if err != nil {
			return nil, "", err
		}
		where.WriteString(" AND ")
		where.WriteString(cond)
		args = append(args, cargs...)
	}
	q := `SELECT r.run_id FROM runs r` + joins.String() + ` WHERE ` + where.String() +
		` ORDER BY ` + strings.Join(order, ", ") + ` LIMIT ? OFFSET ?`
	all := append(joinArgs, args...)
	all = append(all, limit+1, offset)
	var (
		ids  []string
		runs []storage.Run
		more bool
	)
	err = t.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := t.query(ctx, tx, q, all...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) > limit {
			ids, more = ids[:limit], true
		}
		runs, err = t.loadRunsTx(ctx, tx, ids)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("search runs: %w", err)
	}
	next := ""
	if more {
		next = encodePageToken(offset + limit)
	}
	return runs, next, nil
}

// clauseSQL returns the condition of one filter clause over runs r.
func (t *Tracker) clauseSQL(c storage.Clause) (string, []any, error) {
	switch c.Entity {
	case storage.EntityAttribute:
		return t.compare(attributeColumns[c.Key], c)
	case storage.EntityMetric:
		cond, args, err := t.compare("m.value", c)
		return `EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_id = r.run_id AND m.key = ? AND ` + cond + `)`, append([]any{c.Key}, args...), err
	case storage.EntityParam, storage.EntityTag:
		tbl := "params"
		if c.Entity == storage.EntityTag {
			tbl = "run_tags"
		}
		cond, args, err := t.compare("x.value", c)
		return `EXISTS (SELECT 1 FROM ` + tbl + ` x WHERE x.run_id = r.run_id AND x.key = ? AND ` + cond + `)`, append([]any{c.Key}, args...), err
	case storage.EntityDataset:
		cond, args, err := t.compare(datasetColumns[c.Key], c)
		return `EXISTS (SELECT 1 FROM run_inputs d WHERE d.run_id = r.run_id AND ` + cond + `)`, args, err
	}
	return "", nil, ferry.Errorf(ferry.Invalid, "filter: unknown entity %q", c.Entity)
}

func (t *Tracker) compare(col string, c storage.Clause) (string, []any, error) {
	switch c.Op {
	case storage.OpEq, storage.OpNe, storage.OpGt, storage.OpGe, storage.OpLt, storage.OpLe:
		if c.Numeric {
			return col + " " + c.Op + " CAST(? AS DOUBLE PRECISION)", []any{c.Number}, nil
		}
		return col + " " + c.Op + " ?", []any{c.String}, nil
	case storage.OpLike:
		return col + ` LIKE ? ESCAPE '\'`, []any{c.String}, nil
	case storage.OpILike:
		return t.d.ilike(col, "?"), []any{c.String}, nil
	case storage.OpIn, storage.OpNotIn:
		args := make([]any, len(c.List))
		for i, s := range c.List {
			args[i] = s
		}
		return col + " " + c.Op + " (" + placeholders(len(c.List)) + ")", args, nil
	}
	return "", nil, ferry.Errorf(ferry.Invalid, "filter: unknown comparator %q", c.Op)
}

const pageTokenPrefix = "ferry-offset:"

func encodePageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pageTokenPrefix + strconv.Itoa(offset)))
}

func decodePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if s, ok := strings.CutPrefix(string(b), pageTokenPrefix); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				return n, nil
			}
		}
	}
	return 0, ferry.Errorf(ferry.Invalid, "search runs: invalid page token %q: pass the token a previous search returned", tok)
}
