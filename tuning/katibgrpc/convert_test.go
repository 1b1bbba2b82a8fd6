package katibgrpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	pb "github.com/ferryml/ferry/tuning/katibgrpc/internal/katibpb"
)

// spec returns a Katib ParameterSpec.
func spec(name string, typ pb.ParameterType, fs *pb.FeasibleSpace) *pb.ParameterSpec {
	return &pb.ParameterSpec{Name: name, ParameterType: typ, FeasibleSpace: fs}
}

func TestToSpace(t *testing.T) {
	tests := []struct {
		name string
		spec *pb.ParameterSpec
		want tuning.Param
	}{
		{"double", spec("lr", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "0.001", Max: "0.1"}),
			tuning.Param{Name: "lr", Type: tuning.Double, Min: 0.001, Max: 0.1}},
		{"double with step", spec("lr", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "0", Max: "1", Step: "0.25"}),
			tuning.Param{Name: "lr", Type: tuning.Double, Max: 1, Step: 0.25}},
		{"double uniform", spec("x", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "-1", Max: "1", Distribution: pb.Distribution_UNIFORM}),
			tuning.Param{Name: "x", Type: tuning.Double, Min: -1, Max: 1, Distribution: tuning.Uniform}},
		{"double logUniform", spec("lr", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "1e-5", Max: "1e-1", Distribution: pb.Distribution_LOG_UNIFORM}),
			tuning.Param{Name: "lr", Type: tuning.Double, Min: 1e-5, Max: 1e-1, Distribution: tuning.LogUniform}},
		{"double normal", spec("x", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "-3", Max: "3", Distribution: pb.Distribution_NORMAL}),
			tuning.Param{Name: "x", Type: tuning.Double, Min: -3, Max: 3, Distribution: tuning.Normal}},
		{"double logNormal", spec("x", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "1", Max: "100", Distribution: pb.Distribution_LOG_NORMAL}),
			tuning.Param{Name: "x", Type: tuning.Double, Min: 1, Max: 100, Distribution: tuning.LogNormal}},
		{"int, step unset (1)", spec("layers", pb.ParameterType_INT, &pb.FeasibleSpace{Min: "1", Max: "8"}),
			tuning.Param{Name: "layers", Type: tuning.Int, Min: 1, Max: 8}},
		{"int with step", spec("units", pb.ParameterType_INT, &pb.FeasibleSpace{Min: "32", Max: "256", Step: "32"}),
			tuning.Param{Name: "units", Type: tuning.Int, Min: 32, Max: 256, Step: 32}},
		{"int logUniform", spec("units", pb.ParameterType_INT, &pb.FeasibleSpace{Min: "8", Max: "1024", Distribution: pb.Distribution_LOG_UNIFORM}),
			tuning.Param{Name: "units", Type: tuning.Int, Min: 8, Max: 1024, Distribution: tuning.LogUniform}},
		{"int normal", spec("n", pb.ParameterType_INT, &pb.FeasibleSpace{Min: "0", Max: "10", Distribution: pb.Distribution_NORMAL}),
			tuning.Param{Name: "n", Type: tuning.Int, Max: 10, Distribution: tuning.Normal}},
		{"int logNormal", spec("n", pb.ParameterType_INT, &pb.FeasibleSpace{Min: "1", Max: "1000", Distribution: pb.Distribution_LOG_NORMAL}),
			tuning.Param{Name: "n", Type: tuning.Int, Min: 1, Max: 1000, Distribution: tuning.LogNormal}},
		{"discrete", spec("batch", pb.ParameterType_DISCRETE, &pb.FeasibleSpace{List: []string{"16", "32", "64"}}),
			tuning.Param{Name: "batch", Type: tuning.Discrete, Values: []string{"16", "32", "64"}}},
		{"categorical", spec("opt", pb.ParameterType_CATEGORICAL, &pb.FeasibleSpace{List: []string{"sgd", "adam"}}),
			tuning.Param{Name: "opt", Type: tuning.Categorical, Values: []string{"sgd", "adam"}}},
		// As Katib's search_space.py: a list parameter reads its list only.
		{"categorical ignores min, max and distribution",
			spec("opt", pb.ParameterType_CATEGORICAL, &pb.FeasibleSpace{List: []string{"a"}, Min: "1", Max: "2", Distribution: pb.Distribution_LOG_UNIFORM}),
			tuning.Param{Name: "opt", Type: tuning.Categorical, Values: []string{"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toSpace(&pb.ExperimentSpec_ParameterSpecs{Parameters: []*pb.ParameterSpec{tt.spec}})
			if err != nil {
				t.Fatal(err)
			}
			if want := (tuning.Space{tt.want}); !reflect.DeepEqual(got, want) {
				t.Errorf("toSpace = %+v, want %+v", got, want)
			}
		})
	}
}

func TestToSpaceErrors(t *testing.T) {
	tests := []struct {
		name  string
		specs []*pb.ParameterSpec
		want  string
	}{
		{"no parameters", nil, "no parameters"},
		{"no type", []*pb.ParameterSpec{spec("x", pb.ParameterType_UNKNOWN_TYPE, &pb.FeasibleSpace{Min: "0", Max: "1"})}, "no parameterType"},
		{"unknown type", []*pb.ParameterSpec{spec("x", 9, nil)}, "unknown parameterType"},
		{"no min", []*pb.ParameterSpec{spec("x", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Max: "1"})}, "feasibleSpace.min is not set"},
		{"max not a number", []*pb.ParameterSpec{spec("x", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "0", Max: "one"})}, `max "one" is not a number`},
		{"step not a number", []*pb.ParameterSpec{spec("x", pb.ParameterType_INT, &pb.FeasibleSpace{Min: "0", Max: "4", Step: "x"})}, `step "x" is not a number`},
		{"unknown distribution", []*pb.ParameterSpec{spec("x", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "0", Max: "1", Distribution: 9})}, "unknown distribution"},
		{"inverted range", []*pb.ParameterSpec{spec("x", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "1", Max: "0"})}, "inverted"},
		{"log of zero", []*pb.ParameterSpec{spec("x", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "0", Max: "1", Distribution: pb.Distribution_LOG_UNIFORM})}, "min > 0"},
		{"empty list", []*pb.ParameterSpec{spec("x", pb.ParameterType_CATEGORICAL, &pb.FeasibleSpace{})}, "needs a list"},
		{"discrete strings", []*pb.ParameterSpec{spec("x", pb.ParameterType_DISCRETE, &pb.FeasibleSpace{List: []string{"a"}})}, "not a number"},
		{"twice", []*pb.ParameterSpec{
			spec("x", pb.ParameterType_CATEGORICAL, &pb.FeasibleSpace{List: []string{"a"}}),
			spec("x", pb.ParameterType_CATEGORICAL, &pb.FeasibleSpace{List: []string{"b"}}),
		}, "defined twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := toSpace(&pb.ExperimentSpec_ParameterSpecs{Parameters: tt.specs})
			if err == nil || !strings.Contains(err.Error(), tt.want) || ferry.ErrorCode(err) != ferry.Invalid {
				t.Errorf("toSpace = %v, want an Invalid error with %q", err, tt.want)
			}
		})
	}
}

// trial returns a Katib trial of the space of testSpace with x and opt
// assigned, in condition c, with metrics name=value pairs.
func trial(name string, c pb.TrialStatus_TrialConditionType, x, opt string, metrics ...string) *pb.Trial {
	t := &pb.Trial{
		Name: name,
		Spec: &pb.TrialSpec{
			Objective: &pb.ObjectiveSpec{Type: pb.ObjectiveType_MINIMIZE, ObjectiveMetricName: "loss"},
			ParameterAssignments: &pb.TrialSpec_ParameterAssignments{Assignments: []*pb.ParameterAssignment{
				{Name: "x", Value: x}, {Name: "opt", Value: opt},
			}},
		},
		Status: &pb.TrialStatus{Condition: c, Observation: &pb.Observation{}},
	}
	for i := 0; i+1 < len(metrics); i += 2 {
		t.Status.Observation.Metrics = append(t.Status.Observation.Metrics, &pb.Metric{Name: metrics[i], Value: metrics[i+1]})
	}
	return t
}

var testSpace = tuning.Space{tuning.Float("x", -5, 5), tuning.Choice("opt", "sgd", "adam")}

func TestToHistory(t *testing.T) {
	minimize := objective{metric: "loss"}
	maximize := objective{metric: "accuracy", maximize: true}
	tests := []struct {
		name      string
		obj       objective
		trial     *pb.Trial
		wantState tuning.TrialState
		wantLoss  float64
	}{
		{"minimize", minimize, trial("a", pb.TrialStatus_SUCCEEDED, "1.5", "adam", "loss", "0.25"), tuning.Succeeded, 0.25},
		{"maximize: loss is the negated metric", maximize, trial("a", pb.TrialStatus_SUCCEEDED, "1.5", "adam", "accuracy", "0.9", "loss", "0.25"), tuning.Succeeded, -0.9},
		{"early stopped has a result", minimize, trial("a", pb.TrialStatus_EARLYSTOPPED, "0", "sgd", "loss", "3"), tuning.EarlyStopped, 3},
		{"additional metrics are not the objective", minimize, trial("a", pb.TrialStatus_SUCCEEDED, "0", "sgd", "accuracy", "0.9", "loss", "2"), tuning.Succeeded, 2},
		// Katib's controller reduces each metric's log by the trial's
		// metric strategy (min, max, latest) before it sends it: the
		// value sent is the result.
		{"metric strategy applied by Katib: value as sent", maximize, trial("a", pb.TrialStatus_SUCCEEDED, "0", "sgd", "accuracy", "0.97"), tuning.Succeeded, -0.97},
		{"objective metric missing", minimize, trial("a", pb.TrialStatus_SUCCEEDED, "0", "sgd", "accuracy", "0.9"), tuning.MetricsUnavailable, 0},
		{"objective metric unavailable", minimize, trial("a", pb.TrialStatus_SUCCEEDED, "0", "sgd", "loss", "unavailable"), tuning.MetricsUnavailable, 0},
		{"objective metric NaN", minimize, trial("a", pb.TrialStatus_SUCCEEDED, "0", "sgd", "loss", "NaN"), tuning.MetricsUnavailable, 0},
		{"running: no result", minimize, trial("a", pb.TrialStatus_RUNNING, "0", "sgd", "loss", "1"), tuning.Running, 0},
		{"created", minimize, trial("a", pb.TrialStatus_CREATED, "0", "sgd"), tuning.Created, 0},
		{"failed", minimize, trial("a", pb.TrialStatus_FAILED, "0", "sgd"), tuning.Failed, 0},
		{"killed", minimize, trial("a", pb.TrialStatus_KILLED, "0", "sgd"), tuning.Killed, 0},
		{"metrics unavailable", minimize, trial("a", pb.TrialStatus_METRICSUNAVAILABLE, "0", "sgd"), tuning.MetricsUnavailable, 0},
		{"unknown condition", minimize, trial("a", pb.TrialStatus_UNKNOWN, "0", "sgd"), tuning.Failed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.obj.maximize {
				tt.trial.Spec.Objective = &pb.ObjectiveSpec{Type: pb.ObjectiveType_MAXIMIZE, ObjectiveMetricName: "accuracy"}
			}
			h, _, err := toHistory(testSpace, tt.obj, []*pb.Trial{tt.trial})
			if err != nil {
				t.Fatal(err)
			}
			if got := h[0]; got.State != tt.wantState || got.Loss != tt.wantLoss {
				t.Errorf("state, loss = %s, %v, want %s, %v", got.State, got.Loss, tt.wantState, tt.wantLoss)
			}
		})
	}
}

func TestToHistoryPointsLabelsOrder(t *testing.T) {
	a := trial("exp-a", pb.TrialStatus_SUCCEEDED, "-2.5", "adam", "loss", "1")
	a.Status.StartTime = "2025-01-01T10:00:00Z"
	a.Spec.Labels = map[string]string{"rung": "1"}
	b := trial("exp-b", pb.TrialStatus_RUNNING, "4", "sgd")
	b.Status.StartTime = "2025-01-01T09:00:00Z"
	c := trial("exp-c", pb.TrialStatus_CREATED, "0", "sgd")
	d := trial("exp-0", pb.TrialStatus_CREATED, "1", "sgd")
	want := []tuning.Observation{
		{Point: tuning.Point{4, 0}, State: tuning.Running},
		{Point: tuning.Point{-2.5, 1}, State: tuning.Succeeded, Loss: 1, Labels: map[string]string{"rung": "1"}},
		{Point: tuning.Point{1, 0}, State: tuning.Created},
		{Point: tuning.Point{0, 0}, State: tuning.Created},
	}
	for _, order := range [][]*pb.Trial{{a, b, c, d}, {d, c, b, a}, {c, a, d, b}} {
		got, trials, err := toHistory(testSpace, objective{metric: "loss"}, order)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("toHistory = %+v, want %+v", got, want)
		}
		var names []string
		for _, tr := range trials {
			names = append(names, tr.GetName())
		}
		if w := []string{"exp-b", "exp-a", "exp-0", "exp-c"}; !reflect.DeepEqual(names, w) {
			t.Errorf("trials in order %v, want %v", names, w)
		}
	}
}

func TestToHistoryBadAssignments(t *testing.T) {
	for _, tr := range []*pb.Trial{
		trial("t", pb.TrialStatus_SUCCEEDED, "9", "sgd", "loss", "1"),
		trial("t", pb.TrialStatus_SUCCEEDED, "0", "rmsprop", "loss", "1"),
		{Name: "t"},
	} {
		_, _, err := toHistory(testSpace, objective{metric: "loss"}, []*pb.Trial{tr})
		if err == nil || !strings.Contains(err.Error(), `trial "t"`) || ferry.ErrorCode(err) != ferry.Invalid {
			t.Errorf("toHistory(%v) = %v, want an Invalid error naming the trial", tr, err)
		}
	}
}

func TestToObjective(t *testing.T) {
	tests := []struct {
		spec *pb.ObjectiveSpec
		want objective
		err  string
	}{
		{&pb.ObjectiveSpec{Type: pb.ObjectiveType_MINIMIZE, ObjectiveMetricName: "loss"}, objective{metric: "loss"}, ""},
		{&pb.ObjectiveSpec{Type: pb.ObjectiveType_MAXIMIZE, ObjectiveMetricName: "acc"}, objective{metric: "acc", maximize: true}, ""},
		{&pb.ObjectiveSpec{ObjectiveMetricName: "acc"}, objective{}, "type is not set"},
		{&pb.ObjectiveSpec{Type: pb.ObjectiveType_MAXIMIZE}, objective{}, "no objectiveMetricName"},
		{nil, objective{}, "type is not set"},
	}
	for _, tt := range tests {
		got, err := toObjective(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("toObjective(%v) = %v, want error with %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("toObjective(%v) = %+v, %v, want %+v", tt.spec, got, err, tt.want)
		}
	}
}

func TestToSettings(t *testing.T) {
	set := func(kv ...string) []*pb.AlgorithmSetting {
		var s []*pb.AlgorithmSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, &pb.AlgorithmSetting{Name: kv[i], Value: kv[i+1]})
		}
		return s
	}
	got, seed, err := toSettings("exp", set("random_state", "42", "n", "3"))
	if err != nil || seed != 42 || !reflect.DeepEqual(got, tuning.Settings{"n": "3"}) {
		t.Errorf("toSettings = %v, %d, %v, want {n: 3}, 42 (random_state taken out)", got, seed, err)
	}
	_, s1, _ := toSettings("exp-1", []*pb.AlgorithmSetting(nil))
	_, s1again, _ := toSettings("exp-1", []*pb.AlgorithmSetting(nil))
	_, s2, _ := toSettings("exp-2", []*pb.AlgorithmSetting(nil))
	if s1 != s1again || s1 == s2 || s1 < 0 {
		t.Errorf("seeds of exp-1, exp-1, exp-2 = %d, %d, %d: want one per name, >= 0", s1, s1again, s2)
	}
	for _, bad := range [][]*pb.AlgorithmSetting{set("random_state", "-1"), set("random_state", "x"), set("n", "1", "n", "2")} {
		if _, _, err := toSettings("exp", bad); err == nil || ferry.ErrorCode(err) != ferry.Invalid {
			t.Errorf("toSettings(%v) = %v, want an Invalid error", bad, err)
		}
	}
}

func TestToRule(t *testing.T) {
	tests := []struct {
		name string
		obj  objective
		rule tuning.StopRule
		want *pb.EarlyStoppingRule
	}{
		{"minimize", objective{metric: "loss"}, tuning.StopRule{Threshold: 0.5, StartStep: 4},
			&pb.EarlyStoppingRule{Name: "loss", Value: "0.5", Comparison: pb.ComparisonType_GREATER, StartStep: 4}},
		{"maximize", objective{metric: "accuracy", maximize: true}, tuning.StopRule{Threshold: -0.8, StartStep: 2},
			&pb.EarlyStoppingRule{Name: "accuracy", Value: "0.8", Comparison: pb.ComparisonType_LESS, StartStep: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toRule(tt.obj, tt.rule)
			if got.GetName() != tt.want.Name || got.GetValue() != tt.want.Value || got.GetComparison() != tt.want.Comparison || got.GetStartStep() != tt.want.StartStep {
				t.Errorf("toRule = %v, want %v", got, tt.want)
			}
			// The rule stops a trial exactly when the StopRule does.
			for _, metric := range []float64{-2, -0.8, -0.5, 0, 0.5, 0.8, 2} {
				loss := tt.obj.loss(metric)
				katib := false
				switch got.GetComparison() {
				case pb.ComparisonType_GREATER:
					katib = metric > parse(t, got.GetValue())
				case pb.ComparisonType_LESS:
					katib = metric < parse(t, got.GetValue())
				}
				if ferry := tt.rule.Stops(int(got.GetStartStep()), loss); katib != ferry {
					t.Errorf("metric %v: Katib's rule stops: %v, the StopRule: %v", metric, katib, ferry)
				}
			}
		})
	}
}

func parse(t *testing.T, s string) float64 {
	t.Helper()
	x, ok := objective{}.value(s)
	if !ok {
		t.Fatalf("%q is not a number", s)
	}
	return x
}

func TestGRPCError(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{ferry.Errorf(ferry.Invalid, "x"), codes.InvalidArgument},
		{ferry.Errorf(ferry.NotFound, "x"), codes.NotFound},
		{ferry.Errorf(ferry.AlreadyExists, "x"), codes.AlreadyExists},
		{ferry.Errorf(ferry.Unavailable, "x: %w", status.Error(codes.NotFound, "no log")), codes.Unavailable},
		{ferry.Errorf(ferry.NotSupported, "x"), codes.FailedPrecondition},
		{ferry.Errorf(ferry.Internal, "x"), codes.Internal},
		{errors.New("x"), codes.Internal},
		{fmt.Errorf("x: %w", context.Canceled), codes.Canceled},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{status.Error(codes.PermissionDenied, "x"), codes.PermissionDenied},
	}
	for _, tt := range tests {
		if got := status.Code(grpcError(tt.err)); got != tt.want {
			t.Errorf("grpcError(%v) code = %s, want %s", tt.err, got, tt.want)
		}
		if got := status.Convert(grpcError(tt.err)).Message(); got != tt.err.Error() && status.Code(tt.err) == codes.Unknown {
			t.Errorf("grpcError(%v) message = %q, want the error's", tt.err, got)
		}
	}
}
