package katibgrpc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/katibgrpc"
	pb "github.com/ferryml/ferry/tuning/katibgrpc/internal/katibpb"
)

// random draws points from the seed and the history's length.
type random struct{}

func (random) Suggest(ctx context.Context, req tuning.Request) ([]tuning.Suggestion, error) {
	rng := rand.New(rand.NewPCG(uint64(req.Seed), uint64(len(req.History))))
	out := make([]tuning.Suggestion, req.N)
	for i := range out {
		out[i].Point = req.Space.Sample(rng)
	}
	return out, nil
}

// The server answers Katib's controller: here a client plays its part.
func Example() {
	suggesters := func(name string, space tuning.Space, s tuning.Settings) (tuning.Suggester, error) {
		if name != "random" {
			return nil, ferry.Errorf(ferry.NotFound, "tuning: no algorithm %q: use random", name)
		}
		return random{}, tuning.NewReader(name, s).Finish()
	}
	srv := katibgrpc.NewServer(suggesters, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0") // Katib dials port katibgrpc.SuggestionPort
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, lis) }()
	defer func() { stop(); <-done }()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := pb.NewSuggestionClient(conn)

	experiment := &pb.Experiment{
		Name: "mnist",
		Spec: &pb.ExperimentSpec{
			ParameterSpecs: &pb.ExperimentSpec_ParameterSpecs{Parameters: []*pb.ParameterSpec{
				{Name: "layers", ParameterType: pb.ParameterType_INT, FeasibleSpace: &pb.FeasibleSpace{Min: "1", Max: "5"}},
				{Name: "optimizer", ParameterType: pb.ParameterType_CATEGORICAL, FeasibleSpace: &pb.FeasibleSpace{List: []string{"sgd", "adam"}}},
			}},
			Objective: &pb.ObjectiveSpec{Type: pb.ObjectiveType_MAXIMIZE, ObjectiveMetricName: "accuracy"},
			Algorithm: &pb.AlgorithmSpec{AlgorithmName: "random", AlgorithmSettings: []*pb.AlgorithmSetting{{Name: "random_state", Value: "1"}}},
		},
	}
	if _, err := client.ValidateAlgorithmSettings(ctx, &pb.ValidateAlgorithmSettingsRequest{Experiment: experiment}); err != nil {
		panic(err)
	}
	reply, err := client.GetSuggestions(ctx, &pb.GetSuggestionsRequest{Experiment: experiment, CurrentRequestNumber: 2})
	if err != nil {
		panic(err)
	}
	for _, pa := range reply.GetParameterAssignments() {
		fmt.Println(pa.GetAssignments()[0].GetValue(), pa.GetAssignments()[1].GetValue())
	}

	experiment.Spec.Algorithm.AlgorithmSettings = []*pb.AlgorithmSetting{{Name: "depth", Value: "3"}}
	_, err = client.ValidateAlgorithmSettings(ctx, &pb.ValidateAlgorithmSettingsRequest{Experiment: experiment})
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output:
	// 2 adam
	// 1 sgd
	// InvalidArgument tuning: random: unknown setting "depth" (its settings: none)
}
