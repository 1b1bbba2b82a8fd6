package katib

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferryml/ferry/tuning"
)

// condition is one of Katib's status conditions.
type condition struct {
	Type, Status, Reason, Message string
}

func conditions(u *unstructured.Unstructured) []condition {
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var out []condition
	for _, c := range raw {
		m, _ := c.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		out = append(out, condition{str("type"), str("status"), str("reason"), str("message")})
	}
	return out
}

// trueCondition returns the condition of type typ if its status is True.
func trueCondition(cs []condition, typ string) (condition, bool) {
	for _, c := range cs {
		if c.Type == typ && c.Status == "True" {
			return c, true
		}
	}
	return condition{}, false
}

func timeAt(u *unstructured.Unstructured, fields ...string) time.Time {
	s, _, _ := unstructured.NestedString(u.Object, fields...)
	t, _ := time.Parse(time.RFC3339, s)
	return t.UTC()
}

// specOf returns the study's spec: the one saved at Create, else (an
// Experiment Ferry did not create) read from the Experiment's fields.
func specOf(exp *unstructured.Unstructured) tuning.Spec {
	var sp tuning.Spec
	if s, ok := exp.GetAnnotations()[AnnotationSpec]; ok && json.Unmarshal([]byte(s), &sp) == nil {
		sp.Name = exp.GetName()
		return sp
	}
	sp.Name = exp.GetName()
	o := exp.Object
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	obj, _, _ := unstructured.NestedMap(o, "spec", "objective")
	sp.Objective.Metric = str(obj, "objectiveMetricName")
	sp.Objective.Direction = tuning.Direction(str(obj, "type"))
	if g, ok := obj["goal"]; ok {
		if x, err := strconv.ParseFloat(strings.TrimSpace(jsonString(g)), 64); err == nil {
			sp.Objective.Goal = &x
		}
	}
	sp.Objective.AdditionalMetrics, _, _ = unstructured.NestedStringSlice(obj, "additionalMetricNames")
	// Katib's default strategy of the objective follows its type.
	sp.Objective.Strategy = tuning.Min
	if sp.Objective.Direction == tuning.Maximize {
		sp.Objective.Strategy = tuning.Max
	}
	strategies, _, _ := unstructured.NestedSlice(obj, "metricStrategies")
	for _, s := range strategies {
		m, _ := s.(map[string]any)
		if str(m, "name") == sp.Objective.Metric {
			sp.Objective.Strategy = tuning.Strategy(str(m, "value"))
		}
	}
	settings := func(path ...string) tuning.Settings {
		list, _, _ := unstructured.NestedSlice(o, path...)
		if len(list) == 0 {
			return nil
		}
		out := tuning.Settings{}
		for _, s := range list {
			m, _ := s.(map[string]any)
			out[str(m, "name")] = str(m, "value")
		}
		return out
	}
	sp.Algorithm.Name, _, _ = unstructured.NestedString(o, "spec", "algorithm", "algorithmName")
	sp.Algorithm.Settings = settings("spec", "algorithm", "algorithmSettings")
	if name, ok, _ := unstructured.NestedString(o, "spec", "earlyStopping", "algorithmName"); ok {
		sp.Early = &tuning.EarlyStopping{Name: name, Settings: settings("spec", "earlyStopping", "algorithmSettings")}
	}
	count := func(k string) int { n, _, _ := unstructured.NestedInt64(o, "spec", k); return int(n) }
	sp.ParallelTrials, sp.MaxTrials, sp.MaxFailedTrials = count("parallelTrialCount"), count("maxTrialCount"), count("maxFailedTrialCount")
	params, _, _ := unstructured.NestedSlice(o, "spec", "parameters")
	for _, p := range params {
		m, _ := p.(map[string]any)
		fs, _ := m["feasibleSpace"].(map[string]any)
		num := func(k string) float64 { x, _ := strconv.ParseFloat(str(fs, k), 64); return x }
		prm := tuning.Param{Name: str(m, "name"), Type: tuning.ParamType(str(m, "parameterType")),
			Min: num("min"), Max: num("max"), Step: num("step"), Distribution: tuning.Distribution(str(fs, "distribution"))}
		prm.Values, _, _ = unstructured.NestedStringSlice(fs, "list")
		sp.Space = append(sp.Space, prm)
	}
	return sp
}

func jsonString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Katib's reasons of a finished Experiment, as the runner's.
var reasons = map[string]string{
	"ExperimentMaxTrialsReached":       "MaxTrialsReached",
	"ExperimentGoalReached":            "GoalReached",
	"ExperimentSuggestionEndReached":   "SearchSpaceExhausted",
	"ExperimentMaxFailedTrialsReached": "MaxFailedTrialsReached",
}

// study returns the study of an Experiment and its Trials.
func study(exp *unstructured.Unstructured, trials []unstructured.Unstructured) tuning.Study {
	st := tuning.Study{Spec: specOf(exp), State: tuning.StudyRunning, Created: exp.GetCreationTimestamp().UTC(), Trials: []tuning.Trial{}}
	cs := conditions(exp)
	for _, s := range []struct {
		typ   string
		state tuning.StudyState
	}{{"Succeeded", tuning.StudySucceeded}, {"Failed", tuning.StudyFailed}} {
		if c, ok := trueCondition(cs, s.typ); ok {
			st.State, st.Reason, st.Message = s.state, cmp.Or(reasons[c.Reason], c.Reason), c.Message
			st.Finished = timeAt(exp, "status", "completionTime")
			break
		}
	}
	if st.State == tuning.StudyRunning && len(cs) > 0 {
		last := cs[len(cs)-1]
		st.Reason, st.Message = last.Reason, last.Message
	}
	sorted := slices.Clone(trials)
	slices.SortStableFunc(sorted, func(a, b unstructured.Unstructured) int {
		return cmp.Or(a.GetCreationTimestamp().Compare(b.GetCreationTimestamp().Time), strings.Compare(a.GetName(), b.GetName()))
	})
	for i := range sorted {
		st.Trials = append(st.Trials, trial(&st.Spec, &sorted[i], i+1))
	}
	return st
}

// Trial states by precedence: a final one wins over Running, Running over
// Created.
var trialStates = []tuning.TrialState{
	tuning.EarlyStopped, tuning.Succeeded, tuning.MetricsUnavailable, tuning.Killed, tuning.Failed, tuning.Running, tuning.Created,
}

// trial returns the trial of a Katib Trial, the index-th of its study.
func trial(sp *tuning.Spec, u *unstructured.Unstructured, index int) tuning.Trial {
	t := tuning.Trial{Name: u.GetName(), Index: index, Job: u.GetName(), State: tuning.Created,
		Created: u.GetCreationTimestamp().UTC(), Started: timeAt(u, "status", "startTime"), Finished: timeAt(u, "status", "completionTime")}
	as, _, _ := unstructured.NestedSlice(u.Object, "spec", "parameterAssignments")
	for _, a := range as {
		m, _ := a.(map[string]any)
		name, _ := m["name"].(string)
		t.Assignments = append(t.Assignments, tuning.Assignment{Name: name, Value: jsonString(m["value"])})
	}
	if p, err := sp.Space.ParseAssignments(t.Assignments); err == nil {
		t.Point = p
	}
	t.Labels, _, _ = unstructured.NestedStringMap(u.Object, "spec", "labels")
	cs := conditions(u)
	for _, s := range trialStates {
		if c, ok := trueCondition(cs, string(s)); ok {
			t.State, t.Message = s, c.Message
			break
		}
	}
	metrics, _, _ := unstructured.NestedSlice(u.Object, "status", "observation", "metrics")
	for _, m := range metrics {
		mm, _ := m.(map[string]any)
		name, _ := mm["name"].(string)
		val := func(k string) (float64, bool) {
			x, err := strconv.ParseFloat(strings.TrimSpace(jsonString(mm[k])), 64)
			return x, err == nil
		}
		if name == sp.Objective.Metric {
			k := "latest"
			switch sp.Objective.Strategy {
			case tuning.Min:
				k = "min"
			case tuning.Max:
				k = "max"
			}
			if x, ok := val(k); ok && t.State.HasResult() {
				t.Value = &x
			}
			continue
		}
		if x, ok := val("latest"); ok {
			if t.Metrics == nil {
				t.Metrics = map[string]float64{}
			}
			t.Metrics[name] = x
		}
	}
	return t
}
