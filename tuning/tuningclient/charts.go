package tuningclient

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/tuning"
)

// TrialsTable is the table of a study's trials: state, parameters, the
// objective (the best trial's marked) and the additional metrics.
func TrialsTable(st tuning.Study) display.Table {
	o := st.Spec.Objective
	cols := []string{"trial", "state"}
	for _, p := range st.Spec.Space {
		cols = append(cols, p.Name)
	}
	cols = append(cols, o.Metric)
	extra := slices.Clone(o.AdditionalMetrics)
	for _, t := range st.Trials {
		for k := range t.Metrics {
			if !slices.Contains(extra, k) {
				extra = append(extra, k)
			}
		}
	}
	cols = append(cols, extra...)
	cols = append(cols, "duration")
	best, hasBest := st.Best()
	tbl := display.Table{Columns: cols, Caption: Status(st)}
	for _, t := range st.Trials {
		row := []any{t.Name, string(t.State)}
		for _, a := range t.Assignments {
			row = append(row, a.Value)
		}
		if t.Value != nil {
			row = append(row, *t.Value)
		} else if n := len(t.Reports); n > 0 {
			row = append(row, fmt.Sprintf("%.4g (step %d)", t.Reports[n-1].Loss, t.Reports[n-1].Step))
		} else {
			row = append(row, nil)
		}
		for _, k := range extra {
			if v, ok := t.Metrics[k]; ok {
				row = append(row, v)
			} else {
				row = append(row, nil)
			}
		}
		row = append(row, trialDuration(t))
		marks := make([]bool, len(row))
		if hasBest && t.Name == best.Name {
			marks[2+len(st.Spec.Space)] = true
		}
		tbl.Rows = append(tbl.Rows, row)
		tbl.Marked = append(tbl.Marked, marks)
	}
	return tbl
}

func trialDuration(t tuning.Trial) string {
	if t.Started.IsZero() {
		return ""
	}
	end := t.Finished
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(t.Started).Round(10 * time.Millisecond).String()
}

// Status is a one-line summary of a study: state, trial counts, best.
func Status(st tuning.Study) string {
	c := st.Count()
	var parts []string
	for _, s := range []tuning.TrialState{tuning.Running, tuning.Created, tuning.Succeeded, tuning.EarlyStopped, tuning.Failed, tuning.MetricsUnavailable, tuning.Killed} {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], strings.ToLower(string(s))))
		}
	}
	line := fmt.Sprintf("%s %s: %d/%d trials", st.Spec.Name, st.State, len(st.Trials), st.Spec.MaxTrials)
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	if best, ok := st.Best(); ok {
		line += fmt.Sprintf("; best %s = %.6g (%s: %s)", st.Spec.Objective.Metric, *best.Value, best.Name, assignments(best.Assignments))
	}
	if st.Message != "" && st.State != tuning.StudyRunning {
		line += "; " + st.Message
	}
	return line
}

func assignments(as []tuning.Assignment) string {
	var b strings.Builder
	for i, a := range as {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Name + "=" + a.Value)
	}
	return b.String()
}

// BestSoFar is a Vega-Lite chart of each trial's result against its
// number, with the best result so far as a step line.
func BestSoFar(st tuning.Study) map[string]any {
	o := st.Spec.Objective
	var rows []map[string]any
	var best *float64
	for _, t := range st.Trials {
		if t.Value == nil || !t.State.HasResult() {
			continue
		}
		v := *t.Value
		if best == nil || o.Better(v, *best) {
			best = &v
		}
		rows = append(rows, map[string]any{"trial": t.Index, "name": t.Name, "value": v, "best": *best, "state": string(t.State)})
	}
	if rows == nil {
		rows = []map[string]any{}
	}
	return map[string]any{
		"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
		"title":   fmt.Sprintf("%s: %s by trial (%s)", st.Spec.Name, o.Metric, o.Direction),
		"width":   360, "height": 200,
		"data": map[string]any{"values": rows},
		"layer": []any{
			map[string]any{
				"mark": map[string]any{"type": "point", "filled": true},
				"encoding": map[string]any{
					"x":       map[string]any{"field": "trial", "type": "quantitative", "title": "trial"},
					"y":       map[string]any{"field": "value", "type": "quantitative", "title": o.Metric, "scale": map[string]any{"zero": false}},
					"color":   map[string]any{"field": "state", "type": "nominal"},
					"tooltip": []any{map[string]any{"field": "name"}, map[string]any{"field": "value"}, map[string]any{"field": "state"}},
				},
			},
			map[string]any{
				"mark": map[string]any{"type": "line", "interpolate": "step-after", "color": "#d62728"},
				"encoding": map[string]any{
					"x": map[string]any{"field": "trial", "type": "quantitative"},
					"y": map[string]any{"field": "best", "type": "quantitative", "title": "best so far"},
				},
			},
		},
	}
}

// ParallelCoordinates is a Vega-Lite chart with one line per trial with a
// result across the parameters (each scaled to [0, 1] as the algorithms
// see it: log parameters on a log scale, choices by their order), colored
// by the objective.
func ParallelCoordinates(st tuning.Study) map[string]any {
	o := st.Spec.Objective
	var rows []map[string]any
	for _, t := range st.Trials {
		if t.Value == nil || !t.State.HasResult() || len(t.Point) != len(st.Spec.Space) {
			continue
		}
		for i, p := range st.Spec.Space {
			rows = append(rows, map[string]any{"trial": t.Name, "param": p.Name, "order": i,
				"scaled": p.ToUnit(t.Point[i]), "value": t.Assignments[i].Value, o.Metric: *t.Value})
		}
	}
	if rows == nil {
		rows = []map[string]any{}
	}
	names := make([]any, len(st.Spec.Space))
	for i, p := range st.Spec.Space {
		names[i] = p.Name
	}
	return map[string]any{
		"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
		"title":   fmt.Sprintf("%s: parameters of each trial, colored by %s", st.Spec.Name, o.Metric),
		"width":   max(120*len(names), 240), "height": 200,
		"data": map[string]any{"values": rows},
		"mark": map[string]any{"type": "line", "opacity": 0.7, "point": true},
		"encoding": map[string]any{
			"x":      map[string]any{"field": "param", "type": "nominal", "sort": names, "title": nil},
			"y":      map[string]any{"field": "scaled", "type": "quantitative", "title": "scaled value", "scale": map[string]any{"domain": []any{0, 1}}},
			"detail": map[string]any{"field": "trial", "type": "nominal"},
			"color": map[string]any{"field": o.Metric, "type": "quantitative",
				"scale": map[string]any{"scheme": "viridis", "reverse": o.Direction == tuning.Maximize}},
			"tooltip": []any{map[string]any{"field": "trial"}, map[string]any{"field": "param"}, map[string]any{"field": "value"}, map[string]any{"field": o.Metric}},
		},
	}
}

// Summary is the one-row table of a finished study: state, trials, best
// value and parameters.
func Summary(st tuning.Study) display.Table {
	c := st.Count()
	cols := []string{"study", "state", "trials", "succeeded", "early stopped", "failed"}
	row := []any{st.Spec.Name, string(st.State), len(st.Trials), c[tuning.Succeeded], c[tuning.EarlyStopped], c[tuning.Failed]}
	if best, ok := st.Best(); ok {
		cols = append(cols, "best trial", "best "+st.Spec.Objective.Metric)
		row = append(row, best.Name, *best.Value)
		params := map[string]string{}
		for _, a := range best.Assignments {
			params[a.Name] = a.Value
		}
		for _, k := range slices.Sorted(maps.Keys(params)) {
			cols = append(cols, k)
			row = append(row, params[k])
		}
	}
	t := display.Table{Columns: cols, Rows: [][]any{row}}
	if st.Message != "" {
		t.Caption = st.Reason + ": " + st.Message
	}
	return t
}
