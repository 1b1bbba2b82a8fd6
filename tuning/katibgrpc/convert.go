package katibgrpc

import (
	"cmp"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	pb "github.com/ferryml/ferry/tuning/katibgrpc/internal/katibpb"
)

// SeedSetting is the algorithm setting Katib's services take their seed
// from. The server reads it (a whole number >= 0, as Katib's validators
// want) and does not pass it on to the algorithm.
const SeedSetting = "random_state"

func invalid(format string, args ...any) error {
	return ferry.Errorf(ferry.Invalid, "tuning: katib: "+format, args...)
}

// toSpace converts an experiment's parameter specs as Katib's suggestion
// services do (search_space.py): double and int parameters read min, max,
// step and distribution; discrete and categorical ones read the list only.
// The space is then validated.
func toSpace(specs *pb.ExperimentSpec_ParameterSpecs) (tuning.Space, error) {
	var space tuning.Space
	for _, ps := range specs.GetParameters() {
		p, err := toParam(ps)
		if err != nil {
			return nil, err
		}
		space = append(space, p)
	}
	if err := space.Validate(); err != nil {
		return nil, err
	}
	return space, nil
}

func toParam(ps *pb.ParameterSpec) (tuning.Param, error) {
	p := tuning.Param{Name: ps.GetName()}
	fs := ps.GetFeasibleSpace()
	number := func(field, v string) (float64, error) {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			if v == "" {
				return 0, invalid("parameter %q: feasibleSpace.%s is not set: a %s parameter needs min and max", p.Name, field, p.Type)
			}
			return 0, invalid("parameter %q: feasibleSpace.%s %q is not a number", p.Name, field, v)
		}
		return x, nil
	}
	switch ps.GetParameterType() {
	case pb.ParameterType_DOUBLE, pb.ParameterType_INT:
		p.Type = tuning.Double
		if ps.GetParameterType() == pb.ParameterType_INT {
			p.Type = tuning.Int
		}
		var err error
		if p.Min, err = number("min", fs.GetMin()); err != nil {
			return p, err
		}
		if p.Max, err = number("max", fs.GetMax()); err != nil {
			return p, err
		}
		if fs.GetStep() != "" {
			if p.Step, err = number("step", fs.GetStep()); err != nil {
				return p, err
			}
		}
		if p.Distribution, err = toDistribution(p.Name, fs.GetDistribution()); err != nil {
			return p, err
		}
	case pb.ParameterType_DISCRETE:
		p.Type = tuning.Discrete
		p.Values = slices.Clone(fs.GetList())
	case pb.ParameterType_CATEGORICAL:
		p.Type = tuning.Categorical
		p.Values = slices.Clone(fs.GetList())
	case pb.ParameterType_UNKNOWN_TYPE:
		return p, invalid("parameter %q has no parameterType: use double, int, discrete or categorical", p.Name)
	default:
		return p, invalid("parameter %q: unknown parameterType %d: use double, int, discrete or categorical", p.Name, ps.GetParameterType())
	}
	return p, nil
}

func toDistribution(name string, d pb.Distribution) (tuning.Distribution, error) {
	switch d {
	case pb.Distribution_DISTRIBUTION_UNSPECIFIED:
		return "", nil
	case pb.Distribution_UNIFORM:
		return tuning.Uniform, nil
	case pb.Distribution_LOG_UNIFORM:
		return tuning.LogUniform, nil
	case pb.Distribution_NORMAL:
		return tuning.Normal, nil
	case pb.Distribution_LOG_NORMAL:
		return tuning.LogNormal, nil
	}
	return "", invalid("parameter %q: unknown distribution %d: use uniform, logUniform, normal or logNormal", name, d)
}

// objective is what the conversions need of an ObjectiveSpec.
type objective struct {
	metric   string
	maximize bool
}

func toObjective(o *pb.ObjectiveSpec) (objective, error) {
	obj := objective{metric: o.GetObjectiveMetricName()}
	switch o.GetType() {
	case pb.ObjectiveType_MINIMIZE:
	case pb.ObjectiveType_MAXIMIZE:
		obj.maximize = true
	default:
		return obj, invalid("the objective's type is not set: use minimize or maximize")
	}
	if obj.metric == "" {
		return obj, invalid("the objective has no objectiveMetricName: name the metric to optimise")
	}
	return obj, nil
}

// loss returns the loss of a metric value: the value, negated when the
// objective maximises.
func (o objective) loss(v float64) float64 {
	if o.maximize {
		return -v
	}
	return v
}

// value parses a metric value as a loss. Katib's "unavailable" and
// anything else that is not a finite number gives ok == false.
func (o objective) value(s string) (loss float64, ok bool) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return o.loss(x), true
}

// toState converts a trial's condition (Katib's controller sends the
// latest condition of the Trial resource).
func toState(c pb.TrialStatus_TrialConditionType) tuning.TrialState {
	switch c {
	case pb.TrialStatus_CREATED:
		return tuning.Created
	case pb.TrialStatus_RUNNING:
		return tuning.Running
	case pb.TrialStatus_SUCCEEDED:
		return tuning.Succeeded
	case pb.TrialStatus_KILLED:
		return tuning.Killed
	case pb.TrialStatus_METRICSUNAVAILABLE:
		return tuning.MetricsUnavailable
	case pb.TrialStatus_EARLYSTOPPED:
		return tuning.EarlyStopped
	}
	// FAILED, and UNKNOWN: a condition Katib's controller does not map. The
	// trial is over without a result; its point stays taken.
	return tuning.Failed
}

// toHistory converts an experiment's trials into observations, oldest
// first. Katib lists trials in no set order, so they are sorted by start
// time (trials not started yet last) and then by name: the same trials in
// any order make the same history, and so the same suggestions.
//
// A trial that succeeded or stopped early has a loss: its objective
// metric's value (the one Katib's controller sends, already reduced by the
// metric strategy: min, max or latest), negated when the objective
// maximises. One whose objective metric is missing or not a finite number
// is MetricsUnavailable: Katib's services ignore it; here its point stays
// taken. The metric's name is the trial's objective's, else the
// experiment's, as in Katib's trial.py.
func toHistory(space tuning.Space, obj objective, trials []*pb.Trial) ([]tuning.Observation, []*pb.Trial, error) {
	trials = slices.Clone(trials)
	slices.SortStableFunc(trials, func(a, b *pb.Trial) int {
		ta, oka := startTime(a)
		tb, okb := startTime(b)
		switch {
		case oka && okb:
			if c := ta.Compare(tb); c != 0 {
				return c
			}
		case oka:
			return -1
		case okb:
			return 1
		}
		return cmp.Compare(a.GetName(), b.GetName())
	})
	history := make([]tuning.Observation, 0, len(trials))
	for _, t := range trials {
		o, err := toObservation(space, obj, t)
		if err != nil {
			return nil, nil, err
		}
		history = append(history, o)
	}
	return history, trials, nil
}

func startTime(t *pb.Trial) (time.Time, bool) {
	s := t.GetStatus().GetStartTime()
	if s == "" {
		return time.Time{}, false
	}
	ts, err := time.Parse(time.RFC3339, s)
	return ts, err == nil
}

func toObservation(space tuning.Space, obj objective, t *pb.Trial) (tuning.Observation, error) {
	var as []tuning.Assignment
	for _, a := range t.GetSpec().GetParameterAssignments().GetAssignments() {
		as = append(as, tuning.Assignment{Name: a.GetName(), Value: a.GetValue()})
	}
	point, err := space.ParseAssignments(as)
	if err != nil {
		return tuning.Observation{}, invalid("trial %q: %w", t.GetName(), err)
	}
	o := tuning.Observation{
		Point: point,
		State: toState(t.GetStatus().GetCondition()),
	}
	if labels := t.GetSpec().GetLabels(); len(labels) > 0 {
		o.Labels = maps.Clone(labels)
	}
	if o.State.HasResult() {
		metric := cmp.Or(t.GetSpec().GetObjective().GetObjectiveMetricName(), obj.metric)
		o.State = tuning.MetricsUnavailable
		for _, m := range t.GetStatus().GetObservation().GetMetrics() {
			if m.GetName() != metric {
				continue
			}
			if loss, ok := obj.value(m.GetValue()); ok {
				o.State = toState(t.GetStatus().GetCondition())
				o.Loss = loss
			}
			break
		}
	}
	return o, nil
}

// toSettings returns an algorithm's settings and the study's seed: the
// random_state setting, else a hash of the experiment's name (so each
// experiment has its own, the same on every call).
func toSettings[S interface {
	GetName() string
	GetValue() string
}](experiment string, list []S) (tuning.Settings, int64, error) {
	settings := tuning.Settings{}
	var seed int64
	seeded := false
	for _, s := range list {
		if s.GetName() == SeedSetting {
			n, err := strconv.ParseInt(strings.TrimSpace(s.GetValue()), 10, 64)
			if err != nil || n < 0 {
				return nil, 0, invalid("setting %s=%q: want a whole number >= 0", SeedSetting, s.GetValue())
			}
			seed, seeded = n, true
			continue
		}
		if _, dup := settings[s.GetName()]; dup {
			return nil, 0, invalid("setting %q is given twice: give it once", s.GetName())
		}
		settings[s.GetName()] = s.GetValue()
	}
	if !seeded {
		h := fnv.New64a()
		h.Write([]byte(experiment))
		seed = int64(h.Sum64() >> 1)
	}
	return settings, seed, nil
}

// toRule converts a stop rule, in losses, to Katib's: a rule on the
// objective metric, "greater than" the threshold when the objective
// minimises, "less than" its negation when it maximises (the metric is
// then the negated loss), applied from the same step.
func toRule(obj objective, r tuning.StopRule) *pb.EarlyStoppingRule {
	rule := &pb.EarlyStoppingRule{
		Name:       obj.metric,
		Value:      strconv.FormatFloat(r.Threshold, 'g', -1, 64),
		Comparison: pb.ComparisonType_GREATER,
		StartStep:  int32(min(max(r.StartStep, 0), math.MaxInt32)),
	}
	if obj.maximize {
		rule.Value = strconv.FormatFloat(-r.Threshold, 'g', -1, 64)
		rule.Comparison = pb.ComparisonType_LESS
	}
	return rule
}
