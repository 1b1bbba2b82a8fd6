package katibgrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	pb "github.com/ferryml/ferry/tuning/katibgrpc/internal/katibpb"
)

// stubRandom is a tiny deterministic Suggester: uniform draws from the
// seed and the history's length, labelled with their index.
type stubRandom struct{ width float64 }

func (s stubRandom) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	rng := rand.New(rand.NewPCG(uint64(req.Seed), uint64(len(req.History))))
	var out []tuning.Suggestion
	for i := range req.N {
		out = append(out, tuning.Suggestion{
			Point:  req.Space.Sample(rng),
			Labels: map[string]string{"stub/index": strconv.Itoa(len(req.History) + i)},
		})
	}
	return out, nil
}

// stubGrid enumerates a finite space in order, skipping points already in
// the history: it runs out.
type stubGrid struct{}

func (stubGrid) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	taken := map[string]bool{}
	for _, o := range req.History {
		taken[req.Space.Key(o.Point)] = true
	}
	var out []tuning.Suggestion
	var walk func(p tuning.Point, i int)
	walk = func(p tuning.Point, i int) {
		if len(out) == req.N {
			return
		}
		if i == len(req.Space) {
			if !taken[req.Space.Key(p)] {
				out = append(out, tuning.Suggestion{Point: slices.Clone(p)})
			}
			return
		}
		n := req.Space[i].Count()
		for k := range n {
			p[i] = req.Space[i].FromUnit((float64(k) + 0.5) / float64(n))
			walk(p, i+1)
		}
	}
	walk(make(tuning.Point, len(req.Space)), 0)
	return out, nil
}

// stubMedian is Katib's medianstop in losses: once min_trials_required
// finished trials have curves, a rule at the mean of their mean losses
// over the first start_step steps.
type stubMedian struct{ minTrials, startStep int }

func (s stubMedian) Rules(ctx context.Context, history []tuning.Observation) ([]tuning.StopRule, error) {
	var means []float64
	for _, o := range history {
		if !o.State.HasResult() || len(o.Curve) == 0 {
			continue
		}
		c := o.Curve[:min(len(o.Curve), s.startStep)]
		sum := 0.0
		for _, st := range c {
			sum += st.Loss
		}
		means = append(means, sum/float64(len(c)))
	}
	if len(means) < s.minTrials {
		return nil, nil
	}
	sum := 0.0
	for _, m := range means {
		sum += m
	}
	return []tuning.StopRule{{Threshold: sum / float64(len(means)), StartStep: s.startStep}}, nil
}

// stubSuggesters is the registry the tests inject.
func stubSuggesters(name string, space tuning.Space, s tuning.Settings) (tuning.Suggester, error) {
	r := tuning.NewReader(name, s)
	switch name {
	case "stub-random":
		w := r.Float("width", 1, 0, 1)
		return stubRandom{width: w}, r.Finish()
	case "stub-grid":
		if err := r.Finish(); err != nil {
			return nil, err
		}
		for _, p := range space {
			if p.Count() == 0 {
				return nil, ferry.Errorf(ferry.NotSupported, "tuning: stub-grid: parameter %q is continuous: give it a step", p.Name)
			}
		}
		return stubGrid{}, nil
	}
	return nil, ferry.Errorf(ferry.NotFound, "tuning: no algorithm %q", name)
}

func stubStoppers(name string, s tuning.Settings) (tuning.EarlyStopper, error) {
	if name != "stub-median" {
		return nil, ferry.Errorf(ferry.NotFound, "tuning: no early-stopping algorithm %q", name)
	}
	r := tuning.NewReader(name, s)
	m := stubMedian{minTrials: r.Int("min_trials_required", 3, 1, 1000), startStep: r.Int("start_step", 4, 1, 1000)}
	return m, r.Finish()
}

// serve starts srv on 127.0.0.1 and returns a connection to it; the server
// stops at the end of the test.
func serve(t *testing.T, srv *Server, extra ...func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v", err)
		}
	})
	return conn
}

// experiment returns an experiment over a mixed space (every parameter
// type) with the named algorithm.
func experiment(name, algorithm string, settings ...string) *pb.Experiment {
	e := &pb.Experiment{
		Name: name,
		Spec: &pb.ExperimentSpec{
			ParameterSpecs: &pb.ExperimentSpec_ParameterSpecs{Parameters: []*pb.ParameterSpec{
				spec("lr", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "0.0001", Max: "0.1", Distribution: pb.Distribution_LOG_UNIFORM}),
				spec("layers", pb.ParameterType_INT, &pb.FeasibleSpace{Min: "1", Max: "4"}),
				spec("batch", pb.ParameterType_DISCRETE, &pb.FeasibleSpace{List: []string{"16", "32", "64"}}),
				spec("opt", pb.ParameterType_CATEGORICAL, &pb.FeasibleSpace{List: []string{"sgd", "adam"}}),
			}},
			Objective: &pb.ObjectiveSpec{Type: pb.ObjectiveType_MAXIMIZE, ObjectiveMetricName: "accuracy", AdditionalMetricNames: []string{"loss"}},
			Algorithm: &pb.AlgorithmSpec{AlgorithmName: algorithm},
		},
	}
	for i := 0; i+1 < len(settings); i += 2 {
		e.Spec.Algorithm.AlgorithmSettings = append(e.Spec.Algorithm.AlgorithmSettings, &pb.AlgorithmSetting{Name: settings[i], Value: settings[i+1]})
	}
	return e
}

// finiteExperiment has a space of 2*3*2 = 12 points.
func finiteExperiment(algorithm string) *pb.Experiment {
	e := experiment("grid", algorithm)
	e.Spec.ParameterSpecs.Parameters[0] = spec("lr", pb.ParameterType_DOUBLE, &pb.FeasibleSpace{Min: "0.01", Max: "0.02", Step: "0.01"})
	e.Spec.ParameterSpecs.Parameters = slices.Delete(e.Spec.ParameterSpecs.Parameters, 1, 2)
	return e
}

// asTrials turns a reply's assignments into the experiment's trials in
// condition c, each reporting accuracy from metric(i).
func asTrials(reply *pb.GetSuggestionsReply, offset int, c pb.TrialStatus_TrialConditionType, metric func(i int) float64) []*pb.Trial {
	var ts []*pb.Trial
	for i, pa := range reply.GetParameterAssignments() {
		n := offset + i
		t := &pb.Trial{
			Name: fmt.Sprintf("trial-%03d", n),
			Spec: &pb.TrialSpec{
				Objective:            &pb.ObjectiveSpec{Type: pb.ObjectiveType_MAXIMIZE, ObjectiveMetricName: "accuracy"},
				ParameterAssignments: &pb.TrialSpec_ParameterAssignments{Assignments: pa.GetAssignments()},
				Labels:               pa.GetLabels(),
			},
			Status: &pb.TrialStatus{
				Condition: c,
				StartTime: time.Date(2025, 1, 1, 0, n, 0, 0, time.UTC).Format(time.RFC3339),
				Observation: &pb.Observation{Metrics: []*pb.Metric{
					{Name: "accuracy", Value: strconv.FormatFloat(metric(n), 'g', -1, 64)},
					{Name: "loss", Value: "1"},
				}},
			},
		}
		ts = append(ts, t)
	}
	return ts
}

// algorithmCase is one algorithm checkAlgorithm drives over gRPC. The
// registry's test can build one per registered name (with settings it
// accepts) and run the same checks.
type algorithmCase struct {
	name       string
	experiment *pb.Experiment
	finite     bool // the space is finite: no suggestion may repeat a trial
}

// checkAlgorithm checks what Katib needs of an algorithm behind the
// Suggestion service: its settings validate; it returns exactly the
// number of trials asked for, each assigning every parameter a value it
// can take; the same request gets the same reply whatever order the
// trials come in; a second round with finished and pending trials works;
// in a finite space no suggestion repeats a trial.
func checkAlgorithm(t *testing.T, c pb.SuggestionClient, tc algorithmCase) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.ValidateAlgorithmSettings(ctx, &pb.ValidateAlgorithmSettingsRequest{Experiment: tc.experiment}); err != nil {
		t.Fatalf("ValidateAlgorithmSettings: %v", err)
	}
	space, err := toSpace(tc.experiment.GetSpec().GetParameterSpecs())
	if err != nil {
		t.Fatal(err)
	}
	ask := func(trials []*pb.Trial, n int) *pb.GetSuggestionsReply {
		t.Helper()
		req := &pb.GetSuggestionsRequest{Experiment: tc.experiment, Trials: trials, CurrentRequestNumber: int32(n), TotalRequestNumber: int32(len(trials) + n)}
		reply, err := c.GetSuggestions(ctx, req)
		if err != nil {
			t.Fatalf("GetSuggestions(%d trials, %d): %v", len(trials), n, err)
		}
		if got := len(reply.GetParameterAssignments()); got != n {
			t.Fatalf("GetSuggestions(%d trials, %d) gave %d", len(trials), n, got)
		}
		for _, pa := range reply.GetParameterAssignments() {
			var as []tuning.Assignment
			for _, a := range pa.GetAssignments() {
				as = append(as, tuning.Assignment{Name: a.GetName(), Value: a.GetValue()})
			}
			if _, err := space.ParseAssignments(as); err != nil {
				t.Errorf("suggestion %v: %v", as, err)
			}
		}
		again := &pb.GetSuggestionsRequest{Experiment: tc.experiment, Trials: slices.Clone(trials), CurrentRequestNumber: int32(n)}
		slices.Reverse(again.Trials)
		reply2, err := c.GetSuggestions(ctx, again)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(reply, reply2) {
			t.Errorf("the same request, trials reversed, got another reply:\n%v\n%v", reply, reply2)
		}
		return reply
	}
	first := ask(nil, 3)
	trials := asTrials(first, 0, pb.TrialStatus_SUCCEEDED, func(i int) float64 { return 0.5 + 0.1*float64(i) })
	pending := ask(trials, 2)
	trials = append(trials, asTrials(pending, len(trials), pb.TrialStatus_RUNNING, func(int) float64 { return 0 })...)
	next := ask(trials, 2)
	if tc.finite {
		seen := map[string]bool{}
		for _, pa := range append(append(first.GetParameterAssignments(), pending.GetParameterAssignments()...), next.GetParameterAssignments()...) {
			key := fmt.Sprint(pa.GetAssignments())
			if seen[key] {
				t.Errorf("%s suggested twice", key)
			}
			seen[key] = true
		}
	}
}

// algorithmCases lists the algorithms to check: the stubs here; the
// registry's test lists its own.
func algorithmCases() []algorithmCase {
	return []algorithmCase{
		{name: "stub-random", experiment: experiment("exp", "stub-random", "width", "0.5")},
		{name: "stub-grid", experiment: finiteExperiment("stub-grid"), finite: true},
	}
}

func TestAlgorithms(t *testing.T) {
	c := pb.NewSuggestionClient(serve(t, NewServer(stubSuggesters, stubStoppers)))
	for _, tc := range algorithmCases() {
		t.Run(tc.name, func(t *testing.T) { checkAlgorithm(t, c, tc) })
	}
}

func TestGetSuggestions(t *testing.T) {
	c := pb.NewSuggestionClient(serve(t, NewServer(stubSuggesters, stubStoppers)))
	ctx := t.Context()
	get := func(e *pb.Experiment, n int, trials ...*pb.Trial) *pb.GetSuggestionsReply {
		t.Helper()
		reply, err := c.GetSuggestions(ctx, &pb.GetSuggestionsRequest{Experiment: e, Trials: trials, CurrentRequestNumber: int32(n)})
		if err != nil {
			t.Fatal(err)
		}
		return reply
	}
	// What the stub suggests, computed directly: the seed is the
	// experiment's random_state, else a hash of its name.
	want := func(e *pb.Experiment, seed int64, n int, history int) []*pb.GetSuggestionsReply_ParameterAssignments {
		space, err := toSpace(e.GetSpec().GetParameterSpecs())
		if err != nil {
			t.Fatal(err)
		}
		hist := make([]tuning.Observation, history)
		sugs, _ := stubRandom{}.Suggest(ctx, tuning.Request{Space: space, N: n, Seed: seed, History: hist})
		var out []*pb.GetSuggestionsReply_ParameterAssignments
		for _, s := range sugs {
			pa := &pb.GetSuggestionsReply_ParameterAssignments{Labels: s.Labels}
			for _, a := range space.Assignments(s.Point) {
				pa.Assignments = append(pa.Assignments, &pb.ParameterAssignment{Name: a.Name, Value: a.Value})
			}
			out = append(out, pa)
		}
		return out
	}
	equal := func(got, want []*pb.GetSuggestionsReply_ParameterAssignments) bool {
		return slices.EqualFunc(got, want, func(a, b *pb.GetSuggestionsReply_ParameterAssignments) bool { return proto.Equal(a, b) })
	}

	seeded := experiment("exp-a", "stub-random", "random_state", "7")
	if got, w := get(seeded, 4).GetParameterAssignments(), want(seeded, 7, 4, 0); !equal(got, w) {
		t.Errorf("random_state 7: got %v, want %v", got, w)
	}
	// Another name, the same random_state: the same suggestions.
	if got, w := get(experiment("exp-b", "stub-random", "random_state", "7"), 4).GetParameterAssignments(), want(seeded, 7, 4, 0); !equal(got, w) {
		t.Errorf("random_state 7, another experiment: got %v, want %v", got, w)
	}
	unseeded := experiment("exp-a", "stub-random")
	_, seed, _ := toSettings("exp-a", []*pb.AlgorithmSetting(nil))
	if got, w := get(unseeded, 2).GetParameterAssignments(), want(unseeded, seed, 2, 0); !equal(got, w) {
		t.Errorf("no random_state: got %v, want %v", got, w)
	}
	if a, b := get(unseeded, 2), get(experiment("exp-b", "stub-random"), 2); proto.Equal(a, b) {
		t.Errorf("experiments exp-a and exp-b, no random_state: the same suggestions %v", a)
	}
	// Labels come back; the trials go to the algorithm.
	first := get(seeded, 2)
	if got := first.GetParameterAssignments()[1].GetLabels(); got["stub/index"] != "1" {
		t.Errorf("labels = %v, want stub/index=1", got)
	}
	trials := asTrials(first, 0, pb.TrialStatus_SUCCEEDED, func(int) float64 { return 0.9 })
	if got, w := get(seeded, 1, trials...).GetParameterAssignments(), want(seeded, 7, 1, 2); !equal(got, w) {
		t.Errorf("after 2 trials: got %v, want %v", got, w)
	}
	if got := get(seeded, 0); len(got.GetParameterAssignments()) != 0 {
		t.Errorf("current_request_number 0: got %v, want none", got)
	}
}

func TestGetSuggestionsErrors(t *testing.T) {
	c := pb.NewSuggestionClient(serve(t, NewServer(stubSuggesters, stubStoppers)))
	bad := func(mut func(e *pb.Experiment)) *pb.Experiment {
		e := experiment("exp", "stub-random")
		mut(e)
		return e
	}
	grid := finiteExperiment("stub-grid")
	all, err := c.GetSuggestions(t.Context(), &pb.GetSuggestionsRequest{Experiment: grid, CurrentRequestNumber: 12})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		req    *pb.GetSuggestionsRequest
		code   codes.Code
		substr string
	}{
		{"no experiment", &pb.GetSuggestionsRequest{CurrentRequestNumber: 1}, codes.InvalidArgument, "no experiment spec"},
		{"bad space", &pb.GetSuggestionsRequest{CurrentRequestNumber: 1, Experiment: bad(func(e *pb.Experiment) {
			e.Spec.ParameterSpecs.Parameters[0].FeasibleSpace.Min = "1"
		})}, codes.InvalidArgument, `parameter "lr"`},
		{"no objective type", &pb.GetSuggestionsRequest{CurrentRequestNumber: 1, Experiment: bad(func(e *pb.Experiment) {
			e.Spec.Objective.Type = pb.ObjectiveType_UNKNOWN
		})}, codes.InvalidArgument, "objective's type"},
		{"unknown algorithm", &pb.GetSuggestionsRequest{CurrentRequestNumber: 1, Experiment: experiment("exp", "nope")}, codes.NotFound, `no algorithm "nope"`},
		{"bad setting", &pb.GetSuggestionsRequest{CurrentRequestNumber: 1, Experiment: experiment("exp", "stub-random", "width", "2")}, codes.InvalidArgument, "width"},
		{"not supported", &pb.GetSuggestionsRequest{CurrentRequestNumber: 1, Experiment: experiment("exp", "stub-grid")}, codes.FailedPrecondition, "give it a step"},
		{"trial outside the space", &pb.GetSuggestionsRequest{CurrentRequestNumber: 1, Experiment: experiment("exp", "stub-random"), Trials: []*pb.Trial{{
			Name: "old", Spec: &pb.TrialSpec{ParameterAssignments: &pb.TrialSpec_ParameterAssignments{Assignments: []*pb.ParameterAssignment{{Name: "momentum", Value: "0.9"}}}},
		}}}, codes.InvalidArgument, `trial "old"`},
		{"grid exhausted", &pb.GetSuggestionsRequest{CurrentRequestNumber: 2, Experiment: grid,
			Trials: asTrials(&pb.GetSuggestionsReply{ParameterAssignments: all.GetParameterAssignments()[:11]}, 0, pb.TrialStatus_SUCCEEDED, func(int) float64 { return 1 })},
			codes.OutOfRange, "has 1 more trials to suggest, 2 asked for: it has no more to give"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.GetSuggestions(t.Context(), tt.req)
			if st := status.Convert(err); st.Code() != tt.code || !strings.Contains(st.Message(), tt.substr) {
				t.Errorf("GetSuggestions = %v, want %s with %q", err, tt.code, tt.substr)
			}
		})
	}
}

func TestValidateAlgorithmSettings(t *testing.T) {
	c := pb.NewSuggestionClient(serve(t, NewServer(stubSuggesters, stubStoppers)))
	tests := []struct {
		name   string
		e      *pb.Experiment
		substr string // "" for valid
	}{
		{"valid", experiment("exp", "stub-random", "width", "0.5", "random_state", "3"), ""},
		{"no settings", experiment("exp", "stub-random"), ""},
		{"setting out of range", experiment("exp", "stub-random", "width", "1.5"), `tuning: stub-random: setting width="1.5": want a number in [0, 1]`},
		{"unknown setting", experiment("exp", "stub-random", "depth", "3"), `unknown setting "depth"`},
		{"bad random_state", experiment("exp", "stub-random", "random_state", "-2"), "random_state"},
		// NotFound and NotSupported are refusals too: Katib's controller
		// would let any code but InvalidArgument, Unknown and Unavailable
		// pass.
		{"unknown algorithm", experiment("exp", "nope"), `no algorithm "nope"`},
		{"space the algorithm cannot search", experiment("exp", "stub-grid"), "give it a step"},
		{"no algorithm", experiment("exp", ""), "names no algorithm"},
		{"bad space", func() *pb.Experiment {
			e := experiment("exp", "stub-random")
			e.Spec.ParameterSpecs.Parameters[3].FeasibleSpace.List = nil
			return e
		}(), "needs a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ValidateAlgorithmSettings(t.Context(), &pb.ValidateAlgorithmSettingsRequest{Experiment: tt.e})
			if tt.substr == "" {
				if err != nil {
					t.Errorf("ValidateAlgorithmSettings = %v, want nil", err)
				}
				return
			}
			if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tt.substr) {
				t.Errorf("ValidateAlgorithmSettings = %v, want InvalidArgument with %q", err, tt.substr)
			}
		})
	}
}

// fakeDB is Katib's DB manager with fixed observation logs.
type fakeDB struct {
	pb.UnimplementedDBManagerServer
	logs  map[string][]string // trial name: values of the objective metric
	calls int
}

func (f *fakeDB) GetObservationLog(ctx context.Context, req *pb.GetObservationLogRequest) (*pb.GetObservationLogReply, error) {
	f.calls++
	reply := &pb.GetObservationLogReply{ObservationLog: &pb.ObservationLog{}}
	for i, v := range f.logs[req.GetTrialName()] {
		reply.ObservationLog.MetricLogs = append(reply.ObservationLog.MetricLogs, &pb.MetricLog{
			TimeStamp: time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339),
			Metric:    &pb.Metric{Name: req.GetMetricName(), Value: v},
		})
	}
	return reply, nil
}

func TestGetEarlyStoppingRules(t *testing.T) {
	// The DB manager, on its own port as in Katib.
	db := &fakeDB{logs: map[string][]string{
		"t1": {"0.5", "0.6", "0.7", "0.8", "0.9"}, // mean of the first 2: 0.55
		"t2": {"0.3", "0.5"},                      // 0.4
		"t3": {"0.1", "unavailable", "0.2"},       // 0.15
	}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	pb.RegisterDBManagerServer(gs, db)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)

	c := pb.NewEarlyStoppingClient(serve(t, NewServer(stubSuggesters, stubStoppers)))
	exp := func(typ pb.ObjectiveType, metric string, settings ...string) *pb.Experiment {
		e := experiment("exp", "stub-random")
		e.Spec.Objective = &pb.ObjectiveSpec{Type: typ, ObjectiveMetricName: metric}
		e.Spec.EarlyStopping = &pb.EarlyStoppingSpec{AlgorithmName: "stub-median"}
		for i := 0; i+1 < len(settings); i += 2 {
			e.Spec.EarlyStopping.AlgorithmSettings = append(e.Spec.EarlyStopping.AlgorithmSettings, &pb.EarlyStoppingSetting{Name: settings[i], Value: settings[i+1]})
		}
		return e
	}
	trials := func(metric string) []*pb.Trial {
		reply := &pb.GetSuggestionsReply{}
		for range 4 {
			reply.ParameterAssignments = append(reply.ParameterAssignments, &pb.GetSuggestionsReply_ParameterAssignments{Assignments: []*pb.ParameterAssignment{
				{Name: "lr", Value: "0.01"}, {Name: "layers", Value: "2"}, {Name: "batch", Value: "32"}, {Name: "opt", Value: "adam"},
			}})
		}
		ts := asTrials(reply, 1, pb.TrialStatus_SUCCEEDED, func(int) float64 { return 0.5 })
		for _, tr := range ts {
			tr.Name = strings.Replace(tr.Name, "trial-00", "t", 1)
			tr.Spec.Objective.ObjectiveMetricName = metric
			tr.Status.Observation.Metrics[0].Name = metric
		}
		ts[3].Status.Condition = pb.TrialStatus_RUNNING // t4: no log is read
		return ts
	}
	tests := []struct {
		name  string
		req   *pb.GetEarlyStoppingRulesRequest
		want  []*pb.EarlyStoppingRule
		calls int // reads of the DB manager
	}{
		{"minimize", &pb.GetEarlyStoppingRulesRequest{Experiment: exp(pb.ObjectiveType_MINIMIZE, "loss", "start_step", "2"), Trials: trials("loss"), DbManagerAddress: lis.Addr().String()},
			[]*pb.EarlyStoppingRule{{Name: "loss", Value: "0.3666666666666667", Comparison: pb.ComparisonType_GREATER, StartStep: 2}}, 3},
		// The losses are the negated accuracies; the rule goes back to
		// accuracies: stop when less than the mean.
		{"maximize", &pb.GetEarlyStoppingRulesRequest{Experiment: exp(pb.ObjectiveType_MAXIMIZE, "accuracy", "start_step", "2"), Trials: trials("accuracy"), DbManagerAddress: lis.Addr().String()},
			[]*pb.EarlyStoppingRule{{Name: "accuracy", Value: "0.3666666666666667", Comparison: pb.ComparisonType_LESS, StartStep: 2}}, 3},
		{"curves read once", &pb.GetEarlyStoppingRulesRequest{Experiment: exp(pb.ObjectiveType_MINIMIZE, "loss", "start_step", "2"), Trials: trials("loss"), DbManagerAddress: lis.Addr().String()},
			[]*pb.EarlyStoppingRule{{Name: "loss", Value: "0.3666666666666667", Comparison: pb.ComparisonType_GREATER, StartStep: 2}}, 0},
		{"too few trials", &pb.GetEarlyStoppingRulesRequest{Experiment: exp(pb.ObjectiveType_MINIMIZE, "loss", "min_trials_required", "4"), Trials: trials("loss"), DbManagerAddress: lis.Addr().String()},
			nil, 0},
		{"no DB manager: no curves", &pb.GetEarlyStoppingRulesRequest{Experiment: exp(pb.ObjectiveType_MINIMIZE, "loss"), Trials: trials("loss")},
			nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := db.calls
			reply, err := c.GetEarlyStoppingRules(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := reply.GetEarlyStoppingRules(); !slices.EqualFunc(got, tt.want, func(a, b *pb.EarlyStoppingRule) bool { return proto.Equal(a, b) }) {
				t.Errorf("rules = %v, want %v", got, tt.want)
			}
			if got := db.calls - before; got != tt.calls {
				t.Errorf("%d reads of the DB manager, want %d", got, tt.calls)
			}
		})
	}

	errs := []struct {
		name   string
		req    *pb.GetEarlyStoppingRulesRequest
		code   codes.Code
		substr string
	}{
		{"no early stopping", &pb.GetEarlyStoppingRulesRequest{Experiment: experiment("exp", "stub-random")}, codes.InvalidArgument, "no early stopping spec"},
		{"unknown algorithm", &pb.GetEarlyStoppingRulesRequest{Experiment: func() *pb.Experiment {
			e := exp(pb.ObjectiveType_MINIMIZE, "loss")
			e.Spec.EarlyStopping.AlgorithmName = "nope"
			return e
		}()}, codes.NotFound, "nope"},
		{"DB manager down", &pb.GetEarlyStoppingRulesRequest{Experiment: exp(pb.ObjectiveType_MINIMIZE, "loss"), Trials: trials("loss"), DbManagerAddress: "127.0.0.1:1"},
			codes.Unavailable, "DB manager at 127.0.0.1:1"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.GetEarlyStoppingRules(t.Context(), tt.req)
			if st := status.Convert(err); st.Code() != tt.code || !strings.Contains(st.Message(), tt.substr) {
				t.Errorf("GetEarlyStoppingRules = %v, want %s with %q", err, tt.code, tt.substr)
			}
		})
	}
}

func TestValidateEarlyStoppingSettings(t *testing.T) {
	c := pb.NewEarlyStoppingClient(serve(t, NewServer(stubSuggesters, stubStoppers)))
	es := func(name string, settings ...string) *pb.EarlyStoppingSpec {
		s := &pb.EarlyStoppingSpec{AlgorithmName: name}
		for i := 0; i+1 < len(settings); i += 2 {
			s.AlgorithmSettings = append(s.AlgorithmSettings, &pb.EarlyStoppingSetting{Name: settings[i], Value: settings[i+1]})
		}
		return s
	}
	tests := []struct {
		name   string
		spec   *pb.EarlyStoppingSpec
		substr string
	}{
		{"valid", es("stub-median", "min_trials_required", "2", "start_step", "3"), ""},
		{"bad setting", es("stub-median", "start_step", "0"), `setting start_step="0"`},
		{"unknown setting", es("stub-median", "patience", "3"), `unknown setting "patience"`},
		{"unknown algorithm", es("nope"), `no early-stopping algorithm "nope"`},
		{"no spec", nil, "no early stopping spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ValidateEarlyStoppingSettings(t.Context(), &pb.ValidateEarlyStoppingSettingsRequest{EarlyStopping: tt.spec})
			if tt.substr == "" {
				if err != nil {
					t.Errorf("ValidateEarlyStoppingSettings = %v, want nil", err)
				}
				return
			}
			if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tt.substr) {
				t.Errorf("ValidateEarlyStoppingSettings = %v, want InvalidArgument with %q", err, tt.substr)
			}
		})
	}
}

func TestSetTrialStatus(t *testing.T) {
	t.Run("recorded", func(t *testing.T) {
		srv := NewServer(stubSuggesters, stubStoppers)
		c := pb.NewEarlyStoppingClient(serve(t, srv))
		for _, name := range []string{"t1", "t2"} {
			if _, err := c.SetTrialStatus(t.Context(), &pb.SetTrialStatusRequest{TrialName: name}); err != nil {
				t.Fatal(err)
			}
		}
		if got := srv.EarlyStopped(); !slices.Equal(got, []string{"t1", "t2"}) {
			t.Errorf("EarlyStopped = %v, want [t1 t2]", got)
		}
		_, err := c.SetTrialStatus(t.Context(), &pb.SetTrialStatusRequest{})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("SetTrialStatus without a name = %v, want InvalidArgument", err)
		}
	})
	t.Run("hook", func(t *testing.T) {
		srv := NewServer(stubSuggesters, stubStoppers)
		var got []string
		srv.OnEarlyStopped = func(ctx context.Context, trial string) error {
			if trial == "gone" {
				return ferry.Errorf(ferry.NotFound, "trial %q not found", trial)
			}
			got = append(got, trial)
			return nil
		}
		c := pb.NewEarlyStoppingClient(serve(t, srv))
		if _, err := c.SetTrialStatus(t.Context(), &pb.SetTrialStatusRequest{TrialName: "t1"}); err != nil {
			t.Fatal(err)
		}
		_, err := c.SetTrialStatus(t.Context(), &pb.SetTrialStatusRequest{TrialName: "gone"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("SetTrialStatus of a trial the hook cannot find = %v, want NotFound", err)
		}
		if !slices.Equal(got, []string{"t1"}) || !slices.Equal(srv.EarlyStopped(), []string{"t1"}) {
			t.Errorf("hook saw %v, EarlyStopped = %v, want [t1]", got, srv.EarlyStopped())
		}
	})
}

func TestUnimplemented(t *testing.T) {
	conn := serve(t, NewServer(nil, nil))
	_, err := pb.NewSuggestionClient(conn).GetSuggestions(t.Context(), &pb.GetSuggestionsRequest{Experiment: experiment("e", "stub-random")})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("GetSuggestions without suggesters = %v, want Unimplemented", err)
	}
	_, err = pb.NewEarlyStoppingClient(conn).ValidateEarlyStoppingSettings(t.Context(), &pb.ValidateEarlyStoppingSettingsRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("ValidateEarlyStoppingSettings without stoppers = %v, want Unimplemented", err)
	}
}

// blockingSuggester blocks until its context ends or release closes.
type blockingSuggester struct{ started, release chan struct{} }

func (b blockingSuggester) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	close(b.started)
	select {
	case <-b.release:
		return stubRandom{}.Suggest(ctx, req)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestServe(t *testing.T) {
	b := blockingSuggester{started: make(chan struct{}), release: make(chan struct{})}
	srv := NewServer(func(string, tuning.Space, tuning.Settings) (tuning.Suggester, error) { return b, nil }, nil)
	srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	h := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", HealthService, "api.v1.beta1.Suggestion", "api.v1.beta1.EarlyStopping"} {
		resp, err := h.Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q = %v, %v, want SERVING", svc, resp, err)
		}
	}

	// A call in flight when ctx ends completes: the stop is graceful.
	call := make(chan error, 1)
	go func() {
		reply, err := pb.NewSuggestionClient(conn).GetSuggestions(t.Context(), &pb.GetSuggestionsRequest{Experiment: experiment("e", "any"), CurrentRequestNumber: 2})
		if err == nil && len(reply.GetParameterAssignments()) != 2 {
			err = errors.New("wrong number of suggestions")
		}
		call <- err
	}()
	<-b.started
	cancel()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a call in flight", err)
	default:
	}
	close(b.release)
	if err := <-call; err != nil {
		t.Errorf("the call in flight: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve = %v, want nil after a stop", err)
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	b := blockingSuggester{started: make(chan struct{}), release: make(chan struct{})}
	srv := NewServer(func(string, tuning.Space, tuning.Settings) (tuning.Suggester, error) { return b, nil }, nil)
	srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv.ShutdownTimeout = 20 * time.Millisecond
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	call := make(chan error, 1)
	go func() {
		_, err := pb.NewSuggestionClient(conn).GetSuggestions(t.Context(), &pb.GetSuggestionsRequest{Experiment: experiment("e", "any"), CurrentRequestNumber: 2})
		call <- err
	}()
	<-b.started
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if err := <-call; err == nil {
		t.Error("the call still running after ShutdownTimeout succeeded, want it cut off")
	}
}
