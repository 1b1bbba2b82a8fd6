package katibgrpc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	pb "github.com/ferryml/ferry/tuning/katibgrpc/internal/katibpb"
)

// The ports Katib's controller gives the containers of a Suggestion's pod,
// and the service name its gRPC probes check.
const (
	SuggestionPort    = 6789
	EarlyStoppingPort = 6788
	HealthService     = "manager.v1beta1.Suggestion"
)

// SuggesterFunc returns the named search algorithm over space with
// settings (random_state taken out), or an error that says what is wrong
// with the name, the space or the settings.
type SuggesterFunc func(name string, space tuning.Space, s tuning.Settings) (tuning.Suggester, error)

// StopperFunc returns the named early-stopping algorithm with settings.
type StopperFunc func(name string, s tuning.Settings) (tuning.EarlyStopper, error)

// Server serves Katib's Suggestion and EarlyStopping services with
// Ferry's algorithms. Like Katib's own services it keeps no study state:
// every call carries the experiment and its trials. Set the exported fields
// before serving.
type Server struct {
	pb.UnimplementedSuggestionServer
	pb.UnimplementedEarlyStoppingServer

	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// OnEarlyStopped is called by SetTrialStatus with the name of a trial
	// Katib's metrics collector has stopped, to mark the Trial resource
	// EarlyStopped as Katib's medianstop service does
	// (katibkube.MarkEarlyStopped). Nil: the call is logged and recorded
	// (see EarlyStopped), and succeeds.
	OnEarlyStopped func(ctx context.Context, trial string) error
	// ShutdownTimeout bounds the graceful stop of Serve; then the calls
	// still running are cancelled. Default 10s.
	ShutdownTimeout time.Duration

	suggesters SuggesterFunc
	stoppers   StopperFunc

	mu      sync.Mutex
	stopped []string
	// curves caches the observation logs of finished trials, as metric
	// values (not losses).
	curves map[curveKey][]tuning.Step
}

type curveKey struct{ db, trial, metric string }

// NewServer returns a Server of the algorithms suggesters and stoppers
// return (a registry's lookups). Either may be nil: the service it would
// back then answers every call with Unimplemented.
func NewServer(suggesters SuggesterFunc, stoppers StopperFunc) *Server {
	return &Server{suggesters: suggesters, stoppers: stoppers, curves: map[curveKey][]tuning.Step{}}
}

func (s *Server) log() *slog.Logger { return cmp.Or(s.Logger, slog.Default()) }

// Register registers the Suggestion and EarlyStopping services on r.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	pb.RegisterSuggestionServer(r, s)
	pb.RegisterEarlyStoppingServer(r, s)
}

// Serve serves both services and the gRPC health service (SERVING for "",
// HealthService and both services' names) on lis until ctx is done, then
// stops gracefully: health turns NOT_SERVING, new calls are refused, and
// running ones get ShutdownTimeout to finish. It returns nil after a stop
// for ctx, else the error that ended serving.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	gs := grpc.NewServer()
	s.Register(gs)
	hs := health.NewServer()
	for _, name := range []string{"", HealthService, pb.Suggestion_ServiceDesc.ServiceName, pb.EarlyStopping_ServiceDesc.ServiceName} {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	healthpb.RegisterHealthServer(gs, hs)

	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	hs.Shutdown()
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	timer := time.NewTimer(cmp.Or(s.ShutdownTimeout, 10*time.Second))
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		gs.Stop()
		<-done
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// GetSuggestions returns current_request_number new trials of the
// experiment's algorithm, given its trials. An algorithm that has fewer
// left (a finished grid) gets OutOfRange: Katib's controller refuses a
// reply of another length anyway.
func (s *Server) GetSuggestions(ctx context.Context, req *pb.GetSuggestionsRequest) (*pb.GetSuggestionsReply, error) {
	if s.suggesters == nil {
		return nil, status.Error(codes.Unimplemented, "tuning: katib: this server serves no search algorithms")
	}
	sg, space, obj, seed, err := s.suggester(req.GetExperiment())
	if err != nil {
		return nil, grpcError(err)
	}
	history, _, err := toHistory(space, obj, req.GetTrials())
	if err != nil {
		return nil, grpcError(err)
	}
	n := int(req.GetCurrentRequestNumber())
	if n <= 0 {
		return &pb.GetSuggestionsReply{}, nil
	}
	name := req.GetExperiment().GetSpec().GetAlgorithm().GetAlgorithmName()
	sugs, err := sg.Suggest(ctx, tuning.Request{Space: space, History: history, N: n, Seed: seed})
	if err != nil {
		return nil, grpcError(err)
	}
	if len(sugs) < n {
		return nil, status.Errorf(codes.OutOfRange, "tuning: katib: algorithm %s has %d more trials to suggest, %d asked for: it has no more to give (a grid or Hyperband that is done): lower maxTrialCount or parallelTrialCount, or widen the search space", name, len(sugs), n)
	}
	reply := &pb.GetSuggestionsReply{}
	for _, sug := range sugs[:n] {
		if len(sug.Point) != len(space) {
			return nil, status.Errorf(codes.Internal, "tuning: katib: algorithm %s suggested a point of %d values for %d parameters", name, len(sug.Point), len(space))
		}
		as := space.Assignments(sug.Point)
		if _, err := space.ParseAssignments(as); err != nil {
			return nil, status.Errorf(codes.Internal, "tuning: katib: algorithm %s suggested a point outside the space: %v", name, err)
		}
		pa := &pb.GetSuggestionsReply_ParameterAssignments{}
		for _, a := range as {
			pa.Assignments = append(pa.Assignments, &pb.ParameterAssignment{Name: a.Name, Value: a.Value})
		}
		if len(sug.Labels) > 0 {
			pa.Labels = maps.Clone(sug.Labels)
		}
		reply.ParameterAssignments = append(reply.ParameterAssignments, pa)
	}
	s.log().Debug("katib: suggestions", "experiment", req.GetExperiment().GetName(), "algorithm", name, "trials", len(history), "n", n)
	return reply, nil
}

// ValidateAlgorithmSettings checks the experiment's search space,
// objective and algorithm settings by building its algorithm: a problem is
// InvalidArgument with the message Katib shows.
func (s *Server) ValidateAlgorithmSettings(ctx context.Context, req *pb.ValidateAlgorithmSettingsRequest) (*pb.ValidateAlgorithmSettingsReply, error) {
	if s.suggesters == nil {
		return nil, status.Error(codes.Unimplemented, "tuning: katib: this server serves no search algorithms")
	}
	if _, _, _, _, err := s.suggester(req.GetExperiment()); err != nil {
		return nil, validationError(err)
	}
	return &pb.ValidateAlgorithmSettingsReply{}, nil
}

// suggester converts the experiment and builds its algorithm.
func (s *Server) suggester(e *pb.Experiment) (tuning.Suggester, tuning.Space, objective, int64, error) {
	if e.GetSpec() == nil {
		return nil, nil, objective{}, 0, invalid("the request has no experiment spec")
	}
	space, err := toSpace(e.GetSpec().GetParameterSpecs())
	if err != nil {
		return nil, nil, objective{}, 0, err
	}
	obj, err := toObjective(e.GetSpec().GetObjective())
	if err != nil {
		return nil, nil, objective{}, 0, err
	}
	alg := e.GetSpec().GetAlgorithm()
	if alg.GetAlgorithmName() == "" {
		return nil, nil, objective{}, 0, invalid("the experiment names no algorithm: set spec.algorithm.algorithmName")
	}
	settings, seed, err := toSettings(e.GetName(), alg.GetAlgorithmSettings())
	if err != nil {
		return nil, nil, objective{}, 0, err
	}
	sg, err := s.suggesters(alg.GetAlgorithmName(), space, settings)
	if err != nil {
		return nil, nil, objective{}, 0, err
	}
	return sg, space, obj, seed, nil
}

// GetEarlyStoppingRules returns the rules of the experiment's
// early-stopping algorithm given its trials. When the request names
// Katib's DB manager (db_manager_address, host:port), the curves of the
// trials that have a result are read from it (the objective metric's
// observation log, its n-th entry step n), as Katib's medianstop does.
func (s *Server) GetEarlyStoppingRules(ctx context.Context, req *pb.GetEarlyStoppingRulesRequest) (*pb.GetEarlyStoppingRulesReply, error) {
	if s.stoppers == nil {
		return nil, status.Error(codes.Unimplemented, "tuning: katib: this server serves no early-stopping algorithms")
	}
	e := req.GetExperiment()
	es := e.GetSpec().GetEarlyStopping()
	if es == nil {
		return nil, grpcError(invalid("the experiment has no early stopping spec"))
	}
	stopper, err := s.stopper(e.GetName(), es)
	if err != nil {
		return nil, grpcError(err)
	}
	space, err := toSpace(e.GetSpec().GetParameterSpecs())
	if err != nil {
		return nil, grpcError(err)
	}
	obj, err := toObjective(e.GetSpec().GetObjective())
	if err != nil {
		return nil, grpcError(err)
	}
	history, trials, err := toHistory(space, obj, req.GetTrials())
	if err != nil {
		return nil, grpcError(err)
	}
	if addr := req.GetDbManagerAddress(); addr != "" {
		if err := s.readCurves(ctx, addr, obj, history, trials); err != nil {
			return nil, grpcError(err)
		}
	}
	rules, err := stopper.Rules(ctx, history)
	if err != nil {
		return nil, grpcError(err)
	}
	reply := &pb.GetEarlyStoppingRulesReply{}
	for _, r := range rules {
		reply.EarlyStoppingRules = append(reply.EarlyStoppingRules, toRule(obj, r))
	}
	s.log().Debug("katib: early stopping rules", "experiment", e.GetName(), "algorithm", es.GetAlgorithmName(), "trials", len(history), "rules", len(rules))
	return reply, nil
}

// readCurves fills the curves of the trials that have a result from the
// DB manager at addr. A finished trial's log does not change: it is read
// once.
func (s *Server) readCurves(ctx context.Context, addr string, obj objective, history []tuning.Observation, trials []*pb.Trial) error {
	var conn *grpc.ClientConn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for i := range history {
		if !history[i].State.HasResult() {
			continue
		}
		name := trials[i].GetName()
		key := curveKey{addr, name, obj.metric}
		s.mu.Lock()
		values, ok := s.curves[key]
		s.mu.Unlock()
		if !ok {
			if conn == nil {
				var err error
				if conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
					return ferry.Errorf(ferry.Invalid, "tuning: katib: DB manager address %q: %w", addr, err)
				}
			}
			reply, err := pb.NewDBManagerClient(conn).GetObservationLog(ctx, &pb.GetObservationLogRequest{TrialName: name, MetricName: obj.metric})
			if err != nil {
				return ferry.Errorf(ferry.Unavailable, "tuning: katib: reading the observation log of trial %q from the DB manager at %s: %w", name, addr, err)
			}
			values = []tuning.Step{}
			step := int64(0)
			for _, l := range reply.GetObservationLog().GetMetricLogs() {
				if l.GetMetric().GetName() != obj.metric {
					continue
				}
				step++
				if v, ok := (objective{}).value(l.GetMetric().GetValue()); ok {
					values = append(values, tuning.Step{Step: step, Loss: v})
				}
			}
			s.mu.Lock()
			s.curves[key] = values
			s.mu.Unlock()
		}
		var curve []tuning.Step
		for _, v := range values {
			curve = append(curve, tuning.Step{Step: v.Step, Loss: obj.loss(v.Loss)})
		}
		history[i].Curve = curve
	}
	return nil
}

// SetTrialStatus is called by Katib's metrics collector once it has
// stopped a trial by a rule (and reported its metrics). Katib's medianstop
// then marks the Trial resource EarlyStopped; this server calls
// OnEarlyStopped when set, else it logs and records the trial (see
// EarlyStopped). It succeeds either way unless OnEarlyStopped fails: the
// collector exits with an error when the call does.
func (s *Server) SetTrialStatus(ctx context.Context, req *pb.SetTrialStatusRequest) (*pb.SetTrialStatusReply, error) {
	name := req.GetTrialName()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "tuning: katib: SetTrialStatus names no trial")
	}
	if s.OnEarlyStopped != nil {
		if err := s.OnEarlyStopped(ctx, name); err != nil {
			return nil, grpcError(err)
		}
	} else {
		s.log().Info("katib: trial early stopped (its Trial resource is not updated: this server has no cluster access)", "trial", name)
	}
	s.mu.Lock()
	s.stopped = append(s.stopped, name)
	s.mu.Unlock()
	return &pb.SetTrialStatusReply{}, nil
}

// EarlyStopped returns the trials SetTrialStatus was called for, in order.
func (s *Server) EarlyStopped() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.stopped...)
}

// ValidateEarlyStoppingSettings checks the early-stopping algorithm and
// its settings by building it: a problem is InvalidArgument.
func (s *Server) ValidateEarlyStoppingSettings(ctx context.Context, req *pb.ValidateEarlyStoppingSettingsRequest) (*pb.ValidateEarlyStoppingSettingsReply, error) {
	if s.stoppers == nil {
		return nil, status.Error(codes.Unimplemented, "tuning: katib: this server serves no early-stopping algorithms")
	}
	es := req.GetEarlyStopping()
	if es == nil {
		return nil, validationError(invalid("the request has no early stopping spec"))
	}
	if _, err := s.stopper("", es); err != nil {
		return nil, validationError(err)
	}
	return &pb.ValidateEarlyStoppingSettingsReply{}, nil
}

func (s *Server) stopper(experiment string, es *pb.EarlyStoppingSpec) (tuning.EarlyStopper, error) {
	if es.GetAlgorithmName() == "" {
		return nil, invalid("the early stopping spec names no algorithm: set spec.earlyStopping.algorithmName")
	}
	settings, _, err := toSettings(experiment, es.GetAlgorithmSettings())
	if err != nil {
		return nil, err
	}
	return s.stoppers(es.GetAlgorithmName(), settings)
}

// grpcError maps an error to a gRPC status: by its ferry.Code, else its
// own gRPC status (one from a call the server made), else Internal.
func grpcError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	var fe *ferry.Error
	if !errors.As(err, &fe) {
		if st, ok := status.FromError(err); ok {
			return st.Err()
		}
	}
	code := codes.Internal
	switch ferry.ErrorCode(err) {
	case ferry.Invalid:
		code = codes.InvalidArgument
	case ferry.NotFound:
		code = codes.NotFound
	case ferry.AlreadyExists:
		code = codes.AlreadyExists
	case ferry.Unavailable:
		code = codes.Unavailable
	case ferry.NotSupported:
		code = codes.FailedPrecondition
	}
	return status.Error(code, err.Error())
}

// validationError maps an error of a Validate call: Katib's controller
// takes InvalidArgument (and Unknown) as a refusal, Unavailable as a
// connection problem to retry and every other code, Unimplemented
// included, as a pass, so everything but Unavailable is InvalidArgument.
func validationError(err error) error {
	st := status.Convert(grpcError(err))
	if st.Code() == codes.Unavailable {
		return st.Err()
	}
	msg := st.Message()
	if !strings.HasPrefix(msg, "tuning:") {
		msg = fmt.Sprintf("tuning: katib: %s", msg)
	}
	return status.Error(codes.InvalidArgument, msg)
}
